"""Topics: who may see them, writing them, and the tags members follow. The feeds they are
listed in are resolvers/feeds.py; what follows a topic's publication is resolvers/publishing.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mallforum import events
from mallforum.clock import now
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.growth_rules import Privilege
from mallforum.ids import decode_id
from mallforum.rendering import render_markdown
from mallforum.transactions import atomic
from mirrors import views
from models import Board, BoardKind, ContentStatus, Member, TagFollow, Topic, TopicKind
from models.topics import normalize_tag
from resolvers import growth
from resolvers.context import Context
from resolvers.feeds import hot_score, publish_listings, withdraw_listings
from resolvers.moderation import open_hook_case, screen
from resolvers.publishing import change_status
from resolvers.validation import Items, Rule, Text, at_most, clean, matches, web_url

TITLE_MAX, BODY_MAX = 120, 20_000
TAGS_MAX, TAG_LENGTH_MAX = 10, 24
SKUS_MAX, SKU_LENGTH_MAX = 20, 64
IMAGES_MAX, URL_LENGTH_MAX = 9, 1024


# ---------------------------------------------------------------- visibility


def can_view_board(ctx: Context, board: Board) -> bool:
    return board.min_level_to_view <= ctx.viewer_level


def can_view_topic(ctx: Context, topic: Topic, board: Board) -> bool:
    """Published topics of boards the viewer's level may see; held ones to their author."""
    if not can_view_board(ctx, board):
        return False
    if topic.status == ContentStatus.PUBLISHED or ctx.is_moderator:
        return True
    own = ctx.viewer is not None and topic.author_id == ctx.viewer.pk
    return own and topic.status == ContentStatus.PENDING_REVIEW


async def visible_topic(ctx: Context, topic_id: int) -> Topic | None:
    topic = await ctx.loaders.topic_by_id.load(topic_id)
    if topic is None:
        return None
    board = await ctx.loaders.board_by_id.load(topic.board_id)
    return topic if board is not None and can_view_topic(ctx, topic, board) else None


async def view_topic(ctx: Context, topic_id: int) -> Topic | None:
    """A topic as its page shows it; the first view per reader per day counts."""
    topic = await visible_topic(ctx, topic_id)
    if topic is None or topic.status != ContentStatus.PUBLISHED:
        return topic
    reader = f"m:{ctx.viewer.pk}" if ctx.viewer else ctx.anonymous_key
    await views.count_view(ctx.settings, ctx.redis, topic.pk, reader)  # flushed in batches
    return topic


async def view_count(ctx: Context, topic: Topic) -> int:
    """What `Topic.viewCount` shows: the row's count and the views not yet flushed to it
    (batched for a page of topics). Views being flushed at that instant are briefly left
    out, never counted twice."""
    return topic.view_count + await ctx.loaders.pending_views_by_topic_id.load(topic.pk)


async def author_is_verified_buyer(ctx: Context, topic: Topic) -> bool:
    """Whether the mall reported that the author bought one of the topic's products."""
    if not topic.product_skus:
        return False
    author = await ctx.loaders.member_by_id.load(topic.author_id)
    if author is None:
        return False
    keys = [(author.mall_user_id, sku) for sku in topic.product_skus]
    return any(await ctx.loaders.verified_buyer.load_many(keys))


# ---------------------------------------------------------------- input


@dataclass
class TopicInput:
    """The writable fields of a topic; None means 'leave as it is' on update."""

    title: str | None = None
    body: str | None = None
    tags: list[str] | None = None
    product_skus: list[str] | None = None
    image_urls: list[str] | None = None


#: The rules of a topic's writable fields, in the order their problems are listed.
TOPIC_RULES: list[Rule] = [
    Text("title", "title", TITLE_MAX, f"The title must be 1 to {TITLE_MAX} characters."),
    Text("body", "body", BODY_MAX, f"The body must be 1 to {BODY_MAX} characters."),
    Items(
        "tags",
        "tags",
        TAGS_MAX,
        f"At most {TAGS_MAX} tags.",
        at_most(TAG_LENGTH_MAX),
        f"A tag is at most {TAG_LENGTH_MAX} characters.",
        each=normalize_tag,
        drop_empty=True,
    ),
    Items(
        "product_skus",
        "productSkus",
        SKUS_MAX,
        f"At most {SKUS_MAX} product SKUs.",
        matches(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$", SKU_LENGTH_MAX),
        f"A SKU is letters, digits, '.', '_' or '-', at most {SKU_LENGTH_MAX}.",
    ),
    Items(
        "image_urls",
        "imageUrls",
        IMAGES_MAX,
        f"At most {IMAGES_MAX} images.",
        web_url(URL_LENGTH_MAX),
        "Image URLs must be http or https URLs.",
    ),
]


def clean_topic_input(data: TopicInput, problems: Problems, *path: str) -> TopicInput:
    """Trimmed, deduplicated and bounded fields; each violation is a problem naming its field.
    A field that is None stays None: left as it is."""
    return TopicInput(**clean(TOPIC_RULES, data, problems, *path, keep_none=True))


# ---------------------------------------------------------------- writes


def check_privileges(ctx: Context, member: Member, data: TopicInput) -> None:
    """Images need POST_IMAGES and links to other sites POST_LINKS: LEVEL_TOO_LOW if not."""
    if data.image_urls:
        growth.require_privilege(ctx, member, Privilege.POST_IMAGES)
    growth.check_links(ctx, member, data.title or "", data.body or "")


async def postable_board(ctx: Context, member: Member, board_id: int, *field: str) -> Board:
    """The board, if the member may post in it: NOT_FOUND, LEVEL_TOO_LOW or FORBIDDEN."""
    board = await ctx.loaders.board_by_id.load(board_id)
    if board is None or not can_view_board(ctx, board):
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No board has that id.", list(field) or None)
    if board.kind == BoardKind.ANNOUNCEMENT and not ctx.is_moderator:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "Only moderators post announcements.")
    if member.level < board.min_level_to_post and not ctx.is_moderator:
        needed = ctx.settings.levels.of(board.min_level_to_post)
        raise growth.level_too_low(ctx.settings, member, f"Posting in {board.name}", needed)
    return board


async def lock_topic(topic_id: int) -> Topic:
    """The topic's row, locked until the transaction ends: its counters change one at a time."""
    return await Topic.select_for_update().get(id=topic_id)


async def create_topic(ctx: Context, board_gid: str, kind: TopicKind, data: TopicInput) -> Topic:
    """A topic without a poll (`resolvers.polls.create_poll_topic` writes those)."""
    member = ctx.require_active_member()
    problems = Problems()
    clean = clean_topic_input(data, problems, "input")
    if kind == TopicKind.POLL:
        problems.invalid("A POLL topic needs its poll (input.poll).", "input", "kind")
    if kind == TopicKind.CONTEST_ENTRY:
        problems.invalid("Contest entries are created by submitContestEntry.", "input", "kind")
    if kind == TopicKind.ANNOUNCEMENT and not ctx.is_moderator:
        problems.add(ErrorCode.FORBIDDEN, "Only moderators post announcements.", "input", "kind")
    problems.raise_any()
    board = await postable_board(
        ctx, member, decode_id(board_gid, "Board", field=["input", "boardId"]), "input", "boardId"
    )
    return await write_topic(ctx, member, board, clean, kind)


#: Writes the rows that belong with a new topic (a poll, a contest entry), in the topic's
#: transaction, given the topic and the screened texts.
Attach = Callable[[Topic, dict[str, str]], Awaitable[None]]


async def write_topic(
    ctx: Context,
    member: Member,
    board: Board,
    clean: TopicInput,
    kind: TopicKind,
    *,
    content_kind: str = "topic",
    extra_texts: dict[str, str] | None = None,
    attach: Attach | None = None,
) -> Topic:
    """Check the privileges, screen and store a topic the member may post in `board`.

    `extra_texts` pass the moderation pipeline with the title and body (a poll's question
    and options); `attach` then gets the screened (masked) texts to write its own rows in
    the same transaction, so a refused or failing write leaves nothing behind.
    """
    assert clean.title is not None and clean.body is not None
    check_privileges(ctx, member, clean)
    texts = {"title": clean.title, "body": clean.body, **(extra_texts or {})}
    screened = await screen(ctx, content_kind, member, texts)
    created = now()
    async with atomic():
        topic = await Topic.create(
            board_id=board.pk,
            author_id=member.pk,
            kind=kind,
            status=ContentStatus.PENDING_REVIEW,
            title=screened.texts["title"],
            body=screened.texts["body"],
            body_html=render_markdown(screened.texts["body"]),
            tags=clean.tags or [],
            product_skus=clean.product_skus or [],
            image_urls=clean.image_urls or [],
            hot_score=hot_score(0, 0, created),
            created_at=created,
            last_activity_at=created,
        )
        if attach is not None:
            await attach(topic, screened.texts)
        await change_status(ctx.settings, ctx.redis, topic, screened.status)
        if screened.needs_case:
            await open_hook_case(topic, screened.reasons)
    ctx.loaders.board_by_id.clear(board.pk)  # the payload shows the board's new count
    await growth.record_activity(ctx.settings, ctx.redis, member.pk)
    return topic


async def editable_topic(ctx: Context, topic_gid: str, *field: str) -> tuple[Member, Topic]:
    """The locked topic, if the viewer is its author or a moderator; call inside a transaction."""
    member = ctx.require_active_member()
    topic_id = decode_id(topic_gid, "Topic", field=list(field) or None)
    found = await visible_topic(ctx, topic_id)
    if found is None or found.status == ContentStatus.DELETED:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No topic has that id.", list(field) or None)
    if found.author_id != member.pk and not ctx.is_moderator:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "Only its author or a moderator may do that.")
    return member, found


async def update_topic(ctx: Context, topic_gid: str, data: TopicInput) -> Topic:
    member, found = await editable_topic(ctx, topic_gid, "input", "id")
    if found.is_locked and not ctx.is_moderator:
        raise UserFailure.of(ErrorCode.LOCKED, "This topic is locked.")
    problems = Problems()
    clean = clean_topic_input(data, problems, "input")
    problems.raise_any()
    check_privileges(ctx, member, clean)
    texts = {
        name: value
        for name, value in (("title", clean.title), ("body", clean.body))
        if value is not None
    }
    screened = await screen(ctx, "topic_edit", member, texts) if texts else None
    async with atomic():
        topic = await lock_topic(found.pk)
        listed = topic.status == ContentStatus.PUBLISHED
        if listed:
            await withdraw_listings(topic)  # from the feeds of its old tags and SKUs
        if screened:
            for name, value in screened.texts.items():
                setattr(topic, name, value)
            topic.body_html = render_markdown(topic.body)
        if clean.tags is not None:
            topic.tags = clean.tags
        if clean.product_skus is not None:
            topic.product_skus = clean.product_skus
        if clean.image_urls is not None:
            topic.image_urls = clean.image_urls
        await topic.save(
            update_fields=["title", "body", "body_html", "tags", "product_skus", "image_urls"]
        )
        if listed:
            await publish_listings(topic, await Board.get(id=topic.board_id))
            if screened and screened.status != ContentStatus.PUBLISHED:
                await change_status(ctx.settings, ctx.redis, topic, screened.status)  # held
        if screened and (
            screened.flagged or screened.status == topic.status == ContentStatus.PENDING_REVIEW
        ):
            await open_hook_case(topic, screened.reasons)
    if topic.status == ContentStatus.PUBLISHED:  # one held for review was announced HIDDEN
        await events.topic_changed(ctx.redis, topic.pk, events.TopicEventKind.UPDATED)
    return topic


async def delete_topic(ctx: Context, topic_gid: str) -> str:
    _, found = await editable_topic(ctx, topic_gid, "id")
    async with atomic():
        topic = await lock_topic(found.pk)
        await change_status(ctx.settings, ctx.redis, topic, ContentStatus.DELETED)
    return topic_gid


# ---------------------------------------------------------------- followed tags

TAG_FOLLOWS_MAX = 50


async def followed_tags(ctx: Context) -> list[str]:
    """The tags the viewer follows, in the order they followed them; none when anonymous."""
    if ctx.viewer is None:
        return []
    tags = (
        await TagFollow.filter(member_id=ctx.viewer.pk).order_by("id").values_list("tag", flat=True)
    )
    return [str(tag) for tag in tags]


async def set_tag_follow(ctx: Context, tag: str, follow: bool) -> list[str]:
    """Follow or stop following a tag; answers the tags now followed."""
    member = ctx.require_unbanned_member()
    clean = normalize_tag(tag)
    if not 1 <= len(clean) <= TAG_LENGTH_MAX:
        raise UserFailure.of(
            ErrorCode.INVALID, f"A tag is 1 to {TAG_LENGTH_MAX} characters.", ["tag"]
        )
    if not follow:
        await TagFollow.filter(member_id=member.pk, tag=clean).delete()
    elif not await TagFollow.exists(member_id=member.pk, tag=clean):
        async with atomic():
            await Member.select_for_update(no_key=True).get(id=member.pk)  # one follow at a time
            if await TagFollow.filter(member_id=member.pk).count() >= TAG_FOLLOWS_MAX:
                raise UserFailure.of(
                    ErrorCode.INVALID, f"You can follow at most {TAG_FOLLOWS_MAX} tags.", ["tag"]
                )
            await TagFollow.get_or_create(
                member_id=member.pk, tag=clean, defaults={"created_at": now()}
            )
    return await followed_tags(ctx)
