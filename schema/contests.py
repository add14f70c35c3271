"""Contests (有奖征集) and check-in challenges (打卡挑战): the contest, its status and
progress, creating and ending it. Entries and votes are schema/contest_entries.py; prize
bands, schema/contest_prizes.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import models
from mallforum.ids import encode_id, parse_id
from models.contests import status_of
from resolvers import challenges as challenge_resolvers
from resolvers import contest_entries as entry_resolvers
from resolvers import contests as contest_resolvers
from resolvers.challenges import Progress
from resolvers.contest_prizes import PrizeInput
from resolvers.contests import ContestInput
from schema.bindings import Info, context, described_enum
from schema.boards import Board
from schema.contest_prizes import ContestPrize, ContestPrizeInput
from schema.payloads import ERRORS, UserError, payload
from schema.relay import After, Connection, First, Node, connection

if TYPE_CHECKING:
    from schema.contest_entries import ContestEntry

ContestEntryRef = Annotated["ContestEntry", strawberry.lazy("schema.contest_entries")]

ContestKind = described_enum(
    models.ContestKind,
    "What kind of campaign a contest is.",
    {
        "SUBMISSION": "Members submit entries (a topic with photos); members vote; judges may "
        "score.",
        "CHALLENGE": "Members check in once a day with a post; completing the required days "
        "earns the prize.",
    },
)
ContestStatus = described_enum(
    models.ContestStatus,
    "Where a contest stands; it follows the clock.",
    {
        "DRAFT": "Not used: contests are created SCHEDULED.",
        "SCHEDULED": "Before startsAt: nothing can be entered yet.",
        "OPEN": "From startsAt until submissionEndsAt: members enter or check in, and vote.",
        "VOTING": "A SUBMISSION contest after submissionEndsAt: votes count until votingEndsAt; "
        "then it stays VOTING, with awaitingFinalization, until an admin finalizes it.",
        "FINISHED": "Finalized: ranks fixed and prizes awarded. A CHALLENGE is FINISHED as soon "
        "as its window has ended.",
        "CANCELLED": "Called off by an admin.",
    },
)
ContestEntrySort = described_enum(
    entry_resolvers.ContestEntrySort,
    "The order a contest's entries come in.",
    {
        "VOTES": "Most votes first; ties to the earlier entry.",
        "LATEST": "Newest first.",
        "FINAL_SCORE": "Highest final score first (the live blend until finalized); ties to "
        "the earlier entry.",
    },
)


@strawberry.type(description="A member's progress in a check-in challenge.")
class ChallengeProgress:
    check_ins: int = strawberry.field(
        description="Days checked in that count now: with consecutiveCheckIns, the current run."
    )
    required: int = strawberry.field(description="Check-ins needed to finish.")
    completed: bool = strawberry.field(
        description="Whether the member has finished the challenge (and won its prize, if any)."
    )
    last_check_in_on: date | None = strawberry.field(
        description="The latest day checked in, in the community's time zone; null before the "
        "first."
    )

    @classmethod
    def of(cls, progress: Progress) -> ChallengeProgress:
        return cls(
            check_ins=progress.check_ins,
            required=progress.required,
            completed=progress.completed,
            last_check_in_on=progress.last_check_in_on,
        )


@strawberry.type(
    description="A campaign in one board: a UGC contest (有奖征集) or a check-in challenge "
    "(打卡挑战)."
)
class Contest(Node):
    title: str = strawberry.field(description="The contest's name, 1 to 120 characters.")
    description: str = strawberry.field(description="What it is about, as the organisers wrote.")
    rules: str | None = strawberry.field(description="The rules; null when none are given.")
    kind: ContestKind = strawberry.field(  # type: ignore[valid-type]
        description="Whether members submit entries or check in daily."
    )
    status: ContestStatus = strawberry.field(  # type: ignore[valid-type]
        description="Where the contest stands now; it follows the clock."
    )
    starts_at: datetime = strawberry.field(description="When entries (or check-ins) open.")
    submission_ends_at: datetime = strawberry.field(
        description="When entries (or check-ins) close."
    )
    voting_ends_at: datetime | None = strawberry.field(
        description="When voting closes; null for a challenge."
    )
    votes_per_member: int = strawberry.field(
        description="How many entries of this contest each member may vote for."
    )
    required_check_ins: int | None = strawberry.field(
        description="CHALLENGE only: check-ins needed to finish."
    )
    consecutive_check_ins: bool = strawberry.field(
        description="CHALLENGE only: whether the check-ins must fall on consecutive days; a "
        "missed day starts the count again."
    )
    judge_weight: float = strawberry.field(
        description="Weight of judges' scores in the final score, 0..1; the rest is members' votes."
    )
    entry_count: int = strawberry.field(
        description="Entries made, those held or hidden by moderation included; for a "
        "challenge, the members who checked in."
    )
    awaiting_finalization: bool = strawberry.field(
        description="Its last window has ended and no admin has finalized it yet (a SUBMISSION "
        "contest then shows VOTING)."
    )
    model: strawberry.Private[models.Contest]

    @classmethod
    def of(cls, contest: models.Contest) -> Contest:
        return cls(
            id=strawberry.ID(encode_id("Contest", contest.pk)),
            title=contest.title,
            description=contest.description,
            rules=contest.rules,
            kind=contest.kind,
            status=status_of(contest),
            starts_at=contest.starts_at,
            submission_ends_at=contest.submission_ends_at,
            voting_ends_at=contest.voting_ends_at,
            votes_per_member=contest.votes_per_member,
            required_check_ins=contest.required_check_ins,
            consecutive_check_ins=contest.consecutive_check_ins,
            judge_weight=contest.judge_weight,
            entry_count=contest.entry_count,
            awaiting_finalization=contest_resolvers.awaiting_finalization(contest),
            model=contest,
        )

    @strawberry.field(description="The board its entries and check-ins are posted in.")
    async def board(self, info: Info) -> Board:
        board = await context(info).loaders.board_by_id.load(self.model.board_id)
        assert board is not None
        return Board.of(board)

    @strawberry.field(description="The prize bands, from rank 1 down.")
    async def prizes(self, info: Info) -> list[ContestPrize]:
        prizes = await context(info).loaders.prizes_by_contest_id.load(self.model.pk)
        return [ContestPrize.of(p) for p in prizes]

    @strawberry.field(
        description="Entries the viewer may see (moderators: all), in the order asked for."
    )
    async def entries(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        sort: Annotated[  # type: ignore[valid-type]
            ContestEntrySort | None,
            strawberry.argument(description="The order of the entries (default VOTES)."),
        ] = entry_resolvers.ContestEntrySort.VOTES,
    ) -> Connection[ContestEntryRef]:
        from schema.contest_entries import ContestEntry  # it imports this module

        page = await entry_resolvers.entry_page(
            context(info),
            self.model,
            sort or entry_resolvers.ContestEntrySort.VOTES,
            first,
            after,
        )
        return connection(page, ContestEntry.of)

    @strawberry.field(
        description="Entries that won a prize, by final rank; for a challenge, the members who "
        "completed it, first finisher first. At most 100."
    )
    async def winners(self, info: Info) -> list[ContestEntryRef]:
        from schema.contest_entries import ContestEntry  # it imports this module

        found = await entry_resolvers.winners(context(info), self.model)
        return [ContestEntry.of(entry) for entry in found]

    @strawberry.field(description="The viewer's own entry; null when none or anonymous.")
    async def viewer_entry(self, info: Info) -> ContestEntryRef | None:
        from schema.contest_entries import ContestEntry  # it imports this module

        entry = await entry_resolvers.viewer_entry(context(info), self.model)
        return ContestEntry.of(entry) if entry else None

    @strawberry.field(
        description="CHALLENGE only: the viewer's progress; null for contests and when anonymous."
    )
    async def viewer_progress(self, info: Info) -> ChallengeProgress | None:
        progress = await challenge_resolvers.viewer_progress(context(info), self.model)
        return ChallengeProgress.of(progress) if progress else None


async def load_contest(info: Info, contest_id: int) -> Contest | None:
    contest = await contest_resolvers.visible_contest(context(info), contest_id)
    return Contest.of(contest) if contest else None


@strawberry.input(description="A new contest or challenge.")
class CreateContestInput:
    board_id: strawberry.ID = strawberry.field(
        description="The board its entries and check-ins are posted in."
    )
    title: str = strawberry.field(description="1 to 120 characters.")
    description: str = strawberry.field(description="1 to 10,000 characters.")
    rules: str | None = strawberry.field(default=None, description="At most 10,000 characters.")
    kind: ContestKind = strawberry.field(  # type: ignore[valid-type]
        description="SUBMISSION or CHALLENGE."
    )
    starts_at: datetime = strawberry.field(description="When entries (or check-ins) open.")
    submission_ends_at: datetime = strawberry.field(
        description="When entries (or check-ins) close: after startsAt, in the future."
    )
    voting_ends_at: datetime | None = strawberry.field(
        default=None,
        description="SUBMISSION: when voting closes, not before submissionEndsAt. CHALLENGE: "
        "leave out.",
    )
    votes_per_member: int | None = strawberry.field(
        default=1, description="How many entries each member may vote for, 1 to 100."
    )
    required_check_ins: int | None = strawberry.field(
        default=None,
        description="CHALLENGE: check-ins needed to finish, 1 to 366, within the window.",
    )
    consecutive_check_ins: bool | None = strawberry.field(
        default=False,
        description="CHALLENGE: the check-ins must fall on consecutive days.",
    )
    judge_weight: float | None = strawberry.field(
        default=0, description="Weight of the judges' scores in the final score, 0 to 1."
    )
    prizes: list[ContestPrizeInput] = strawberry.field(
        description="Up to 20 prize bands; a challenge's starts at rank 1."
    )


@strawberry.type(description="What a contest mutation answers: the contest, or why not.")
class ContestPayload:
    contest: Contest | None = strawberry.field(
        default=None, description="The contest as it is now; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


ContestId = Annotated[strawberry.ID, strawberry.argument(description="The contest's global ID.")]


def _contest_input(data: CreateContestInput) -> ContestInput:
    return ContestInput(
        board_id=data.board_id,
        title=data.title,
        description=data.description,
        rules=data.rules,
        kind=data.kind,
        starts_at=data.starts_at,
        submission_ends_at=data.submission_ends_at,
        voting_ends_at=data.voting_ends_at,
        votes_per_member=data.votes_per_member,
        required_check_ins=data.required_check_ins,
        consecutive_check_ins=data.consecutive_check_ins,
        judge_weight=data.judge_weight,
        prizes=[
            PrizeInput(
                rank_from=p.rank_from,
                rank_to=p.rank_to,
                title=p.title,
                points=p.points,
                badge_code=p.badge_code,
                mall_reward_code=p.mall_reward_code,
            )
            for p in data.prizes
        ],
    )


@strawberry.type
class ContestQueries:
    @strawberry.field(
        description="Contests and challenges in boards the viewer may see, newest first."
    )
    async def contests(
        self,
        info: Info,
        status: Annotated[  # type: ignore[valid-type]
            ContestStatus | None,
            strawberry.argument(description="Only those in this status now; null: all."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Contest]:
        page = await contest_resolvers.contest_page(context(info), status, first, after)
        return connection(page, Contest.of)

    @strawberry.field(description="A contest or challenge by global ID; null when not visible.")
    async def contest(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The contest's global ID.")],
    ) -> Contest | None:
        parsed = parse_id(id)
        if parsed is None or parsed[0] != "Contest":
            return None
        return await load_contest(info, parsed[1])


@strawberry.type
class ContestMutations:
    @strawberry.mutation(description="Admins.")
    async def create_contest(
        self,
        info: Info,
        input: Annotated[CreateContestInput, strawberry.argument(description="The new contest.")],
    ) -> ContestPayload:
        work = contest_resolvers.create_contest(context(info), _contest_input(input))
        return await payload(ContestPayload, work, Contest.of, "contest")

    @strawberry.mutation(description="Admins: call a contest off; refused once it has finished.")
    async def cancel_contest(self, info: Info, contest_id: ContestId) -> ContestPayload:
        work = contest_resolvers.cancel_contest(context(info), contest_id)
        return await payload(ContestPayload, work, Contest.of, "contest")

    @strawberry.mutation(description="Admins: rank, award prizes once, and announce.")
    async def finalize_contest(self, info: Info, contest_id: ContestId) -> ContestPayload:
        work = contest_resolvers.finalize_contest(context(info), contest_id)
        return await payload(ContestPayload, work, Contest.of, "contest")
