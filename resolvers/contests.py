"""Contests (有奖征集) and challenges: their status, who sees them, creating, cancelling and
finalizing them. Entries, votes and judges' scores are resolvers/contest_entries.py; the
final score and the prizes it awards, resolvers/contest_prizes.py; check-ins,
resolvers/challenges.py.

Status follows the clock; only the end states are stored (`finalized_at`, `cancelled_at`):
SCHEDULED before `startsAt`, OPEN until `submissionEndsAt`, then for a SUBMISSION contest
VOTING, which it stays, with `awaitingFinalization`, once `votingEndsAt` has passed and
until an admin finalizes it (FINISHED); a CHALLENGE is FINISHED once its window has ended
(its prizes were awarded as members completed), and finalizing it only records that it
was closed. CANCELLED by an admin at any time before FINISHED. DRAFT is never used
(`models.contests.status_of`).

Locks: the contest's row comes first: FOR UPDATE to finalize or cancel, FOR NO KEY UPDATE
to enter (entries are counted one at a time), FOR KEY SHARE to vote, score or check in; so
finalizing waits for whatever is in flight, and what comes after it waits for it.
A vote then locks the member (their votes count one at a time) and the entry; finalizing
locks the entries in id order, then the winners in id order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from tortoise.expressions import Q

from mallforum import events
from mallforum.clock import now
from mallforum.database import on_postgres
from mallforum.errors import ErrorCode, Problems, UserFailure
from mallforum.ids import decode_id
from mallforum.transactions import atomic
from mirrors.contest_ranking import forget_ranking
from models import Board, BoardKind, Contest, ContestKind, ContestPrize, ContestStatus
from models.contests import closes_at, status_of
from resolvers.contest_prizes import PrizeInput, clean_prizes, rank_and_award
from resolvers.context import Context
from resolvers.pagination import Page, SortKey, queryset_page
from resolvers.validation import Between, Check, Given, Rule, Text, Values, clean

TITLE_MAX, DESCRIPTION_MAX, RULES_MAX = 120, 10_000, 10_000
VOTES_PER_MEMBER_MAX, CHECK_INS_MAX = 100, 366
NEWEST_FIRST = SortKey("id", ("id",))


# ---------------------------------------------------------------- status


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


async def refresh_contest(ctx: Context, contest_id: int) -> None:
    """Load the contest again, so a payload shows its new entry count."""
    ctx.loaders.contest_by_id.prime(contest_id, await Contest.get(id=contest_id), force=True)


async def share_contest(contest_id: int) -> Contest:
    """The contest's row, FOR KEY SHARE on PostgreSQL: finalizing and cancelling (FOR UPDATE)
    wait for this transaction, and it waits for them; entries, votes and check-ins do not
    wait for each other. Call inside a transaction."""
    lock = " FOR KEY SHARE" if on_postgres() else ""
    query = f'SELECT * FROM "contest" WHERE "id" = {int(contest_id)}{lock}'
    rows: list[Contest] = await Contest.raw(query)
    return rows[0]


# ---------------------------------------------------------------- creating and ending


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


def _challenge(values: Values) -> bool:
    return bool(values["kind"] == ContestKind.CHALLENGE)


def _contest_rules(zone: tzinfo) -> list[Rule]:
    """The rules of a new contest, in the order their problems are listed."""

    def days(values: Values) -> int:
        return days_in(zone, values["starts_at"], values["submission_ends_at"])

    def submission(values: Values) -> bool:
        return not _challenge(values)

    return [
        Text("title", "title", TITLE_MAX, f"The title must be 1 to {TITLE_MAX} characters."),
        Text(
            "description",
            "description",
            DESCRIPTION_MAX,
            f"The description must be 1 to {DESCRIPTION_MAX} characters.",
        ),
        Text(
            "rules",
            "rules",
            RULES_MAX,
            f"The rules are at most {RULES_MAX} characters.",
            blank_is_none=True,
        ),
        Given("kind"),
        Given("starts_at"),
        Given("submission_ends_at"),
        Given("voting_ends_at"),
        Given("required_check_ins"),
        Given("consecutive_check_ins"),
        Check(
            "submissionEndsAt",
            lambda v: v["submission_ends_at"] <= v["starts_at"],
            "submissionEndsAt must come after startsAt.",
        ),
        Check(
            "submissionEndsAt",
            lambda v: v["submission_ends_at"] <= now(),
            "submissionEndsAt must be in the future.",
        ),
        Check(
            "votingEndsAt",
            lambda v: _challenge(v) and v["voting_ends_at"] is not None,
            "A challenge has no voting: leave votingEndsAt out.",
        ),
        Check(
            "requiredCheckIns",
            lambda v: _challenge(v) and not 1 <= (v["required_check_ins"] or 0) <= CHECK_INS_MAX,
            f"A challenge needs requiredCheckIns, 1 to {CHECK_INS_MAX}.",
        ),
        Check(
            "requiredCheckIns",
            lambda v: (
                _challenge(v)
                and v["submission_ends_at"] > v["starts_at"]
                and v["required_check_ins"] > days(v)
            ),
            lambda v: f"The challenge's window holds only {days(v)} days.",
        ),
        Check(
            "votingEndsAt",
            lambda v: submission(v) and v["voting_ends_at"] is None,
            "A contest needs votingEndsAt.",
        ),
        Check(
            "votingEndsAt",
            lambda v: submission(v) and v["voting_ends_at"] < v["submission_ends_at"],
            "votingEndsAt must not come before submissionEndsAt.",
        ),
        Check(
            "requiredCheckIns",
            lambda v: submission(v) and v["required_check_ins"] is not None,
            "Only challenges take requiredCheckIns.",
        ),
        Check(
            "consecutiveCheckIns",
            lambda v: submission(v) and bool(v["consecutive_check_ins"]),
            "Only challenges take consecutiveCheckIns.",
        ),
        Between(
            "votes_per_member",
            "votesPerMember",
            1,
            VOTES_PER_MEMBER_MAX,
            f"votesPerMember must be 1 to {VOTES_PER_MEMBER_MAX}.",
            default=1,
        ),
        Between("judge_weight", "judgeWeight", 0, 1, "judgeWeight must be 0 to 1.", default=0.0),
    ]


def _clean_contest(ctx: Context, data: ContestInput, problems: Problems) -> Values:
    """The contest's columns, trimmed and checked; each violation names its field. What the
    other kind takes is left at its default."""
    values = clean(_contest_rules(ctx.settings.zone), data, problems, "input")
    if _challenge(values):
        consecutive = bool(values["consecutive_check_ins"])
        return {
            **values,
            "voting_ends_at": None,
            "judge_weight": 0.0,
            "consecutive_check_ins": consecutive,
        }
    return {**values, "required_check_ins": None, "consecutive_check_ins": False}


def days_in(zone: tzinfo, starts: datetime, ends: datetime) -> int:
    """The calendar days of `zone` that the window [starts, ends) touches."""
    first = starts.astimezone(zone).date()
    last = (ends - timedelta(microseconds=1)).astimezone(zone).date()
    return (last - first).days + 1


async def create_contest(ctx: Context, data: ContestInput) -> Contest:
    ctx.require_admin()
    admin = ctx.require_member()
    problems = Problems()
    values = _clean_contest(ctx, data, problems)
    prizes = await clean_prizes(data.prizes, data.kind, problems)
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
            await rank_and_award(ctx.settings, ctx.redis, contest)
        contest.finalized_at = now()
        await contest.save(update_fields=["finalized_at"])
    await forget_ranking(ctx.redis, contest.pk)
    await events.ranking_changed(ctx.redis, contest.pk)
    return contest
