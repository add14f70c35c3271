"""Redis: counters, rate windows and sketches. Fast and rebuildable; PostgreSQL is the truth.

With no `MALLFORUM_REDIS_URL`, an in-process stand-in (fakeredis) serves, so the service
runs with nothing installed. Every key is named here, under one prefix, with the part that
multi-key commands share in a `{hash tag}` so the names are Redis Cluster safe.
"""

from __future__ import annotations

import logging
from datetime import date

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from mallforum.settings import Settings

log = logging.getLogger(__name__)

VIEW_WINDOW_SECONDS = 26 * 3600


class RedisKeys:
    """The key schema (listed in the README)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def topic_viewer(self, topic_id: int, viewer: str, day: date) -> str:
        """Set while `viewer` has been counted as a viewer of the topic on `day`."""
        return f"{self.prefix}:view:{{t{topic_id}}}:{day.isoformat()}:{viewer}"

    def flood_writes(self, member_id: int, kind: str) -> str:
        """Sorted set of the member's recent writes of `kind` (topic, comment...), scored by
        the time of each in milliseconds: the rate limits' sliding windows."""
        return f"{self.prefix}:flood:{{m{member_id}}}:{kind}"

    def duplicate_fingerprint(self, record: str) -> str:
        """One fingerprinted text: its author, whether they were a new member, and its
        MinHash signature. The duplicates keys share one hash tag: a text's bands are read
        and written by one script, and its candidates fetched by one MGET."""
        return f"{self.prefix}:dup:{{dup}}:fp:{record}"

    def duplicate_band(self, band: int, value: str) -> str:
        """Sorted set of the fingerprinted texts whose signature has `value` in `band`
        (locality-sensitive hashing), scored by the time of each in milliseconds."""
        return f"{self.prefix}:dup:{{dup}}:band:{band}:{value}"

    def contest_ranking(self, contest_id: int) -> str:
        """Sorted set of a contest's entries (members: entry ids zero-padded to 20 digits)
        scored by minus their votes, so 1 + ZRANK is the live rank with ties to the earlier
        entry. Rebuilt from the rows when missing; expires an hour after each rebuild."""
        return f"{self.prefix}:contest:{{c{contest_id}}}:ranking"

    def contest_ranking_rebuild(self, contest_id: int) -> str:
        """Held (SET NX PX) by the one reader rebuilding the contest's ranking."""
        return f"{self.prefix}:contest:{{c{contest_id}}}:rebuild"


class RedisStore:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.keys = RedisKeys(prefix)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisStore:
        if settings.redis_url:
            return cls.connect(settings.redis_url, settings.redis_prefix)
        import fakeredis

        return cls(fakeredis.FakeAsyncRedis(), settings.redis_prefix)

    @classmethod
    def connect(cls, url: str, prefix: str) -> RedisStore:
        """A client that gives up fast: one quick retry (a connection dropped while idle),
        not redis-py's ten with backoff, so that when Redis is down every request that
        touches it still answers in well under a second, without it."""
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=0.5,
            socket_timeout=2,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        )
        return cls(client, prefix)

    async def answers(self) -> bool:
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError):
            return False

    async def first_view_today(self, topic_id: int, viewer: str, day: date) -> bool:
        """True the first time `viewer` views the topic on `day` (then the view counts).

        When Redis does not answer the view is not counted: a view count may be low, never
        an error for the reader.
        """
        key = self.keys.topic_viewer(topic_id, viewer, day)
        try:
            return bool(await self.client.set(key, 1, nx=True, ex=VIEW_WINDOW_SECONDS))
        except (RedisError, OSError) as error:
            log.warning("view of topic %s not counted: Redis did not answer (%s)", topic_id, error)
            return False

    async def close(self) -> None:
        await self.client.aclose()
