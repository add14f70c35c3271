"""Polls (投票): a topic of kind POLL carries one, and each member casts one ballot.

A poll's question and options pass the moderation pipeline with the topic's title and body
and are stored as screened (masked), in the topic's transaction. A ballot is counted under
the poll's row lock: the ballot row, the options' `vote_count` and the poll's
`total_voters` change together, one ballot at a time, and the unique (poll, member) index
is the last guard against a second ballot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from mallforum import events
from mallforum.clock import now
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.growth_rules import Privilege
from mallforum.ids import decode_id, parse_id
from mallforum.transactions import atomic
from models import ContentStatus, Poll, PollBallot, PollOption, Topic, TopicKind
from resolvers import growth
from resolvers.context import Context
from resolvers.topics import (
    Attach,
    TopicInput,
    clean_topic_input,
    postable_board,
    visible_topic,
    write_topic,
)

QUESTION_MAX = 200
OPTION_MAX = 100
OPTIONS_MIN, OPTIONS_MAX = 2, 20


@dataclass
class PollInput:
    """A new poll, as the author wrote it."""

    question: str
    options: list[str]
    max_choices: int = 1
    closes_at: datetime | None = None


def clean_poll_input(data: PollInput, problems: Problems, *path: str) -> PollInput:
    """Trimmed question and options, closesAt in UTC; each violation is a problem naming its
    field."""
    question = data.question.strip()
    if not 1 <= len(question) <= QUESTION_MAX:
        problems.invalid(f"The question must be 1 to {QUESTION_MAX} characters.", *path, "question")
    options = [option.strip() for option in data.options]
    if not OPTIONS_MIN <= len(options) <= OPTIONS_MAX:
        problems.invalid(f"A poll has {OPTIONS_MIN} to {OPTIONS_MAX} options.", *path, "options")
    else:
        seen: set[str] = set()
        for index, option in enumerate(options):
            if not 1 <= len(option) <= OPTION_MAX:
                problems.invalid(
                    f"An option must be 1 to {OPTION_MAX} characters.", *path, "options", str(index)
                )
            elif option.casefold() in seen:
                problems.invalid("Each option must be different.", *path, "options", str(index))
            seen.add(option.casefold())
    if not 1 <= data.max_choices <= max(len(options), 1):
        problems.invalid(
            "maxChoices must be at least 1 and at most the number of options.",
            *path,
            "maxChoices",
        )
    closes_at = data.closes_at
    if closes_at is not None and closes_at.tzinfo is None:  # times are UTC
        closes_at = closes_at.replace(tzinfo=UTC)
    if closes_at is not None and closes_at <= now():
        problems.invalid("closesAt must be in the future.", *path, "closesAt")
    return PollInput(question, options, data.max_choices, closes_at)


def _option_text(index: int) -> str:
    """The name an option's text goes through the moderation pipeline under."""
    return f"option_{index}"


def _attach_poll(poll: PollInput) -> Attach:
    """Writes the poll and its options, with their screened texts, in the topic's transaction."""

    async def attach(topic: Topic, texts: dict[str, str]) -> None:
        created = await Poll.create(
            topic_id=topic.pk,
            question=texts["question"],
            max_choices=poll.max_choices,
            closes_at=poll.closes_at,
            created_at=topic.created_at,
        )
        await PollOption.bulk_create(
            [
                PollOption(poll_id=created.pk, position=index, text=texts[_option_text(index)])
                for index in range(len(poll.options))
            ]
        )

    return attach


async def create_poll_topic(
    ctx: Context, board_gid: str, kind: TopicKind, data: TopicInput, poll: PollInput
) -> Topic:
    """A topic of kind POLL with its poll: needs the CREATE_POLL privilege, and every text,
    the question and options included, passes moderation before anything is stored."""
    member = ctx.require_active_member()
    problems = Problems()
    clean = clean_topic_input(data, problems, "input")
    clean_poll = clean_poll_input(poll, problems, "input", "poll")
    if kind not in (TopicKind.DISCUSSION, TopicKind.POLL):
        problems.invalid("A topic with a poll is of kind POLL.", "input", "kind")
    problems.raise_any()
    board = await postable_board(
        ctx, member, decode_id(board_gid, "Board", field=["input", "boardId"]), "input", "boardId"
    )
    growth.require_privilege(ctx, member, Privilege.CREATE_POLL)
    texts = {"question": clean_poll.question}
    texts.update({_option_text(index): option for index, option in enumerate(clean_poll.options)})
    return await write_topic(
        ctx,
        member,
        board,
        clean,
        TopicKind.POLL,
        content_kind="poll",
        extra_texts=texts,
        attach=_attach_poll(clean_poll),
    )


def is_closed(poll: Poll) -> bool:
    return poll.closes_at is not None and poll.closes_at <= now()


async def visible_poll(ctx: Context, poll_id: int) -> Poll | None:
    """The poll, if the viewer may see its topic."""
    poll = await ctx.loaders.poll_by_id.load(poll_id)
    if poll is None or await visible_topic(ctx, poll.topic_id) is None:
        return None
    return poll


async def _chosen_options(ctx: Context, poll: Poll, option_gids: list[str]) -> list[int]:
    """The chosen options' ids: 1 to maxChoices distinct options of this poll, else INVALID."""
    ids = []
    for gid in option_gids:
        parsed = parse_id(gid)
        if parsed is None or parsed[0] != "PollOption":
            raise UserFailure.of(ErrorCode.INVALID, "That is not an option id.", ["optionIds"])
        ids.append(parsed[1])
    if len(set(ids)) != len(ids):
        raise UserFailure.of(ErrorCode.INVALID, "Choose each option once.", ["optionIds"])
    if not 1 <= len(ids) <= poll.max_choices:
        raise UserFailure.of(
            ErrorCode.INVALID, f"Choose 1 to {poll.max_choices} options.", ["optionIds"]
        )
    options = {option.pk for option in await ctx.loaders.options_by_poll_id.load(poll.pk)}
    if not options.issuperset(ids):
        raise UserFailure.of(ErrorCode.INVALID, "Choose options of this poll.", ["optionIds"])
    return ids


async def vote_poll(ctx: Context, poll_gid: str, option_gids: list[str]) -> Poll:
    """Cast the viewer's one ballot. Muted members may vote, as they may like."""
    member = ctx.require_unbanned_member()
    found = await visible_poll(ctx, decode_id(poll_gid, "Poll", field=["pollId"]))
    topic = await ctx.loaders.topic_by_id.load(found.topic_id) if found else None
    if found is None or topic is None or topic.status != ContentStatus.PUBLISHED:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No poll has that id.", ["pollId"])
    chosen = await _chosen_options(ctx, found, option_gids)
    async with atomic():
        poll = await Poll.select_for_update().get(id=found.pk)  # ballots are counted in turn
        if is_closed(poll):
            raise UserFailure.of(ErrorCode.CLOSED, "This poll is closed.")
        if await PollBallot.exists(poll_id=poll.pk, member_id=member.pk):
            raise _voted_already()
        try:
            ballot = await PollBallot.create(
                poll_id=poll.pk, member_id=member.pk, option_ids=chosen, created_at=now()
            )
        except IntegrityError:
            raise _voted_already() from None
        await PollOption.filter(id__in=chosen).update(vote_count=F("vote_count") + 1)
        poll.total_voters += 1
        await Poll.filter(id=poll.pk).update(total_voters=poll.total_voters)
    ctx.loaders.poll_by_id.prime(poll.pk, poll, force=True)  # the payload shows the new counts
    ctx.loaders.options_by_poll_id.clear(poll.pk)
    ctx.loaders.ballot_of_viewer_by_poll_id.prime(poll.pk, ballot, force=True)
    await events.topic_changed(ctx.redis, poll.topic_id, events.TopicEventKind.UPDATED)
    return poll


def _voted_already() -> UserFailure:
    return UserFailure.of(ErrorCode.DUPLICATE, "You have voted in this poll already.")
