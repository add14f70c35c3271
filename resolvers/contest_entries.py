"""A contest's entries: who sees them, their orders and pages, submitting one, members'
votes and judges' scores, which feed the live ranking.

The live rank during OPEN and VOTING is by votes, ties to the earlier entry, among the
entries whose topic is published, read from Redis (mirrors/contest_ranking.py, through the
ContestRank loader). An entry is a topic of kind CONTEST_ENTRY and passes every check a
topic passes. The locks they take are in resolvers/contests.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q, RawSQL
from tortoise.queryset import QuerySet

from mallforum import events
from mallforum.clock import now
from mallforum.errors import ErrorCode, Problems, QueryError, UserFailure
from mallforum.ids import decode_id
from mallforum.transactions import atomic
from mirrors.contest_ranking import put_ranking
from models import (
    ContentStatus,
    Contest,
    ContestEntry,
    ContestKind,
    ContestScore,
    ContestVote,
    Member,
    Topic,
    TopicKind,
)
from resolvers import growth
from resolvers.contest_prizes import SCORE_MAX, blended_score, weights
from resolvers.contests import (
    contest_or_fail,
    refresh_contest,
    require_open,
    share_contest,
    visible_contest,
    voting_open,
)
from resolvers.context import Context
from resolvers.pagination import Page, SortKey, decode_cursor, encode_cursor, page_size
from resolvers.topics import (
    TopicInput,
    clean_topic_input,
    postable_board,
    visible_topic,
    write_topic,
)

WINNERS_MAX = 100


class ContestEntrySort(StrEnum):
    VOTES = "VOTES"
    LATEST = "LATEST"
    FINAL_SCORE = "FINAL_SCORE"


async def entry_visible(ctx: Context, entry: ContestEntry) -> bool:
    """An entry is seen by whoever may see its topic: published, or held for its author."""
    return await visible_topic(ctx, entry.topic_id) is not None


async def visible_entry(ctx: Context, entry_id: int) -> ContestEntry | None:
    entry = await ctx.loaders.contest_entry_by_id.load(entry_id)
    if entry is None or await visible_contest(ctx, entry.contest_id) is None:
        return None
    return entry if await entry_visible(ctx, entry) else None


def _visible_entries(ctx: Context, entries: QuerySet[ContestEntry]) -> QuerySet[ContestEntry]:
    """Moderators see every entry; others those whose topic they may see."""
    if ctx.is_moderator:
        return entries
    shown = Q(topic__status=ContentStatus.PUBLISHED)
    if ctx.viewer is not None:
        shown |= Q(author_id=ctx.viewer.pk, topic__status=ContentStatus.PENDING_REVIEW)
    return entries.filter(shown)


@dataclass(frozen=True)
class EntryOrder:
    """An order of entries: the cursor's key, and the direction of each of its columns."""

    key: SortKey
    descending: tuple[bool, ...]

    @property
    def order_by(self) -> list[str]:
        pairs = zip(self.key.columns, self.descending, strict=True)
        return [("-" if descending else "") + column for column, descending in pairs]


ENTRY_ORDERS = {
    ContestEntrySort.VOTES: EntryOrder(SortKey("votes", ("vote_count", "id")), (True, False)),
    ContestEntrySort.LATEST: EntryOrder(SortKey("latest", ("id",)), (True,)),
    ContestEntrySort.FINAL_SCORE: EntryOrder(
        SortKey("final", ("ranking_score", "id")), (True, False)
    ),
}


def _after(order: EntryOrder, values: Sequence[Any]) -> Q:
    """Entries strictly after the cursor's values, each column in its own direction."""
    columns = list(zip(order.key.columns, order.descending, values, strict=True))

    def beyond(column: str, descending: bool, value: Any) -> Q:
        return Q(**{f"{column}__{'lt' if descending else 'gt'}": value})

    condition = beyond(*columns[-1])
    for column, descending, value in reversed(columns[:-1]):
        condition = beyond(column, descending, value) | (Q(**{column: value}) & condition)
    return condition


def _cursor_values(order: EntryOrder, cursor: str) -> list[Any]:
    values = decode_cursor(order.key, cursor)
    for column, value in zip(order.key.columns, values, strict=True):
        fits = (
            isinstance(value, int | float) and math.isfinite(value)
            if column == "ranking_score"
            else isinstance(value, int) and 0 <= value < 2**63
        )
        if not fits:
            raise QueryError(ErrorCode.INVALID, "after is not a cursor of this list.")
    return values


def _score_sql(contest: Contest, most: int) -> str:
    """The score entries are ordered by for FINAL_SCORE: the fixed one once finalized (those
    without one last), else the live blend."""
    if contest.finalized_at is not None:
        return 'COALESCE("contest_entry"."final_score", -1)'
    judges, members = weights(contest, most)
    return (
        f'COALESCE("contest_entry"."judge_score", 0) * {judges!r}'
        f' + "contest_entry"."vote_count" * {members!r}'
    )


async def entry_page(
    ctx: Context,
    contest: Contest,
    sort: ContestEntrySort,
    first: int | None,
    after: str | None,
) -> Page[ContestEntry]:
    size, order = page_size(first), ENTRY_ORDERS[sort]
    entries = _visible_entries(ctx, ContestEntry.filter(contest_id=contest.pk))
    listed = entries
    if sort == ContestEntrySort.FINAL_SCORE:
        most = await ctx.loaders.most_votes_by_contest_id.load(contest.pk)
        listed = entries.annotate(ranking_score=RawSQL(_score_sql(contest, most)))
    if after:
        listed = listed.filter(_after(order, _cursor_values(order, after)))
    rows = await listed.order_by(*order.order_by).limit(size + 1)
    page = rows[:size]
    ctx.loaders.prime_many(ctx.loaders.contest_entry_by_id, page)
    items = [
        (encode_cursor(order.key, [getattr(r, c) for c in order.key.columns]), r) for r in page
    ]
    return Page(items, len(rows) > size, after is not None, entries.count)


async def winners(ctx: Context, contest: Contest) -> list[ContestEntry]:
    """SUBMISSION: the entries that won a prize, by final rank. CHALLENGE: the members who
    completed it, in the order they did. The first 100 the viewer may see."""
    entries = ContestEntry.filter(contest_id=contest.pk)
    if contest.kind == ContestKind.SUBMISSION:
        entries = entries.filter(prize_id__isnull=False).order_by("final_rank")
    else:
        entries = entries.filter(completed_at__isnull=False).order_by("completed_at", "id")
    found = await _visible_entries(ctx, entries).limit(WINNERS_MAX)
    ctx.loaders.prime_many(ctx.loaders.contest_entry_by_id, found)
    return found


async def viewer_entry(ctx: Context, contest: Contest) -> ContestEntry | None:
    entry = await ctx.loaders.entry_of_viewer_by_contest_id.load(contest.pk)
    return entry if entry is not None and await entry_visible(ctx, entry) else None


async def live_final_score(ctx: Context, entry: ContestEntry) -> float | None:
    """The fixed final score once finalized; until then the blend as it stands (for published
    entries of SUBMISSION contests)."""
    contest = await ctx.loaders.contest_by_id.load(entry.contest_id)
    if contest is None or contest.kind == ContestKind.CHALLENGE:
        return None
    if contest.finalized_at is not None:
        return entry.final_score
    topic = await ctx.loaders.topic_by_id.load(entry.topic_id)
    if topic is None or topic.status != ContentStatus.PUBLISHED:
        return None
    most = await ctx.loaders.most_votes_by_contest_id.load(contest.pk)
    return blended_score(contest, entry.judge_score, entry.vote_count, most)


@dataclass
class EntryInput:
    contest_id: str
    title: str
    body: str
    image_urls: list[str] | None = None
    product_skus: list[str] | None = None


async def submit_entry(ctx: Context, data: EntryInput) -> ContestEntry:
    """A member's entry: a CONTEST_ENTRY topic in the contest's board, through every check
    a topic passes; one per member per contest (DUPLICATE), while OPEN (CLOSED)."""
    member = ctx.require_active_member()
    contest = await contest_or_fail(ctx, data.contest_id, "input", "contestId")
    if contest.kind != ContestKind.SUBMISSION:
        raise UserFailure.of(
            ErrorCode.INVALID, "A challenge takes check-ins, not entries.", ["input", "contestId"]
        )
    problems = Problems()
    topic_input = TopicInput(
        title=data.title,
        body=data.body,
        image_urls=data.image_urls,
        product_skus=data.product_skus,
    )
    clean = clean_topic_input(topic_input, problems, "input")
    problems.raise_any()
    require_open(contest, "entries")
    if await ContestEntry.exists(contest_id=contest.pk, author_id=member.pk):
        raise _duplicate_entry()
    board = await postable_board(ctx, member, contest.board_id, "input", "contestId")
    entered: list[ContestEntry] = []

    async def attach(topic: Topic, texts: dict[str, str]) -> None:
        entered.append(await _enter(contest.pk, topic, member.pk))

    topic = await write_topic(
        ctx,
        member,
        board,
        clean,
        TopicKind.CONTEST_ENTRY,
        content_kind="contest_entry",
        attach=attach,
    )
    [entry] = entered
    await put_ranking(ctx.redis, contest.pk, entry.pk, 0, new=True)
    ctx.loaders.topic_by_id.prime(topic.pk, topic, force=True)
    await refresh_contest(ctx, contest.pk)
    return entry


def _duplicate_entry() -> UserFailure:
    return UserFailure.of(ErrorCode.DUPLICATE, "You have entered this contest already.")


async def _enter(contest_id: int, topic: Topic, member_id: int) -> ContestEntry:
    """The entry's row and the contest's count, in the topic's transaction. The contest's row
    is locked, so entries are counted one at a time and the window is checked as it is now."""
    contest = await Contest.select_for_update(no_key=True).get(id=contest_id)
    require_open(contest, "entries")
    if await ContestEntry.exists(contest_id=contest_id, author_id=member_id):
        raise _duplicate_entry()
    try:
        entry = await ContestEntry.create(
            contest_id=contest_id, topic_id=topic.pk, author_id=member_id, created_at=now()
        )
    except IntegrityError:  # the unique (contest, author) is the last guard
        raise _duplicate_entry() from None
    await Contest.filter(id=contest_id).update(entry_count=F("entry_count") + 1)
    return entry


async def _votable(ctx: Context, entry_gid: str) -> tuple[ContestEntry, Contest, bool]:
    """The entry, its contest, and whether the viewer may see it."""
    entry_id = decode_id(entry_gid, "ContestEntry", field=["entryId"])
    entry = await ctx.loaders.contest_entry_by_id.load(entry_id)
    contest = await visible_contest(ctx, entry.contest_id) if entry else None
    if entry is None or contest is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No contest entry has that id.", ["entryId"])
    topic = await visible_topic(ctx, entry.topic_id)
    return entry, contest, topic is not None and topic.status == ContentStatus.PUBLISHED


async def vote(ctx: Context, entry_gid: str, voted: bool) -> ContestEntry | None:
    """Vote for an entry, or take the vote back, while votes count (CLOSED otherwise).

    Never for one's own entry (FORBIDDEN), once per entry (DUPLICATE), at most
    `votesPerMember` in a contest (CONFLICT). The member's row is locked, so their votes
    are counted one at a time; then the entry's row, so its count moves one vote at a time.
    Taking back a vote never given changes nothing. A vote for an entry moderation has since
    hidden can be taken back; the payload then shows no entry.
    """
    member = ctx.require_unbanned_member()
    entry, contest, shown = await _votable(ctx, entry_gid)
    mine = ContestVote.filter(entry_id=entry.pk, member_id=member.pk)
    if not shown and (voted or not await mine.exists()):
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No contest entry has that id.", ["entryId"])
    if contest.kind != ContestKind.SUBMISSION:
        raise UserFailure.of(ErrorCode.INVALID, "Challenges are not voted on.", ["entryId"])
    if voted and entry.author_id == member.pk:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "You cannot vote for your own entry.")
    if not voting_open(contest):
        raise UserFailure.of(ErrorCode.CLOSED, f"Voting in {contest.title} is closed.")
    async with atomic():
        contest = await share_contest(contest.pk)
        if not voting_open(contest):
            raise UserFailure.of(ErrorCode.CLOSED, f"Voting in {contest.title} is closed.")
        await growth.lock_member(member.pk)
        if voted:
            await _check_can_vote(contest, entry, member)
        locked = await ContestEntry.select_for_update().get(id=entry.pk)
        if voted:
            try:
                await ContestVote.create(
                    contest_id=contest.pk, entry_id=entry.pk, member_id=member.pk, created_at=now()
                )
            except IntegrityError:  # the unique (entry, member) is the last guard
                raise UserFailure.of(
                    ErrorCode.DUPLICATE, "You voted for this entry already."
                ) from None
            locked.vote_count += 1
        elif await mine.delete():
            locked.vote_count -= 1
        else:
            return locked if shown else None
        await ContestEntry.filter(id=entry.pk).update(vote_count=locked.vote_count)
        await put_ranking(ctx.redis, contest.pk, entry.pk, locked.vote_count, new=False)
    ctx.loaders.voted_by_viewer.prime(entry.pk, voted, force=True)
    ctx.loaders.contest_entry_by_id.prime(entry.pk, locked, force=True)
    if voted:
        await growth.record_activity(ctx.settings, ctx.redis, member.pk)
    await events.ranking_changed(ctx.redis, contest.pk)
    return locked if shown else None


async def _check_can_vote(contest: Contest, entry: ContestEntry, member: Member) -> None:
    """DUPLICATE or CONFLICT; call with the member's row locked."""
    if await ContestVote.exists(entry_id=entry.pk, member_id=member.pk):
        raise UserFailure.of(ErrorCode.DUPLICATE, "You voted for this entry already.")
    used = await ContestVote.filter(contest_id=contest.pk, member_id=member.pk).count()
    if used >= contest.votes_per_member:
        raise UserFailure.of(
            ErrorCode.CONFLICT,
            f"You have used your {contest.votes_per_member} vote(s) in {contest.title}; "
            "take one back to vote for this entry.",
        )


async def score_entry(ctx: Context, entry_gid: str, score: float) -> ContestEntry:
    """A judge (moderator) scores an entry 0..100; scoring again replaces their score, and
    the entry's judgeScore is the judges' mean. Until the contest is finalized (CLOSED)."""
    if ctx.principal is None:
        raise UserFailure.of(ErrorCode.UNAUTHENTICATED, "Sign in to do that.")
    if not ctx.is_moderator:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "Only judges (moderators) score entries.")
    judge = ctx.require_member()
    entry_id = decode_id(entry_gid, "ContestEntry", field=["entryId"])
    entry = await visible_entry(ctx, entry_id)
    if entry is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No contest entry has that id.", ["entryId"])
    contest = await ctx.loaders.contest_by_id.load(entry.contest_id)
    assert contest is not None
    if contest.kind != ContestKind.SUBMISSION:
        raise UserFailure.of(ErrorCode.INVALID, "Challenges are not judged.", ["entryId"])
    if not (math.isfinite(score) and 0 <= score <= SCORE_MAX):
        raise UserFailure.of(ErrorCode.INVALID, f"A score is 0 to {SCORE_MAX}.", ["score"])
    if entry.author_id == judge.pk:
        raise UserFailure.of(ErrorCode.FORBIDDEN, "You cannot judge your own entry.")
    async with atomic():
        contest = await share_contest(contest.pk)
        if contest.finalized_at is not None or contest.cancelled_at is not None:
            raise UserFailure.of(ErrorCode.CLOSED, f"{contest.title} has ended.")
        locked = await ContestEntry.select_for_update().get(id=entry.pk)
        scored = now()
        mine = ContestScore.filter(entry_id=entry.pk, judge_id=judge.pk)
        if not await mine.update(score=score, scored_at=scored):
            await ContestScore.create(
                entry_id=entry.pk, judge_id=judge.pk, score=score, scored_at=scored
            )
        scores = [row.score for row in await ContestScore.filter(entry_id=entry.pk)]
        locked.judge_score = sum(scores) / len(scores)
        await ContestEntry.filter(id=entry.pk).update(judge_score=locked.judge_score)
    ctx.loaders.contest_entry_by_id.prime(entry.pk, locked, force=True)
    await events.ranking_changed(ctx.redis, locked.contest_id)
    return locked
