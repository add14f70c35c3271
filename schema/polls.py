"""Polls (投票): a POLL topic's question and options, and members' ballots."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import models
from mallforum.ids import encode_id
from resolvers import polls as poll_resolvers
from schema.bindings import Info, context
from schema.payloads import ERRORS, UserError, payload
from schema.relay import Node

if TYPE_CHECKING:
    from schema.topics import Topic

TopicRef = Annotated["Topic", strawberry.lazy("schema.topics")]


@strawberry.type(description="One answer a poll offers.")
class PollOption:
    id: strawberry.ID = strawberry.field(
        description="Opaque global ID: what votePoll's optionIds name."
    )
    text: str = strawberry.field(description="The option as written, 1 to 100 characters.")
    vote_count: int = strawberry.field(description="How many ballots chose this option.")

    @classmethod
    def of(cls, option: models.PollOption) -> PollOption:
        return cls(
            id=strawberry.ID(encode_id("PollOption", option.pk)),
            text=option.text,
            vote_count=option.vote_count,
        )


@strawberry.type(description="A poll on a topic of kind POLL: one ballot per member.")
class Poll(Node):
    question: str = strawberry.field(description="What the poll asks, 1 to 200 characters.")
    max_choices: int = strawberry.field(description="How many options one ballot may choose.")
    closes_at: datetime | None = strawberry.field(
        description="When voting ends; null when the poll stays open."
    )
    total_voters: int = strawberry.field(description="How many members have voted.")
    model: strawberry.Private[models.Poll]

    @classmethod
    def of(cls, poll: models.Poll) -> Poll:
        return cls(
            id=strawberry.ID(encode_id("Poll", poll.pk)),
            question=poll.question,
            max_choices=poll.max_choices,
            closes_at=poll.closes_at,
            total_voters=poll.total_voters,
            model=poll,
        )

    @strawberry.field(description="The options, in the order the author wrote them.")
    async def options(self, info: Info) -> list[PollOption]:
        options = await context(info).loaders.options_by_poll_id.load(self.model.pk)
        return [PollOption.of(option) for option in options]

    @strawberry.field(
        description="Option ids the viewer chose; empty when the viewer has not voted."
    )
    async def viewer_choices(self, info: Info) -> list[strawberry.ID]:
        ballot = await context(info).loaders.ballot_of_viewer_by_poll_id.load(self.model.pk)
        chosen = ballot.option_ids if ballot else []
        return [strawberry.ID(encode_id("PollOption", option_id)) for option_id in chosen]

    @strawberry.field(description="Whether closesAt has passed: votePoll answers CLOSED.")
    def is_closed(self) -> bool:
        return poll_resolvers.is_closed(self.model)

    @strawberry.field(description="The topic the poll is on.")
    async def topic(self, info: Info) -> TopicRef:
        from schema.topics import Topic  # import here: schema.topics imports this module

        topic = await context(info).loaders.topic_by_id.load(self.model.topic_id)
        assert topic is not None
        return Topic.of(topic)


async def load_poll(info: Info, poll_id: int) -> Poll | None:
    poll = await poll_resolvers.visible_poll(context(info), poll_id)
    return Poll.of(poll) if poll else None


@strawberry.input(description="The poll of a new topic; the topic becomes of kind POLL.")
class CreatePollInput:
    question: str = strawberry.field(description="1 to 200 characters.")
    options: list[str] = strawberry.field(
        description="2 to 20 different options, 1 to 100 characters each, in the order shown."
    )
    max_choices: int | None = strawberry.field(
        default=1, description="How many options one ballot may choose, 1 to the options' number."
    )
    closes_at: datetime | None = strawberry.field(
        default=None, description="When voting ends, in the future; null: it stays open."
    )

    def to_input(self) -> poll_resolvers.PollInput:
        return poll_resolvers.PollInput(
            question=self.question,
            options=self.options,
            max_choices=1 if self.max_choices is None else self.max_choices,
            closes_at=self.closes_at,
        )


@strawberry.type(description="What votePoll answers: the poll with its new counts, or why not.")
class PollPayload:
    poll: Poll | None = strawberry.field(
        default=None, description="The poll as it is now; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class PollMutations:
    @strawberry.mutation(
        description="Signed-in members who are not banned cast their one ballot in a poll."
    )
    async def vote_poll(
        self,
        info: Info,
        poll_id: Annotated[strawberry.ID, strawberry.argument(description="The poll's global ID.")],
        option_ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description="1 to maxChoices different options of this poll."),
        ],
    ) -> PollPayload:
        work = poll_resolvers.vote_poll(context(info), poll_id, list(option_ids))
        return await payload(PollPayload, work, Poll.of, "poll")
