"""Live events for subscriptions, fanned out through Redis pub/sub to every process.

A write publishes a small message (ids and a kind, never content: subscribers read what
they may see themselves) on the channel of what changed, after its transaction commits.
Each process holds one `EventHub`: one pub/sub connection, subscribed to the channels its
open subscriptions follow (counted, so the hundredth reader of a topic costs nothing more),
and a queue per subscription. Messages are hints, not a log: a subscriber that falls more
than `QUEUE_SIZE` messages behind drops the oldest, and nothing is replayed after a
reconnect. When Redis is down, publishing logs and carries on, and subscriptions wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

import orjson
from redis.asyncio.client import PubSub

from mallforum.redis_store import REDIS_FAILURES, RedisStore

log = logging.getLogger(__name__)

QUEUE_SIZE = 100
RETRY_SECONDS = 1.0


class TopicEventKind(StrEnum):
    COMMENT_ADDED = "COMMENT_ADDED"
    LIKED = "LIKED"
    UPDATED = "UPDATED"
    HIDDEN = "HIDDEN"


def topic_channel(redis: RedisStore, topic_id: int) -> str:
    """Comments, likes, edits and hiding of one topic."""
    return f"{redis.keys.prefix}:events:{{t{topic_id}}}"


def contest_channel(redis: RedisStore, contest_id: int) -> str:
    """A contest's ranking changed (a vote, an unvote, a score, the final ranks)."""
    return f"{redis.keys.prefix}:events:{{c{contest_id}}}"


async def publish(redis: RedisStore, channel: str, message: dict[str, Any]) -> None:
    """Announce an event; call after the change commits. Never fails the write."""
    try:
        await redis.client.publish(channel, orjson.dumps(message))
    except REDIS_FAILURES as error:
        log.warning("event on %s not published: Redis did not answer (%s)", channel, error)


async def topic_changed(
    redis: RedisStore, topic_id: int, kind: TopicEventKind, comment_id: int | None = None
) -> None:
    """Tell the topic's subscribers, on every process; call after the change commits."""
    message = {"kind": kind.value, "topic": topic_id, "comment": comment_id}
    await publish(redis, topic_channel(redis, topic_id), message)


async def ranking_changed(redis: RedisStore, contest_id: int) -> None:
    """Tell the contest's ranking subscribers; call after the vote or score commits."""
    await publish(redis, contest_channel(redis, contest_id), {"contest": contest_id})


class EventHub:
    """This process's one pub/sub connection, shared by every open subscription."""

    def __init__(self, redis: RedisStore) -> None:
        self.redis = redis
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of the channel's messages while the block runs."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        first = channel not in self._queues
        self._queues.setdefault(channel, set()).add(queue)
        if first:
            await self._subscribe(channel)
        try:
            yield queue
        finally:
            readers = self._queues.get(channel, set())
            readers.discard(queue)
            if not readers:
                self._queues.pop(channel, None)
                with contextlib.suppress(*REDIS_FAILURES):
                    if self._pubsub is not None:
                        await self._pubsub.unsubscribe(channel)

    async def _subscribe(self, channel: str) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="event-hub")
        with contextlib.suppress(*REDIS_FAILURES):  # the reader subscribes on reconnect
            if self._pubsub is not None:
                await self._pubsub.subscribe(channel)

    async def _read(self) -> None:
        """Deliver messages to the queues; reconnect (and subscribe again) after a failure."""
        while self._queues:
            try:
                self._pubsub = self.redis.client.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(*self._queues)
                while self._queues:
                    message = await self._pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._deliver(message["channel"].decode(), message["data"])
            except REDIS_FAILURES as error:
                log.warning("event hub lost Redis (%s); retrying", error)
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                if self._pubsub is not None:
                    with contextlib.suppress(*REDIS_FAILURES):
                        await self._pubsub.aclose()
                    self._pubsub = None

    def _deliver(self, channel: str, data: bytes) -> None:
        message = orjson.loads(data)
        for queue in self._queues.get(channel, ()):
            if queue.full():
                queue.get_nowait()  # a slow reader loses the oldest hint, not the newest
            queue.put_nowait(message)

    async def close(self) -> None:
        self._queues.clear()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
