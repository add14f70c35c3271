"""What follows when a topic or comment is published or taken down (held for review, hidden,
deleted): one function, `change_status`, owns it for every writer, the topic and comment
writes and the moderators' decisions alike.

In the caller's transaction, with the topic (and the comment) locked: the board's topic
count and the topic's feed rows, or the topic's and thread's comment counts; the author's
likes received; what publishing earns (once per topic or comment) and deleting takes back,
with the acceptance of a deleted answer; the leaderboards. Once the transaction commits:
the topic's counts and HOT entry in Redis, and the live event of the topic's subscribers
(UPDATED when a topic is published, HIDDEN when it is taken down, COMMENT_ADDED when a
comment is published). New content is stored held for review and given the status the
moderation pipeline decided through the same function.
"""

from __future__ import annotations

from functools import partial

from tortoise.expressions import F

from mallforum import events
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from mallforum.transactions import after_commit
from mirrors import tallies
from mirrors.leaderboards import updates as leaderboards
from models import Board, Comment, ContentStatus, Topic
from resolvers import growth
from resolvers.feeds import publish_listings, save_counters, withdraw_listings


async def change_status(
    settings: Settings,
    redis: RedisStore,
    topic: Topic,
    status: ContentStatus,
    comment: Comment | None = None,
) -> None:
    """Give a locked topic, or its locked `comment`, the status, with all that follows."""
    item: Topic | Comment = topic if comment is None else comment
    if item.status == status:
        return
    was_published = item.status == ContentStatus.PUBLISHED
    is_published = status == ContentStatus.PUBLISHED
    item.status = status
    await type(item).filter(id=item.pk).update(status=status)
    if was_published != is_published:
        if comment is None:
            await _list(topic, is_published)
        else:
            await _count(topic, comment, 1 if is_published else -1)
        await growth.likes_shown(item, is_published)
        if is_published and comment is None:
            await growth.topic_published(settings, redis, topic)
        elif is_published and comment is not None:
            await growth.comment_published(settings, redis, comment)
        await leaderboards.content_shown(settings, redis, item, is_published)
        await tallies.topic_changed(redis, topic.pk)  # its counts and HOT entry
        await after_commit(partial(_announce, redis, topic, comment, is_published))
    if status == ContentStatus.DELETED:
        await growth.revoke(settings, redis, item.author_id, f"{type(item).__name__}:{item.pk}")
        if comment is not None:
            await withdraw_acceptance(settings, redis, topic, comment)


async def _list(topic: Topic, listed: bool) -> None:
    """Into (or out of) its board's count and every feed it belongs in."""
    delta = 1 if listed else -1
    await Board.filter(id=topic.board_id).update(topic_count=F("topic_count") + delta)
    if listed:
        await publish_listings(topic, await Board.get(id=topic.board_id))
    else:
        await withdraw_listings(topic)


async def _count(topic: Topic, comment: Comment, delta: int) -> None:
    """Add a published comment to (or take it from) its locked topic's and thread's counts."""
    topic.comment_count += delta
    if delta > 0:  # a comment restored by a moderator does not take the activity back
        topic.last_activity_at = max(topic.last_activity_at, comment.created_at)
    await save_counters(topic)
    if comment.root_id is not None:
        await Comment.filter(id=comment.root_id).update(reply_count=F("reply_count") + delta)


async def _announce(
    redis: RedisStore, topic: Topic, comment: Comment | None, published: bool
) -> None:
    """Tell the topic's subscribers, on every process, what the committed change shows."""
    if comment is None:
        kind = events.TopicEventKind.UPDATED if published else events.TopicEventKind.HIDDEN
        await events.topic_changed(redis, topic.pk, kind)
    elif published:
        added = events.TopicEventKind.COMMENT_ADDED
        await events.topic_changed(redis, topic.pk, added, comment.pk)


def answer_reference(comment_id: int) -> str:
    """What accepting a comment as its question's answer earns is recorded under this
    reference, apart from what the comment itself earns (`Comment:<id>`)."""
    return f"Answer:{comment_id}"


async def withdraw_acceptance(
    settings: Settings, redis: RedisStore, topic: Topic, comment: Comment
) -> None:
    """A deleted comment is no longer its question's answer: what accepting it earned is
    taken back. Call with the topic and the comment locked."""
    if topic.accepted_answer_id != comment.pk:
        return
    topic.accepted_answer_id = None
    await Topic.filter(id=topic.pk).update(accepted_answer_id=None)
    await growth.revoke(settings, redis, comment.author_id, answer_reference(comment.pk))
