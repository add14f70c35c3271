"""Contests (有奖征集): entries, votes, judges' scores, the live ranking, and finalizing.

Status follows the clock; only the end states are stored (`finalized_at`, `cancelled_at`):
SCHEDULED before `startsAt`, OPEN until `submissionEndsAt`, then for a SUBMISSION contest
VOTING, which it stays, with `awaitingFinalization`, once `votingEndsAt` has passed and
until an admin finalizes it (FINISHED); a CHALLENGE is FINISHED once its window has ended
(its prizes were awarded as members completed), and finalizing it only records that it
was closed. CANCELLED by an admin at any time before FINISHED. DRAFT is never used.

The live rank during OPEN and VOTING is by votes, ties to the earlier entry, among the
entries whose topic is published, read from Redis (resolvers/contest_ranking.py).

The final score blends the judges and the members: `judgeWeight × judgeScore / 100 +
(1 − judgeWeight) × voteCount / mostVotes`, where judgeScore is the mean of the judges'
scores (0 when no judge scored the entry) and mostVotes is the most votes any published
entry of the contest has (the members' part is 0 when nobody voted). `finalizeContest`
fixes it, and ranks by it, ties to the earlier entry; entries not published then get no
rank and no prize.

Locks: the contest's row comes first: FOR UPDATE to finalize or cancel, FOR NO KEY UPDATE
to enter (entries are counted one at a time), FOR KEY SHARE to vote, score or check in; so
finalizing waits for whatever is in flight, and what comes after it waits for it.
A vote then locks the member (their votes count one at a time) and the entry; finalizing
locks the entries in id order, then the winners in id order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q, RawSQL
from tortoise.queryset import QuerySet

from mallforum import events, outbox
from mallforum.clock import now
from mallforum.database import on_postgres
from mallforum.errors import ErrorCode, Problems, QueryError, UserFailure
from mallforum.ids import decode_id, encode_id
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from mallforum.transactions import atomic
from mirrors.contest_ranking import forget_ranking, live_ranks, put_ranking
from models import (
    Badge,
    BadgeKind,
    Board,
    BoardKind,
    ContentStatus,
    Contest,
    ContestEntry,
    ContestKind,
    ContestPrize,
    ContestScore,
    ContestVote,
    Member,
    PointReason,
    Topic,
    TopicKind,
)
from resolvers import badges, growth
from resolvers.context import Context
from resolvers.pagination import (
    Page,
    SortKey,
    decode_cursor,
    encode_cursor,
    page_size,
    queryset_page,
)
from resolvers.topics import (
    TopicInput,
    clean_topic_input,
    postable_board,
    visible_topic,
    write_topic,
)

TITLE_MAX, DESCRIPTION_MAX, RULES_MAX = 120, 10_000, 10_000
VOTES_PER_MEMBER_MAX, CHECK_INS_MAX = 100, 366
PRIZES_MAX, PRIZE_TITLE_MAX, PRIZE_POINTS_MAX, RANK_MAX, REWARD_CODE_MAX = (
    20,
    64,
    1_000_000,
    1000,
    64,
)
SCORE_MAX = 100
WINNERS_MAX = 100
NEWEST_FIRST = SortKey("id", ("id",))


class ContestStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    OPEN = "OPEN"
    VOTING = "VOTING"
    FINISHED = "FINISHED"
    CANCELLED = "CANCELLED"


class ContestEntrySort(StrEnum):
    VOTES = "VOTES"
    LATEST = "LATEST"
    FINAL_SCORE = "FINAL_SCORE"


# ---------------------------------------------------------------- status


def closes_at(contest: Contest) -> datetime:
    """When the last window ends: voting for a SUBMISSION contest, check-ins for a CHALLENGE."""
    return contest.voting_ends_at or contest.submission_ends_at


def status_of(contest: Contest, at: datetime | None = None) -> ContestStatus:
    at = at or now()
    if contest.cancelled_at is not None:
        return ContestStatus.CANCELLED
    if contest.finalized_at is not None:
        return ContestStatus.FINISHED
    if at < contest.starts_at:
        return ContestStatus.SCHEDULED
    if at < contest.submission_ends_at:
        return ContestStatus.OPEN
    return ContestStatus.FINISHED if contest.kind == ContestKind.CHALLENGE else ContestStatus.VOTING


def awaiting_finalization(contest: Contest, at: datetime | None = None) -> bool:
    """Its last window has ended and no admin has finalized (or cancelled) it yet."""
    ended = (at or now()) >= closes_at(contest)
    return ended and contest.finalized_at is None and contest.cancelled_at is None


def voting_open(contest: Contest, at: datetime | None = None) -> bool:
    at = at or now()
    live = status_of(contest, at) in (ContestStatus.OPEN, ContestStatus.VOTING)
    return live and at < closes_at(contest)


def status_filter(status: ContestStatus, at: datetime) -> Q:
    """The contests in `status` at `at`, as a condition on the stored times."""
    live = Q(cancelled_at__isnull=True, finalized_at__isnull=True)
    if status == ContestStatus.CANCELLED:
        return Q(cancelled_at__isnull=False)
    if status == ContestStatus.FINISHED:
        window_over = Q(kind=ContestKind.CHALLENGE, submission_ends_at__lte=at)
        return Q(cancelled_at__isnull=True) & (Q(finalized_at__isnull=False) | window_over)
    if status == ContestStatus.SCHEDULED:
        return live & Q(starts_at__gt=at)
    if status == ContestStatus.OPEN:
        return live & Q(starts_at__lte=at, submission_ends_at__gt=at)
    if status == ContestStatus.VOTING:
        return live & Q(kind=ContestKind.SUBMISSION, submission_ends_at__lte=at)
    return Q(id__lt=0)  # DRAFT: contests are created scheduled


def require_open(contest: Contest, what: str) -> None:
    if status_of(contest) != ContestStatus.OPEN:
        raise UserFailure.of(ErrorCode.CLOSED, f"{contest.title} is not open for {what} now.")


# ---------------------------------------------------------------- reading


def can_view_contest(ctx: Context, board: Board | None) -> bool:
    return board is not None and board.min_level_to_view <= ctx.viewer_level


async def visible_contest(ctx: Context, contest_id: int) -> Contest | None:
    """The contest, if the viewer may see its board."""
    contest = await ctx.loaders.contest_by_id.load(contest_id)
    if contest is None:
        return None
    board = await ctx.loaders.board_by_id.load(contest.board_id)
    return contest if can_view_contest(ctx, board) else None


async def contest_or_fail(ctx: Context, contest_gid: str, *field: str) -> Contest:
    contest_id = decode_id(contest_gid, "Contest", field=list(field) or None)
    contest = await visible_contest(ctx, contest_id)
    if contest is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No contest has that id.", list(field) or None)
    return contest


async def contest_page(
    ctx: Context, status: ContestStatus | None, first: int | None, after: str | None
) -> Page[Contest]:
    """Contests in boards the viewer may see, newest first; `status` is decided in SQL."""
    contests = Contest.filter(board__min_level_to_view__lte=ctx.viewer_level)
    if status is not None:
        contests = contests.filter(status_filter(status, now()))
    page: Page[Contest] = await queryset_page(contests, NEWEST_FIRST, first, after)
    ctx.loaders.prime_many(ctx.loaders.contest_by_id, [c for _, c in page.items])
    return page


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


def _weights(contest: Contest, most: int) -> tuple[float, float]:
    """What a point of the judges' mean score, and what a vote, adds to the final score."""
    members = (1 - contest.judge_weight) / most if most else 0.0
    return contest.judge_weight / SCORE_MAX, members


def blended_score(contest: Contest, judge_score: float | None, votes: int, most: int) -> float:
    """The final score (see the module's docstring), computed as `_score_sql` computes it."""
    judges, members = _weights(contest, most)
    return (judge_score or 0.0) * judges + votes * members


def _score_sql(contest: Contest, most: int) -> str:
    """The score entries are ordered by for FINAL_SCORE: the fixed one once finalized (those
    without one last), else the live blend."""
    if contest.finalized_at is not None:
        return 'COALESCE("contest_entry"."final_score", -1)'
    judges, members = _weights(contest, most)
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


# ---------------------------------------------------------------- ranks


async def _load_ranks(ctx: Context, entry_ids: Sequence[int]) -> list[int | None]:
    """ContestRank: entry id → its rank: live while votes count, final once finalized, 1 for
    a member who completed a challenge; null for entries outside the ranking."""
    entries = [e for e in await ctx.loaders.contest_entry_by_id.load_many(entry_ids) if e]
    ranks: dict[int, int | None] = {}
    by_contest: dict[int, list[ContestEntry]] = {}
    for entry in entries:
        by_contest.setdefault(entry.contest_id, []).append(entry)
    for contest_id, members in by_contest.items():
        contest = await ctx.loaders.contest_by_id.load(contest_id)
        if contest is None:
            continue
        status = status_of(contest)
        if contest.kind == ContestKind.CHALLENGE:
            ranks.update({e.pk: 1 if e.completed_at else None for e in members})
        elif status == ContestStatus.FINISHED:
            ranks.update({e.pk: e.final_rank for e in members})
        elif status in (ContestStatus.OPEN, ContestStatus.VOTING):
            ranks.update(await live_ranks(ctx.redis, contest_id, [e.pk for e in members]))
    return [ranks.get(i) for i in entry_ids]


def rank_loader(ctx: Context) -> DataLoader[int, int | None]:
    if ctx.loaders.contest_rank is None:
        ctx.loaders.contest_rank = DataLoader(load_fn=partial(_load_ranks, ctx))
    return ctx.loaders.contest_rank


# ---------------------------------------------------------------- creating and ending


@dataclass
class PrizeInput:
    rank_from: int
    rank_to: int
    title: str
    points: int | None = 0
    badge_code: str | None = None
    mall_reward_code: str | None = None


@dataclass
class ContestInput:
    board_id: str
    title: str
    description: str
    kind: ContestKind
    starts_at: datetime
    submission_ends_at: datetime
    rules: str | None = None
    voting_ends_at: datetime | None = None
    votes_per_member: int | None = 1
    required_check_ins: int | None = None
    consecutive_check_ins: bool | None = False
    judge_weight: float | None = 0.0
    prizes: list[PrizeInput] = field(default_factory=list)


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # times are UTC
        return value.replace(tzinfo=UTC)
    return value


def _clean_contest(ctx: Context, data: ContestInput, problems: Problems) -> dict[str, Any]:
    """The contest's columns, trimmed and checked; each violation names its field."""
    title, description = data.title.strip(), data.description.strip()
    rules = (data.rules or "").strip() or None
    if not 1 <= len(title) <= TITLE_MAX:
        problems.invalid(f"The title must be 1 to {TITLE_MAX} characters.", "input", "title")
    if not 1 <= len(description) <= DESCRIPTION_MAX:
        problems.invalid(
            f"The description must be 1 to {DESCRIPTION_MAX} characters.", "input", "description"
        )
    if rules is not None and len(rules) > RULES_MAX:
        problems.invalid(f"The rules are at most {RULES_MAX} characters.", "input", "rules")
    starts, submissions, voting = (
        _utc(data.starts_at),
        _utc(data.submission_ends_at),
        _utc(data.voting_ends_at),
    )
    assert starts is not None and submissions is not None
    if submissions <= starts:
        problems.invalid("submissionEndsAt must come after startsAt.", "input", "submissionEndsAt")
    elif submissions <= now():
        problems.invalid("submissionEndsAt must be in the future.", "input", "submissionEndsAt")
    challenge = data.kind == ContestKind.CHALLENGE
    votes = 1 if data.votes_per_member is None else data.votes_per_member
    weight = 0.0 if data.judge_weight is None else data.judge_weight
    if challenge:
        if voting is not None:
            problems.invalid(
                "A challenge has no voting: leave votingEndsAt out.", "input", "votingEndsAt"
            )
        required = data.required_check_ins
        if required is None or not 1 <= required <= CHECK_INS_MAX:
            problems.invalid(
                f"A challenge needs requiredCheckIns, 1 to {CHECK_INS_MAX}.",
                "input",
                "requiredCheckIns",
            )
        elif submissions > starts and required > _days_in(ctx, starts, submissions):
            problems.invalid(
                f"The challenge's window holds only {_days_in(ctx, starts, submissions)} days.",
                "input",
                "requiredCheckIns",
            )
    else:
        if voting is None:
            problems.invalid("A contest needs votingEndsAt.", "input", "votingEndsAt")
        elif voting < submissions:
            problems.invalid(
                "votingEndsAt must not come before submissionEndsAt.", "input", "votingEndsAt"
            )
        if data.required_check_ins is not None:
            problems.invalid("Only challenges take requiredCheckIns.", "input", "requiredCheckIns")
        if data.consecutive_check_ins:
            problems.invalid(
                "Only challenges take consecutiveCheckIns.", "input", "consecutiveCheckIns"
            )
    if not 1 <= votes <= VOTES_PER_MEMBER_MAX:
        problems.invalid(
            f"votesPerMember must be 1 to {VOTES_PER_MEMBER_MAX}.", "input", "votesPerMember"
        )
    if not (math.isfinite(weight) and 0 <= weight <= 1):
        problems.invalid("judgeWeight must be 0 to 1.", "input", "judgeWeight")
    return {
        "title": title,
        "description": description,
        "rules": rules,
        "kind": data.kind,
        "starts_at": starts,
        "submission_ends_at": submissions,
        "voting_ends_at": None if challenge else voting,
        "votes_per_member": votes,
        "required_check_ins": data.required_check_ins if challenge else None,
        "consecutive_check_ins": bool(data.consecutive_check_ins) if challenge else False,
        "judge_weight": 0.0 if challenge else weight,
    }


def _days_in(ctx: Context, starts: datetime, ends: datetime) -> int:
    """The calendar days of the community's time zone that the window [starts, ends) touches."""
    first = starts.astimezone(ctx.settings.zone).date()
    last = (ends - timedelta(microseconds=1)).astimezone(ctx.settings.zone).date()
    return (last - first).days + 1


async def _clean_prizes(
    prizes: list[PrizeInput], kind: ContestKind, problems: Problems
) -> list[dict[str, Any]]:
    """The prize bands' columns; bands may not overlap, and badges must be MANUAL ones."""
    if len(prizes) > PRIZES_MAX:
        problems.invalid(f"At most {PRIZES_MAX} prize bands.", "input", "prizes")
        return []
    codes = {p.badge_code.strip() for p in prizes if p.badge_code is not None}
    catalogue = {b.code: b for b in await Badge.filter(code__in=list(codes))} if codes else {}
    cleaned: list[dict[str, Any]] = []
    for n, prize in enumerate(prizes):
        at = ("input", "prizes", str(n))
        title = prize.title.strip()
        points = 0 if prize.points is None else prize.points
        if not 1 <= prize.rank_from <= prize.rank_to <= RANK_MAX:
            problems.invalid(
                f"Ranks must satisfy 1 ≤ rankFrom ≤ rankTo ≤ {RANK_MAX}.", *at, "rankTo"
            )
        if not 1 <= len(title) <= PRIZE_TITLE_MAX:
            problems.invalid(f"The title must be 1 to {PRIZE_TITLE_MAX} characters.", *at, "title")
        if not 0 <= points <= PRIZE_POINTS_MAX:
            problems.invalid(f"points must be 0 to {PRIZE_POINTS_MAX:,}.", *at, "points")
        badge = None
        if prize.badge_code is not None:
            badge = catalogue.get(prize.badge_code.strip())
            if badge is None or badge.kind != BadgeKind.MANUAL:
                problems.invalid("badgeCode must name a MANUAL badge.", *at, "badgeCode")
        code = prize.mall_reward_code.strip() if prize.mall_reward_code is not None else None
        if code is not None and not 1 <= len(code) <= REWARD_CODE_MAX:
            problems.invalid(
                f"mallRewardCode must be 1 to {REWARD_CODE_MAX} characters.", *at, "mallRewardCode"
            )
        cleaned.append(
            {
                "rank_from": prize.rank_from,
                "rank_to": prize.rank_to,
                "title": title,
                "points": points,
                "badge_id": badge.pk if badge else None,
                "mall_reward_code": code,
            }
        )
    bands = sorted((p["rank_from"], p["rank_to"]) for p in cleaned)
    if any(later[0] <= earlier[1] for earlier, later in itertools.pairwise(bands)):
        problems.invalid("Prize bands must not overlap.", "input", "prizes")
    if kind == ContestKind.CHALLENGE and any(p["rank_from"] != 1 for p in cleaned):
        problems.invalid(
            "Every finisher of a challenge is rank 1: its prize band starts at rank 1.",
            "input",
            "prizes",
        )
    return cleaned


async def create_contest(ctx: Context, data: ContestInput) -> Contest:
    ctx.require_admin()
    admin = ctx.require_member()
    problems = Problems()
    values = _clean_contest(ctx, data, problems)
    prizes = await _clean_prizes(data.prizes, data.kind, problems)
    problems.raise_any()
    board_id = decode_id(data.board_id, "Board", field=["input", "boardId"])
    board = await Board.get_or_none(id=board_id)
    if board is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No board has that id.", ["input", "boardId"])
    if board.kind == BoardKind.ANNOUNCEMENT:
        raise UserFailure.of(
            ErrorCode.INVALID,
            "Members cannot post in an announcement board.",
            ["input", "boardId"],
        )
    async with atomic():
        contest = await Contest.create(
            board_id=board_id, created_by_id=admin.pk, created_at=now(), **values
        )
        await ContestPrize.bulk_create(
            [ContestPrize(contest_id=contest.pk, **prize) for prize in prizes]
        )
    return contest


async def _locked_contest(contest_id: int) -> Contest:
    """The contest's row, locked until the transaction ends, or NOT_FOUND."""
    contest = await Contest.select_for_update().get_or_none(id=contest_id)
    if contest is None:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No contest has that id.", ["contestId"])
    return contest


async def cancel_contest(ctx: Context, contest_gid: str) -> Contest:
    """An admin calls a contest off; cancelling again answers it as it is. CLOSED once FINISHED."""
    ctx.require_admin()
    contest_id = decode_id(contest_gid, "Contest", field=["contestId"])
    async with atomic():
        contest = await _locked_contest(contest_id)
        if contest.cancelled_at is not None:
            return contest
        if status_of(contest) == ContestStatus.FINISHED:
            raise UserFailure.of(ErrorCode.CLOSED, f"{contest.title} has finished already.")
        contest.cancelled_at = now()
        await contest.save(update_fields=["cancelled_at"])
    await forget_ranking(ctx.redis, contest.pk)
    await events.ranking_changed(ctx.redis, contest.pk)
    return contest


async def finalize_contest(ctx: Context, contest_gid: str) -> Contest:
    """Rank and award the prizes once. A second call, even at the same time, waits for the
    first on the contest's row lock and answers the finished contest, awarding nothing."""
    ctx.require_admin()
    contest_id = decode_id(contest_gid, "Contest", field=["contestId"])
    async with atomic():
        contest = await _locked_contest(contest_id)
        if contest.finalized_at is not None:
            return contest
        if contest.cancelled_at is not None:
            raise UserFailure.of(ErrorCode.CLOSED, f"{contest.title} was cancelled.")
        if now() < closes_at(contest):
            ends = closes_at(contest).isoformat()
            raise UserFailure.of(ErrorCode.CLOSED, f"{contest.title} runs until {ends}.")
        if contest.kind == ContestKind.SUBMISSION:
            await _rank_and_award(ctx.settings, ctx.redis, contest)
        contest.finalized_at = now()
        await contest.save(update_fields=["finalized_at"])
    await forget_ranking(ctx.redis, contest.pk)
    await events.ranking_changed(ctx.redis, contest.pk)
    return contest


def prize_for(prizes: Sequence[ContestPrize], rank: int) -> ContestPrize | None:
    return next((p for p in prizes if p.rank_from <= rank <= p.rank_to), None)


async def _rank_and_award(settings: Settings, redis: RedisStore, contest: Contest) -> None:
    """Fix the final scores and ranks of the published entries, and award the prize bands."""
    entries = await ContestEntry.select_for_update().filter(contest_id=contest.pk).order_by("id")
    published = set(
        await Topic.filter(
            id__in=[e.topic_id for e in entries], status=ContentStatus.PUBLISHED
        ).values_list("id", flat=True)
    )
    eligible = [e for e in entries if e.topic_id in published]
    most = max((e.vote_count for e in eligible), default=0)
    for entry in eligible:
        entry.final_score = blended_score(contest, entry.judge_score, entry.vote_count, most)
    eligible.sort(key=lambda e: (-(e.final_score or 0.0), e.pk))
    prizes = await ContestPrize.filter(contest_id=contest.pk).order_by("rank_from")
    for rank, entry in enumerate(eligible, start=1):
        prize = prize_for(prizes, rank)
        entry.final_rank, entry.prize_id = rank, prize.pk if prize else None
    if eligible:
        await ContestEntry.bulk_update(
            eligible, fields=["final_score", "final_rank", "prize_id"], batch_size=500
        )
    by_id = {p.pk: p for p in prizes}
    badge_ids = {p.badge_id for p in prizes if p.badge_id is not None}
    catalogue = {b.pk: b for b in await Badge.filter(id__in=list(badge_ids))} if badge_ids else {}
    for entry in sorted((e for e in eligible if e.prize_id), key=lambda e: e.author_id):
        assert entry.prize_id is not None
        prize = by_id[entry.prize_id]
        member = await growth.lock_member(entry.author_id)
        badge = catalogue.get(prize.badge_id) if prize.badge_id else None
        await award_prize(settings, redis, contest, entry, prize, member, badge)


async def award_prize(
    settings: Settings,
    redis: RedisStore,
    contest: Contest,
    entry: ContestEntry,
    prize: ContestPrize,
    member: Member,
    badge: Badge | None,
) -> None:
    """The prize's points, badge and mall reward (an outbox event for the mall) to a locked
    member, in the caller's transaction; the ledger key makes the points once per entry."""
    if prize.points:
        await growth.post(
            settings,
            redis,
            member,
            PointReason.CONTEST_PRIZE,
            f"contest:{contest.pk}:prize:{entry.pk}",
            prize.points,
            reference=f"ContestEntry:{entry.pk}",
        )
    if badge is not None:
        await badges.award(
            member.pk, badge, f"{prize.title} · {contest.title}"[: badges.REASON_MAX]
        )
    if prize.mall_reward_code:
        await outbox.emit(
            "contest.prize_awarded",
            {
                "contestId": encode_id("Contest", contest.pk),
                "entryId": encode_id("ContestEntry", entry.pk),
                "mallUserId": member.mall_user_id,
                "mallRewardCode": prize.mall_reward_code,
                "prizeTitle": prize.title,
                "rank": entry.final_rank,
            },
        )


# ---------------------------------------------------------------- entries, votes, scores


async def share_contest(contest_id: int) -> Contest:
    """The contest's row, FOR KEY SHARE on PostgreSQL: finalizing and cancelling (FOR UPDATE)
    wait for this transaction, and it waits for them; entries, votes and check-ins do not
    wait for each other. Call inside a transaction."""
    lock = " FOR KEY SHARE" if on_postgres() else ""
    query = f'SELECT * FROM "contest" WHERE "id" = {int(contest_id)}{lock}'
    rows: list[Contest] = await Contest.raw(query)
    return rows[0]


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


async def refresh_contest(ctx: Context, contest_id: int) -> None:
    """Load the contest again, so a payload shows its new entry count."""
    ctx.loaders.contest_by_id.prime(contest_id, await Contest.get(id=contest_id), force=True)


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
