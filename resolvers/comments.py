"""Comments: a topic's comments (oldest first), each with its flat thread of replies."""

from __future__ import annotations

from tortoise.expressions import Q

from mallforum.clock import now
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.ids import decode_id
from mallforum.rendering import render_markdown
from mallforum.transactions import atomic
from models import Comment, ContentStatus, Topic
from resolvers import growth
from resolvers.context import Context
from resolvers.moderation import open_hook_case, screen
from resolvers.pagination import Page, SortKey, encode_cursor, page_size, queryset_page
from resolvers.publishing import change_status
from resolvers.topics import lock_topic, postable_board, visible_topic

COMMENT_MAX = 5_000
OLDEST_FIRST = SortKey("oldest", ("id",), descending=False)


def can_view_comment(ctx: Context, comment: Comment) -> bool:
    if comment.status == ContentStatus.PUBLISHED or ctx.is_moderator:
        return True
    own = ctx.viewer is not None and comment.author_id == ctx.viewer.pk
    return own and comment.status == ContentStatus.PENDING_REVIEW


def is_removed(comment: Comment) -> bool:
    return comment.status in (ContentStatus.DELETED, ContentStatus.HIDDEN)


def shows_body(ctx: Context, comment: Comment) -> bool:
    """A removed comment is an empty placeholder, except to moderators."""
    return not is_removed(comment) or ctx.is_moderator


async def replied_comment(ctx: Context, reply: Comment) -> Comment | None:
    """The comment a reply answers; a removed one stays as a placeholder, as in the list."""
    if reply.parent_id is None:
        return None
    parent = await ctx.loaders.comment_by_id.load(reply.parent_id)
    if parent is None or not (is_removed(parent) or can_view_comment(ctx, parent)):
        return None
    return parent


async def visible_comment(ctx: Context, comment_id: int) -> Comment | None:
    comment = await ctx.loaders.comment_by_id.load(comment_id)
    if comment is None or not can_view_comment(ctx, comment):
        return None
    return comment if await visible_topic(ctx, comment.topic_id) is not None else None


async def _page(ctx: Context, queryset, first: int | None, after: str | None) -> Page[Comment]:
    page = await queryset_page(queryset, OLDEST_FIRST, first, after)
    ctx.loaders.prime_many(ctx.loaders.comment_by_id, [row for _, row in page.items])
    return page


async def topic_comments(
    ctx: Context, topic_id: int, first: int | None, after: str | None
) -> Page[Comment]:
    """Top-level comments; a removed one stays as a placeholder while its thread has replies."""
    queryset = Comment.filter(topic_id=topic_id, root_id=None).filter(
        Q(status=ContentStatus.PUBLISHED)
        | Q(status__in=[ContentStatus.DELETED, ContentStatus.HIDDEN], reply_count__gt=0)
    )
    return await _page(ctx, queryset, first, after)


async def comment_replies(
    ctx: Context, root_id: int, first: int | None, after: str | None
) -> Page[Comment]:
    """A page of a thread; first pages (what a list of comments shows) load in batches."""

    async def count() -> int:  # the root keeps its thread's count of published replies
        root = await ctx.loaders.comment_by_id.load(root_id)
        return root.reply_count if root else 0

    if after is not None:
        queryset = Comment.filter(root_id=root_id, status=ContentStatus.PUBLISHED)
        page = await _page(ctx, queryset, first, after)
        page.count = count
        return page
    size = page_size(first)
    rows = await ctx.loaders.first_replies_by_root.load((root_id, size + 1))
    ctx.loaders.prime_many(ctx.loaders.comment_by_id, rows)
    items = [(encode_cursor(OLDEST_FIRST, [row.pk]), row) for row in rows[:size]]
    return Page(items, len(rows) > size, False, count)


async def create_comment(
    ctx: Context, topic_gid: str, body: str, parent_gid: str | None
) -> Comment:
    member = ctx.require_active_member()
    problems = Problems()
    body = body.strip()
    if not 1 <= len(body) <= COMMENT_MAX:
        problems.invalid(f"A comment is 1 to {COMMENT_MAX} characters.", "input", "body")
    problems.raise_any()
    topic_id = decode_id(topic_gid, "Topic", field=["input", "topicId"])
    topic = await visible_topic(ctx, topic_id)
    if topic is None or topic.status != ContentStatus.PUBLISHED:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No topic has that id.", ["input", "topicId"])
    if topic.is_locked and not ctx.is_moderator:
        raise UserFailure.of(ErrorCode.LOCKED, "This topic is locked: no new comments.")
    await postable_board(ctx, member, topic.board_id)
    parent = None
    if parent_gid is not None:
        parent = await visible_comment(ctx, decode_id(parent_gid, "Comment"))
        if parent is None or parent.topic_id != topic.pk or parent.status != "PUBLISHED":
            raise UserFailure.of(
                ErrorCode.NOT_FOUND, "No comment of this topic has that id.", ["input", "parentId"]
            )
    growth.check_links(ctx, member, body)
    screened = await screen(ctx, "comment", member, {"body": body})
    async with atomic():
        locked = await lock_topic(topic.pk)  # first, so concurrent comments queue here
        comment = await Comment.create(
            topic_id=topic.pk,
            author_id=member.pk,
            parent_id=parent.pk if parent else None,
            root_id=(parent.root_id or parent.pk) if parent else None,
            status=ContentStatus.PENDING_REVIEW,
            body=screened.texts["body"],
            body_html=render_markdown(screened.texts["body"]),
            created_at=now(),
        )
        await change_status(ctx.settings, ctx.redis, locked, screened.status, comment)
        if screened.needs_case:
            await open_hook_case(comment, screened.reasons)
    ctx.loaders.topic_by_id.prime(locked.pk, locked, force=True)  # the payload shows new counts
    await growth.record_activity(ctx.settings, ctx.redis, member.pk)
    return comment


async def lock_comment(comment_id: int) -> tuple[Topic, Comment]:
    """The comment's topic and then the comment, locked in that order (as every write of a
    comment locks them) until the transaction ends."""
    found = await Comment.get(id=comment_id)
    topic = await lock_topic(found.topic_id)
    return topic, await Comment.select_for_update().get(id=comment_id)


async def delete_comment(ctx: Context, comment_gid: str) -> str:
    member = ctx.require_active_member()
    found = await visible_comment(ctx, decode_id(comment_gid, "Comment", field=["id"]))
    if found is None or found.status == ContentStatus.DELETED:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No comment has that id.", ["id"])
    if found.author_id != member.pk and not ctx.is_moderator:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "Only its author or a moderator may do that.")
    async with atomic():
        topic, comment = await lock_comment(found.pk)
        await change_status(ctx.settings, ctx.redis, topic, ContentStatus.DELETED, comment)
    return comment_gid
