"""Q&A (问答): accepting a comment as a question's answer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import answers as answer_resolvers
from schema.bindings import Info, context
from schema.payloads import payload
from schema.topics import Topic, TopicPayload


@strawberry.type
class AnswerMutations:
    @strawberry.mutation(
        description="The question's author (or a moderator) marks a comment as the accepted answer."
    )
    async def accept_answer(
        self,
        info: Info,
        comment_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="A published comment on a QUESTION topic, by someone other than "
                "the question's author; it replaces any answer accepted before."
            ),
        ],
    ) -> TopicPayload:
        work = answer_resolvers.accept_answer(context(info), comment_id)
        return await payload(TopicPayload, work, Topic.of, "topic")
