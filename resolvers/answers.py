"""Q&A (问答): the question's author, or a moderator, accepts one comment as the answer.

A question has at most one accepted answer (`Topic.accepted_answer_id`). Its author earns
ANSWER_ACCEPTED under the reference `Answer:<comment id>`, apart from what the comment
itself earned (`Comment:<id>`). Accepting another answer moves the reward: what the
previous answer earned under its `Answer:` reference is taken back (`growth.revoke`) and
the new one earns. Each acceptance of a comment earns under a key of its own
(`answer-accepted:<comment id>:<n>`, n = how many times it earned before), so an answer
accepted again after a switch earns again, once. Deleting the accepted comment withdraws
the acceptance and its reward (`resolvers.publishing.withdraw_acceptance`).

Locks are taken as every comment write takes them: the topic, then the comment, then the
members, in id order.
"""

from __future__ import annotations

from tortoise.expressions import Subquery

from mallforum import events
from mallforum.errors import ErrorCode, UserFailure
from mallforum.ids import decode_id
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from mallforum.transactions import atomic
from models import Comment, ContentStatus, PointReason, PointTransaction, Topic, TopicKind
from resolvers import badges, growth
from resolvers.comments import visible_comment
from resolvers.context import Context
from resolvers.publishing import answer_reference
from resolvers.topics import lock_topic


def _refusal(comment: Comment, topic: Topic) -> str | None:
    """Why the comment cannot be the question's answer, or None when it can."""
    if topic.kind != TopicKind.QUESTION:
        return "Only answers to questions can be accepted."
    if comment.status != ContentStatus.PUBLISHED:
        return "Only published comments can be accepted."
    if comment.author_id == topic.author_id:
        return "You cannot accept your own answer."
    return None


async def accept_answer(ctx: Context, comment_gid: str) -> Topic:
    """Mark a comment as its question's answer; accepting the accepted one changes nothing."""
    member = ctx.require_unbanned_member()
    comment_id = decode_id(comment_gid, "Comment", field=["commentId"])
    found = await visible_comment(ctx, comment_id)
    question = await ctx.loaders.topic_by_id.load(found.topic_id) if found else None
    if found is None or question is None or question.status != ContentStatus.PUBLISHED:
        raise UserFailure.of(ErrorCode.NOT_FOUND, "No comment has that id.", ["commentId"])
    if question.author_id != member.pk and not ctx.is_moderator:
        raise UserFailure.of(
            ErrorCode.FORBIDDEN, "Only the question's author or a moderator may accept answers."
        )
    async with atomic():
        topic = await lock_topic(found.topic_id)
        comment = await Comment.select_for_update().get(id=found.pk)
        refusal = _refusal(comment, topic)
        if refusal is not None:
            raise UserFailure.of(ErrorCode.INVALID, refusal, ["commentId"])
        if topic.status != ContentStatus.PUBLISHED:
            raise UserFailure.of(ErrorCode.NOT_FOUND, "No comment has that id.", ["commentId"])
        if topic.accepted_answer_id != comment.pk:
            previous = (
                await Comment.get_or_none(id=topic.accepted_answer_id)
                if topic.accepted_answer_id is not None
                else None
            )
            topic.accepted_answer_id = comment.pk
            await Topic.filter(id=topic.pk).update(accepted_answer_id=comment.pk)
            authors = {comment.author_id} | ({previous.author_id} if previous else set())
            for author_id in sorted(authors):
                await growth.lock_member(author_id)
            if previous is not None:
                reference = answer_reference(previous.pk)
                await growth.revoke(ctx.settings, ctx.redis, previous.author_id, reference)
            await _reward(ctx.settings, ctx.redis, comment)
    ctx.loaders.topic_by_id.prime(topic.pk, topic, force=True)  # the payload shows the answer
    await events.topic_changed(ctx.redis, topic.pk, events.TopicEventKind.UPDATED)
    return topic


async def _reward(settings: Settings, redis: RedisStore, answer: Comment) -> None:
    """The accepted answer's author earns, under a key of this acceptance, and may reach
    the answers_accepted badge; call with the author's row locked."""
    reference = answer_reference(answer.pk)
    earned_before = await PointTransaction.filter(
        member_id=answer.author_id, reason=PointReason.ANSWER_ACCEPTED, reference=reference
    ).count()
    author = await growth.lock_member(answer.author_id)
    key = f"answer-accepted:{answer.pk}:{earned_before}"
    await growth.earn(settings, redis, author, PointReason.ANSWER_ACCEPTED, key, reference)
    accepted = await Topic.filter(
        accepted_answer_id__in=Subquery(Comment.filter(author_id=author.pk).values("id"))
    ).count()
    await badges.evaluate(author.pk, "answers_accepted", accepted)
