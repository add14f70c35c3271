"""Contests (有奖征集) and check-in challenges (打卡挑战): entries, votes, judges, prizes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

import models
from mallforum.ids import encode_id, parse_id
from resolvers import challenges as challenge_resolvers
from resolvers import contests as contest_resolvers
from resolvers.challenges import Progress
from resolvers.contests import ContestInput, EntryInput, PrizeInput
from schema.boards import Board
from schema.common import (
    ERRORS,
    After,
    Connection,
    First,
    Info,
    Node,
    UserError,
    connection,
    context,
    described_enum,
    payload,
)
from schema.growth import Badge
from schema.members import Member
from schema.topics import Topic

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
    contest_resolvers.ContestStatus,
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
    contest_resolvers.ContestEntrySort,
    "The order a contest's entries come in.",
    {
        "VOTES": "Most votes first; ties to the earlier entry.",
        "LATEST": "Newest first.",
        "FINAL_SCORE": "Highest final score first (the live blend until finalized); ties to "
        "the earlier entry.",
    },
)


@strawberry.type(description="A prize band: the entries ranked rankFrom to rankTo win it.")
class ContestPrize:
    rank_from: int = strawberry.field(
        description="Ranks from..to (inclusive) win this prize; for a CHALLENGE every finisher "
        "is rank 1."
    )
    rank_to: int = strawberry.field(description="The last rank that wins this prize.")
    title: str = strawberry.field(description="The prize's name, e.g. 一等奖.")
    points: int = strawberry.field(description="Points each winner receives.")
    mall_reward_code: str | None = strawberry.field(
        description="Reward the mall issues (coupon, gift), identified by the mall's own code."
    )
    model: strawberry.Private[models.ContestPrize]

    @classmethod
    def of(cls, prize: models.ContestPrize) -> ContestPrize:
        return cls(
            rank_from=prize.rank_from,
            rank_to=prize.rank_to,
            title=prize.title,
            points=prize.points,
            mall_reward_code=prize.mall_reward_code,
            model=prize,
        )

    @strawberry.field(description="The MANUAL badge each winner receives; null when none.")
    async def badge(self, info: Info) -> Badge | None:
        if self.model.badge_id is None:
            return None
        badge = await context(info).loaders.badge_by_id.load(self.model.badge_id)
        return Badge.of(badge) if badge else None


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
    description="A member's entry in a contest (a topic), or their part in a challenge."
)
class ContestEntry(Node):
    vote_count: int = strawberry.field(description="Votes members gave it.")
    judge_score: float | None = strawberry.field(
        description="The judges' mean score, 0 to 100; null until a judge scores it."
    )
    created_at: datetime = strawberry.field(description="When the entry was made.")
    model: strawberry.Private[models.ContestEntry]

    @classmethod
    def of(cls, entry: models.ContestEntry) -> ContestEntry:
        return cls(
            id=strawberry.ID(encode_id("ContestEntry", entry.pk)),
            vote_count=entry.vote_count,
            judge_score=entry.judge_score,
            created_at=entry.created_at,
            model=entry,
        )

    @strawberry.field(description="The contest it was entered in.")
    async def contest(self, info: Info) -> Contest:
        contest = await context(info).loaders.contest_by_id.load(self.model.contest_id)
        assert contest is not None
        return Contest.of(contest)

    @strawberry.field(
        description="The entry's topic; for a challenge, the member's first check-in post."
    )
    async def topic(self, info: Info) -> Topic:
        topic = await context(info).loaders.topic_by_id.load(self.model.topic_id)
        assert topic is not None  # entries are listed only with their topics
        return Topic.of(topic)

    @strawberry.field(description="The member who entered.")
    async def author(self, info: Info) -> Member:
        member = await context(info).loaders.member_by_id.load(self.model.author_id)
        assert member is not None
        return Member.of(member)

    @strawberry.field(
        description="Rank among entries by the contest's ranking (live during voting)."
    )
    async def rank(self, info: Info) -> int | None:
        return await contest_resolvers.rank_loader(context(info)).load(self.model.pk)

    @strawberry.field(
        description="judgeWeight × judgeScore / 100 + (1 − judgeWeight) × votes / the most "
        "votes of a published entry: fixed when finalized, live until then; null for "
        "challenges and for entries not published."
    )
    async def final_score(self, info: Info) -> float | None:
        return await contest_resolvers.live_final_score(context(info), self.model)

    @strawberry.field(description="Whether the viewer voted for this entry.")
    async def viewer_has_voted(self, info: Info) -> bool:
        return await context(info).loaders.voted_by_viewer.load(self.model.pk)

    @strawberry.field(description="The prize it won; null when none (yet).")
    async def prize(self, info: Info) -> ContestPrize | None:
        if self.model.prize_id is None:
            return None
        prize = await context(info).loaders.contest_prize_by_id.load(self.model.prize_id)
        return ContestPrize.of(prize) if prize else None


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
            status=contest_resolvers.status_of(contest),
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
        ] = contest_resolvers.ContestEntrySort.VOTES,
    ) -> Connection[ContestEntry]:
        page = await contest_resolvers.entry_page(
            context(info),
            self.model,
            sort or contest_resolvers.ContestEntrySort.VOTES,
            first,
            after,
        )
        return connection(page, ContestEntry.of)

    @strawberry.field(
        description="Entries that won a prize, by final rank; for a challenge, the members who "
        "completed it, first finisher first. At most 100."
    )
    async def winners(self, info: Info) -> list[ContestEntry]:
        found = await contest_resolvers.winners(context(info), self.model)
        return [ContestEntry.of(entry) for entry in found]

    @strawberry.field(description="The viewer's own entry; null when none or anonymous.")
    async def viewer_entry(self, info: Info) -> ContestEntry | None:
        entry = await contest_resolvers.viewer_entry(context(info), self.model)
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


async def load_contest_entry(info: Info, entry_id: int) -> ContestEntry | None:
    entry = await contest_resolvers.visible_entry(context(info), entry_id)
    return ContestEntry.of(entry) if entry else None


@strawberry.input(description="A prize band of a new contest.")
class ContestPrizeInput:
    rank_from: int = strawberry.field(description="The first rank that wins it, from 1.")
    rank_to: int = strawberry.field(
        description="The last rank that wins it, at most 1000; bands may not overlap."
    )
    title: str = strawberry.field(description="The prize's name, 1 to 64 characters.")
    points: int | None = strawberry.field(
        default=0, description="Points each winner receives, 0 to 1,000,000."
    )
    badge_code: str | None = strawberry.field(
        default=None, description="A MANUAL badge each winner receives, e.g. CONTEST_WINNER."
    )
    mall_reward_code: str | None = strawberry.field(
        default=None,
        description="The mall's code of a reward to issue each winner, 1 to 64 characters.",
    )


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


@strawberry.input(description="An entry to a contest: the topic it is posted as.")
class SubmitContestEntryInput:
    contest_id: strawberry.ID = strawberry.field(description="The contest's global ID.")
    title: str = strawberry.field(description="1 to 120 characters.")
    body: str = strawberry.field(description="Markdown, 1 to 20,000 characters.")
    image_urls: list[str] | None = strawberry.field(
        default=None, description="At most 9, http or https."
    )
    product_skus: list[str] | None = strawberry.field(
        default=None, description="At most 20 SKUs of the mall's products it shows."
    )


@strawberry.type(description="What a contest mutation answers: the contest, or why not.")
class ContestPayload:
    contest: Contest | None = strawberry.field(
        default=None, description="The contest as it is now; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="What an entry mutation answers: the entry, or why not.")
class ContestEntryPayload:
    entry: ContestEntry | None = strawberry.field(
        default=None,
        description="The entry as it is now; null when errors is not empty, or when the entry "
        "is no longer shown.",
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="What challengeCheckIn answers: the progress and the post.")
class ChallengeCheckInPayload:
    progress: ChallengeProgress | None = strawberry.field(
        default=None, description="The member's progress after this check-in."
    )
    topic: Topic | None = strawberry.field(default=None, description="Today's check-in post.")
    errors: list[UserError] = strawberry.field(description=ERRORS)

    @classmethod
    def of(cls, result: tuple[Progress, models.Topic]) -> ChallengeCheckInPayload:
        progress, topic = result
        return cls(progress=ChallengeProgress.of(progress), topic=Topic.of(topic), errors=[])


ContestId = Annotated[strawberry.ID, strawberry.argument(description="The contest's global ID.")]
EntryId = Annotated[strawberry.ID, strawberry.argument(description="The entry's global ID.")]


def _entry(entry: models.ContestEntry | None) -> ContestEntry | None:
    return ContestEntry.of(entry) if entry else None


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

    @strawberry.mutation(
        description="Active members enter an OPEN contest with a topic in its board; one entry "
        "per member."
    )
    async def submit_contest_entry(
        self,
        info: Info,
        input: Annotated[
            SubmitContestEntryInput, strawberry.argument(description="The entry's topic.")
        ],
    ) -> ContestEntryPayload:
        data = EntryInput(
            contest_id=input.contest_id,
            title=input.title,
            body=input.body,
            image_urls=input.image_urls,
            product_skus=input.product_skus,
        )
        work = contest_resolvers.submit_entry(context(info), data)
        return await payload(ContestEntryPayload, work, _entry, "entry")

    @strawberry.mutation(
        description="Members vote for an entry while votes count: not their own, once per "
        "entry, at most votesPerMember in a contest (CONFLICT beyond)."
    )
    async def vote_contest_entry(self, info: Info, entry_id: EntryId) -> ContestEntryPayload:
        work = contest_resolvers.vote(context(info), entry_id, True)
        return await payload(ContestEntryPayload, work, _entry, "entry")

    @strawberry.mutation(
        description="Members take back a vote while votes count; without one, nothing changes."
    )
    async def unvote_contest_entry(self, info: Info, entry_id: EntryId) -> ContestEntryPayload:
        work = contest_resolvers.vote(context(info), entry_id, False)
        return await payload(ContestEntryPayload, work, _entry, "entry")

    @strawberry.mutation(description="Moderators.")
    async def score_contest_entry(
        self,
        info: Info,
        entry_id: EntryId,
        score: Annotated[
            float,
            strawberry.argument(description="0 to 100; scoring again replaces the judge's score."),
        ],
    ) -> ContestEntryPayload:
        work = contest_resolvers.score_entry(context(info), entry_id, score)
        return await payload(ContestEntryPayload, work, _entry, "entry")

    @strawberry.mutation(description="CHALLENGE contests: today's check-in post.")
    async def challenge_check_in(
        self,
        info: Info,
        contest_id: ContestId,
        body: Annotated[
            str, strawberry.argument(description="Today's post, Markdown, 1 to 20,000 characters.")
        ],
        image_urls: Annotated[
            list[str] | None, strawberry.argument(description="At most 9, http or https.")
        ] = None,
    ) -> ChallengeCheckInPayload:
        work = challenge_resolvers.check_in(context(info), contest_id, body, image_urls)
        return await payload(ChallengeCheckInPayload, work, ChallengeCheckInPayload.of)
