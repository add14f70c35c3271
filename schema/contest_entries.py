"""A contest's entries (参赛作品), members' votes and judges' scores, and challenge check-ins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

import models
from mallforum.ids import encode_id
from resolvers import challenges as challenge_resolvers
from resolvers import contest_entries as entry_resolvers
from resolvers.challenges import Progress
from resolvers.contest_entries import EntryInput
from schema.bindings import Info, context
from schema.contest_prizes import ContestPrize
from schema.contests import ChallengeProgress, Contest, ContestId
from schema.members import Member
from schema.payloads import ERRORS, UserError, payload
from schema.relay import Node
from schema.topics import Topic


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
        return await context(info).loaders.contest_rank.load(self.model.pk)

    @strawberry.field(
        description="judgeWeight × judgeScore / 100 + (1 − judgeWeight) × votes / the most "
        "votes of a published entry: fixed when finalized, live until then; null for "
        "challenges and for entries not published."
    )
    async def final_score(self, info: Info) -> float | None:
        return await entry_resolvers.live_final_score(context(info), self.model)

    @strawberry.field(description="Whether the viewer voted for this entry.")
    async def viewer_has_voted(self, info: Info) -> bool:
        return await context(info).loaders.voted_by_viewer.load(self.model.pk)

    @strawberry.field(description="The prize it won; null when none (yet).")
    async def prize(self, info: Info) -> ContestPrize | None:
        if self.model.prize_id is None:
            return None
        prize = await context(info).loaders.contest_prize_by_id.load(self.model.prize_id)
        return ContestPrize.of(prize) if prize else None


async def load_contest_entry(info: Info, entry_id: int) -> ContestEntry | None:
    entry = await entry_resolvers.visible_entry(context(info), entry_id)
    return ContestEntry.of(entry) if entry else None


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


EntryId = Annotated[strawberry.ID, strawberry.argument(description="The entry's global ID.")]


def _entry(entry: models.ContestEntry | None) -> ContestEntry | None:
    return ContestEntry.of(entry) if entry else None


@strawberry.type
class ContestEntryMutations:
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
        work = entry_resolvers.submit_entry(context(info), data)
        return await payload(ContestEntryPayload, work, _entry, "entry")

    @strawberry.mutation(
        description="Members vote for an entry while votes count: not their own, once per "
        "entry, at most votesPerMember in a contest (CONFLICT beyond)."
    )
    async def vote_contest_entry(self, info: Info, entry_id: EntryId) -> ContestEntryPayload:
        work = entry_resolvers.vote(context(info), entry_id, True)
        return await payload(ContestEntryPayload, work, _entry, "entry")

    @strawberry.mutation(
        description="Members take back a vote while votes count; without one, nothing changes."
    )
    async def unvote_contest_entry(self, info: Info, entry_id: EntryId) -> ContestEntryPayload:
        work = entry_resolvers.vote(context(info), entry_id, False)
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
        work = entry_resolvers.score_entry(context(info), entry_id, score)
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
