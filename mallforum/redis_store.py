"""Redis: counters, rate windows and sketches. Fast and rebuildable; PostgreSQL is the truth.

With no `MALLFORUM_REDIS_URL`, an in-process stand-in (fakeredis) serves, so the service
runs with nothing installed. Every key is named here, under one prefix, with the part that
multi-key commands share in a `{hash tag}` so the names are Redis Cluster safe.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from mallforum import metrics
from mallforum.settings import Settings

log = logging.getLogger(__name__)

#: What a Redis call raises when Redis does not answer, or not in time: the callers answer
#: from PostgreSQL, or note the write as missed for the reconcile.
REDIS_FAILURES = (RedisError, OSError, TimeoutError)

T = TypeVar("T")

#: Topics' view counters are spread over this many hash tags (Redis Cluster slots).
VIEW_SHARDS = 16


def view_shard(topic_id: int) -> int:
    """The shard of a topic's view counters: its readers and its pending views share a tag."""
    return topic_id % VIEW_SHARDS


class RedisKeys:
    """The key schema (listed in the README)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    # ------------------------------------------------ counters (mirrors: views, tallies, hot...)

    def topic_readers(self, topic_id: int, day: date) -> str:
        """HyperLogLog of who read the topic on `day` (members and anonymous addresses):
        the first read per reader per day counts. Expires two days after its last reader."""
        return f"{self.prefix}:views:{{v{view_shard(topic_id)}}}:t{topic_id}:{day.isoformat()}"

    def topic_readers_counted(self, topic_id: int, day: date) -> str:
        """How many of `topic_readers` have been added to the pending views so far (the
        HyperLogLog's estimate when last counted); expires with it."""
        return f"{self.topic_readers(topic_id, day)}:counted"

    def pending_views(self, shard: int) -> str:
        """Hash topic id → views counted in Redis but not yet added to `topic.view_count`;
        drained by the flush. One per shard (`view_shard`), tagged like its topics' readers."""
        return f"{self.prefix}:views:{{v{shard}}}:pending"

    def topic_tally(self, topic_id: int) -> str:
        """Hash `likes`, `comments`: a copy of the topic row's like and comment counts.
        Expires a week after it was last written; rebuilt from the row when missing."""
        return f"{self.prefix}:tally:{{t{topic_id}}}"

    def comment_likes(self, topic_id: int) -> str:
        """Hash comment id → like count, for the comments of one topic (a copy of each
        comment row's count; a missing field is read from the row). Expires like a tally."""
        return f"{self.prefix}:tally:{{t{topic_id}}}:comment_likes"

    def board_hot(self, board_id: int) -> str:
        """Sorted set of the board's published topics (ids zero-padded to 20 digits) scored by
        their HOT score, plus the member `built` scored -inf once it holds every topic."""
        return f"{self.prefix}:hot:{{b{board_id}}}"

    def board_hot_rebuild(self, board_id: int) -> str:
        """Held (SET NX PX) by the one reader rebuilding the board's HOT set."""
        return f"{self.prefix}:hot:{{b{board_id}}}:rebuild"

    def board_hot_touched(self, board_id: int) -> str:
        """Set of the topics whose HOT entry changed while the set was being rebuilt: the
        rebuild keeps their live entries rather than what it read before they changed."""
        return f"{self.prefix}:hot:{{b{board_id}}}:touched"

    def board_hot_draft(self, board_id: int, token: str) -> str:
        """The HOT set a rebuild is writing; renamed over `board_hot` when complete."""
        return f"{self.prefix}:hot:{{b{board_id}}}:draft:{token}"

    def active_members(self, day: date) -> str:
        """HyperLogLog of the members active on `day` (a topic, comment, like or check-in).
        All days share one hash tag, so PFCOUNT of several days (weekly actives) is one call."""
        return f"{self.prefix}:active:{{active}}:{day.isoformat()}"

    def active_members_built(self, day: date) -> str:
        """Set once `active_members(day)` holds every member active that day (rebuilt from
        the activity rows when missing)."""
        return f"{self.prefix}:active:{{active}}:{day.isoformat()}:built"

    def active_members_rebuild(self, day: date) -> str:
        """Held (SET NX PX) by the one reader rebuilding a day's active members."""
        return f"{self.prefix}:active:{{active}}:{day.isoformat()}:rebuild"

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

    # ------------------------------------------------ leaderboards (mirrors.leaderboards)

    def leaderboard(self, kind: str, scope: str, period: str) -> str:
        """Sorted set of the members on one leaderboard (`kind`: xp, likes or posts; `scope`:
        all, or b<board id>; `period`: d2024-03-05, w2024-W10, m2024-03 or all): member ids
        zero-padded to 20 digits, scored by `-total × 2^k + ticks` (mirrors.leaderboards),
        so ZRANGE from the lowest score is the ranking; plus the member `~built:<snapshot>`
        scored +inf, naming the PostgreSQL snapshot it was built from. Without it the
        leaderboard is cold: updates skip it and the next read rebuilds it. Expires a day
        after its period ends; the all-time ones never do."""
        return f"{self.prefix}:lb:{{{kind}:{scope}:{period}}}"

    def leaderboard_build(self, kind: str, scope: str, period: str) -> str:
        """Held (SET NX PX) by the one reader rebuilding the leaderboard; meanwhile updates
        queue in its backlog."""
        return f"{self.leaderboard(kind, scope, period)}:build"

    def leaderboard_backlog(self, kind: str, scope: str, period: str) -> str:
        """List of the updates that arrived while the leaderboard was being rebuilt, applied
        when it is done (those its snapshot did not hold yet)."""
        return f"{self.leaderboard(kind, scope, period)}:backlog"

    def leaderboard_synced(self, kind: str, scope: str, period: str, member: str) -> str:
        """The PostgreSQL snapshot a member's entry was last rewritten from (a resync, after
        a removal or a ban), so that a late update already in it is not counted twice.
        Kept ten minutes."""
        return f"{self.leaderboard(kind, scope, period)}:synced:{member}"

    def leaderboard_draft(self, kind: str, scope: str, period: str, token: str) -> str:
        """The sorted set a rebuild writes; renamed over the leaderboard when complete."""
        return f"{self.leaderboard(kind, scope, period)}:draft:{token}"

    def persisted_texts(self) -> str:
        """Hash SHA-256 → query text: the automatic persisted queries (mallforum.persisted).
        Shares its tag with `persisted_used`: one script writes both."""
        return f"{self.prefix}:apq:{{apq}}:texts"

    def persisted_used(self) -> str:
        """Sorted set of the persisted queries' hashes by when each was last registered or
        read (ms): beyond MALLFORUM_APQ_MAX_ENTRIES the oldest are dropped with their text."""
        return f"{self.prefix}:apq:{{apq}}:used"

    def reconcile_lock(self) -> str:
        """Held (SET NX PX) by the one process rebuilding Redis from PostgreSQL after an
        outage (`mirrors.reconcile`)."""
        return f"{self.prefix}:reconcile:lock"

    def reconciled_at(self) -> str:
        """When the last such rebuild began (Unix seconds): a process whose missed writes
        all came before it has nothing left to reconcile."""
        return f"{self.prefix}:reconcile:at"


class CountedRetry(Retry):
    """redis-py's retry policy, counting every failed attempt (`mallforum_redis_failures`):
    every command, pipeline, script, pub/sub read and connection passes through it."""

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        async def counted(error: Exception, *failures: int) -> Any:
            metrics.REDIS_FAILURES.labels(type(error).__name__).inc()
            return await fail(error, *failures)

        return await super().call_with_retry(do, counted, is_retryable, with_failure_count)


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
            retry=CountedRetry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        )
        return cls(client, prefix)

    async def answers(self) -> bool:
        try:
            return bool(await self.client.ping())
        except REDIS_FAILURES:
            return False

    async def close(self) -> None:
        await self.client.aclose()
