"""Rate limits ("flooding"): how many writes of each kind a member may make in sliding windows.

Each member has, per kind, a sorted set in Redis of the times of their recent writes. One Lua
script drops the times older than the longest window, counts the times inside each window
and, only if every window has room, adds this write: the check and the count are one atomic
step, so thirty concurrent comments get exactly as many through as the limit allows. A write
over a limit raises `RateLimited` with the time until the write that fills the window leaves
it. A refused attempt is not counted, so a member who keeps retrying gets back in as soon as
the window has room; a write that passes the limits and is then refused by a later hook
counts, as an attempt to flood.

New members (level 0, joined less than three days ago) have stricter limits; moderators and
admins have none. Comments may come faster than topics: a reply takes seconds to write.
Nicknames are not limited: the mall owns them and limits their changes itself. Times come
from `mallforum.clock`, not Redis' TIME, so tests can move them.

When Redis does not answer (or not within `redis_timeout_ms`), the write goes through and
the failure is logged (`fail_open`); with `fail_open=False` the error reaches the stage,
whose fail policy decides.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from mallforum.clock import now
from mallforum.redis_store import RedisStore
from moderation.pipeline import ContentDraft, RateLimited, Verdict

log = logging.getLogger(__name__)

#: KEYS[1]: the member's write times for one kind. ARGV: now (ms), this write's id, then
#: window (ms) and limit pairs. Returns 0 when the write is counted, else the milliseconds
#: until every window has room again.
SLIDING_WINDOWS = """
local now = tonumber(ARGV[1])
local longest = 0
for i = 3, #ARGV, 2 do
  longest = math.max(longest, tonumber(ARGV[i]))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local wait = 0
for i = 3, #ARGV, 2 do
  local window, limit = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local since = '(' .. (now - window)
  local counted = redis.call('ZCOUNT', KEYS[1], since, '+inf')
  if counted >= limit then
    local filling = redis.call(
      'ZRANGEBYSCORE', KEYS[1], since, '+inf', 'WITHSCORES', 'LIMIT', counted - limit, 1)
    wait = math.max(wait, tonumber(filling[2]) + window - now)
  end
end
if wait > 0 then
  return math.ceil(wait)
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], longest)
return 0
"""


@dataclass(frozen=True)
class Window:
    """At most `limit` writes in any `seconds`."""

    seconds: float
    limit: int


@dataclass(frozen=True)
class KindLimits:
    """The windows of one kind of write, for established and for new members."""

    member: tuple[Window, ...]
    new_member: tuple[Window, ...]


def _windows(*pairs: tuple[float, int]) -> tuple[Window, ...]:
    return tuple(Window(seconds, limit) for seconds, limit in pairs)


#: Per kind; "*" is every kind not listed, and a kind with no windows is not limited.
DEFAULT_LIMITS: dict[str, KindLimits] = {
    "topic": KindLimits(_windows((60, 3), (3600, 20)), _windows((60, 1), (3600, 5))),
    "comment": KindLimits(_windows((60, 10), (3600, 120)), _windows((60, 3), (3600, 30))),
    # Edits, once the resolvers screen them as their own kind: fixing a typo is no flood.
    "topic_edit": KindLimits(_windows((60, 10), (3600, 60)), _windows((60, 5), (3600, 20))),
    "nickname": KindLimits((), ()),
    "*": KindLimits(_windows((60, 5), (3600, 60)), _windows((60, 2), (3600, 20))),
}
#: Kinds that are topics by another name: they count in the topics' windows.
COUNTED_AS = {"poll": "topic", "contest_entry": "topic"}


class FloodHook:
    """Refuses a write over the author's rate limits with `RateLimited` (module docstring)."""

    name = "flooding"

    def __init__(
        self,
        redis: RedisStore,
        limits: Mapping[str, Mapping[str, Sequence[Sequence[float]]] | None] | None = None,
        fail_open: bool = True,
        redis_timeout_ms: int = 250,
    ) -> None:
        """`limits` replaces the defaults of the kinds it names, e.g. `{"comment": {"member":
        [[60, 10], [3600, 120]], "new_member": [[60, 3]]}}` (seconds, writes)."""
        self.redis = redis
        self.limits = {**DEFAULT_LIMITS, **_parse_limits(limits or {})}
        self.fail_open = fail_open
        self.redis_timeout = redis_timeout_ms / 1000
        self._script = redis.client.register_script(SLIDING_WINDOWS)

    def windows(self, draft: ContentDraft) -> tuple[Window, ...]:
        """The windows that apply to the draft's author and kind; none for staff."""
        if draft.by_staff or draft.author.pk is None:
            return ()
        limits = self.limits.get(_bucket(draft.kind), self.limits["*"])
        return limits.new_member if draft.by_new_member else limits.member

    async def review(self, draft: ContentDraft) -> Verdict:
        windows = self.windows(draft)
        if not windows:
            return Verdict()
        key = self.redis.keys.flood_writes(draft.author.pk, _bucket(draft.kind))
        args: list[Any] = [math.floor(now().timestamp() * 1000), secrets.token_hex(8)]
        for window in windows:
            args += [round(window.seconds * 1000), window.limit]
        try:
            async with asyncio.timeout(self.redis_timeout):
                wait_ms = int(await self._script(keys=[key], args=args))
        except (RedisError, OSError, TimeoutError) as error:
            if not self.fail_open:
                raise
            log.warning("rate limits not applied: Redis did not answer (%r)", error)
            return Verdict()
        if wait_ms:
            raise RateLimited(
                wait_ms / 1000, f"{draft.kind}: over the limit of {_describe(windows)}"
            )
        return Verdict()


def _bucket(kind: str) -> str:
    return COUNTED_AS.get(kind, kind)


def _describe(windows: Sequence[Window]) -> str:
    return ", ".join(f"{w.limit} in {w.seconds:g} s" for w in windows)


def _parse_limits(
    configured: Mapping[str, Mapping[str, Sequence[Sequence[float]]] | None],
) -> dict[str, KindLimits]:
    """The `limits` option as KindLimits; a malformed entry stops start-up with its kind."""
    parsed = {}
    for kind, by_standing in configured.items():
        try:
            unknown = set(by_standing or {}) - {"member", "new_member"}
            if unknown:
                raise ValueError(f"unknown standing {sorted(unknown)}")
            member, new_member = (
                _windows(*((float(s), int(n)) for s, n in (by_standing or {}).get(standing, ())))
                for standing in ("member", "new_member")
            )
        except (TypeError, ValueError) as error:
            raise ValueError(f"flooding: limits of {kind!r}: {error}") from error
        if any(w.seconds <= 0 or w.limit < 1 for w in (*member, *new_member)):
            raise ValueError(f"flooding: limits of {kind!r} need seconds > 0 and limit >= 1")
        parsed[kind] = KindLimits(member, new_member)
    return parsed
