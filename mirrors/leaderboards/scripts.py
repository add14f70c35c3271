"""The leaderboards' Redis scripts (Lua, run by EVALSHA, pipelined) and the built marker."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from mallforum.redis_store import RedisKeys
from mirrors.leaderboards.periods import Leaderboard

#: A Redis call of a write or a read gives up after this long (the rows answer instead).
REDIS_TIMEOUT_SECONDS = 0.5
#: How long one reader may hold a leaderboard's rebuild; another may take over after that.
BUILD_LOCK_MS = 60_000


@dataclass(frozen=True)
class Lua:
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


#: seen(snapshot, xid): whether transaction `xid` had committed when the rows were read in
#: `snapshot` (PostgreSQL's "xmin:xmax:xip,..."); '-' or '' know nothing: not seen.
#: add(...): a member's total moves by `delta` for a row made at `ticks`: the later time stays.
_SHARED = """
local function seen(snapshot, xid)
  if xid == '-' or snapshot == '' then return false end
  local xmin, xmax, xips = string.match(snapshot, '^(%d+):(%d+):(.*)$')
  if not xmin then return false end
  local x = tonumber(xid)
  if x < tonumber(xmin) then return true end
  if x >= tonumber(xmax) then return false end
  for xip in string.gmatch(xips, '%d+') do
    if tonumber(xip) == x then return false end
  end
  return true
end

local function add(key, unit, member, delta, ticks)
  local total, at = 0, ticks
  local old = redis.call('ZSCORE', key, member)
  if old then
    local score = tonumber(old)
    local q = math.floor(score / unit)
    total = -q
    if score - q * unit > at then at = score - q * unit end
  end
  redis.call('ZADD', key, -(total + delta) * unit + at, member)
end
"""

#: The member that marks a leaderboard as built, with the snapshot it was built from; its
#: score is +inf, after every member, so it never counts in a rank.
BUILT = "~built:"
_BUILT_LUA = "redis.call('ZRANGE', KEYS[1], '+inf', '+inf', 'BYSCORE', 'LIMIT', 0, 1)[1]"

#: KEYS: leaderboard, build lock, backlog, the member's resync snapshot. ARGV: unit, xid,
#: member, delta, ticks. Being rebuilt: queued. Cold (not built): skipped. Built: added,
#: unless the rebuild's or the member's last resync's snapshot already holds the change.
ADD = Lua(
    _SHARED
    + f"""
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RPUSH', KEYS[3], 'add ' .. table.concat(ARGV, ' ', 2, 5))
  redis.call('PEXPIRE', KEYS[3], {BUILD_LOCK_MS})
  return 2
end
local built = {_BUILT_LUA}
if not built then return 0 end
if seen(string.sub(built, {len(BUILT) + 1}), ARGV[2]) then return 3 end
local synced = redis.call('GET', KEYS[4])
if synced and seen(synced, ARGV[2]) then return 3 end
add(KEYS[1], tonumber(ARGV[1]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]))
return 1
"""
)

#: KEYS: leaderboard, build lock, backlog, the member's resync snapshot. ARGV: unit,
#: member, the built marker and the member's score as read before the rows were (score ''
#: when absent), the total and ticks the rows give (ticks '': no rows), their snapshot, how
#: long to keep it (ms). Writes the member as the rows say, unless the leaderboard or the
#: member changed since they were read (-1: read again). Being rebuilt: queued for the
#: rebuild to resync. Cold: nothing to do.
RESYNC = Lua(
    f"""
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RPUSH', KEYS[3], 'resync ' .. ARGV[2])
  redis.call('PEXPIRE', KEYS[3], {BUILD_LOCK_MS})
  return 2
end
local built = {_BUILT_LUA}
if not built then return 0 end
if built ~= ARGV[3] then return -1 end
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if ARGV[4] == '' then
  if score then return -1 end
elseif not score or tonumber(score) ~= tonumber(ARGV[4]) then
  return -1
end
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[1], ARGV[2])
else
  redis.call('ZADD', KEYS[1], -tonumber(ARGV[5]) * tonumber(ARGV[1]) + tonumber(ARGV[6]), ARGV[2])
end
redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[8])
return 1
"""
)

#: KEYS: leaderboard, build lock. ARGV: token, lock ms. 'built' when the leaderboard is,
#: 'taken' when this reader now holds its rebuild, 'busy' when another one does.
TAKE = Lua(
    f"""
if {_BUILT_LUA} then return 'built' end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'taken' end
return 'busy'
"""
)

#: KEYS: leaderboard, build lock, backlog, draft. ARGV: unit, token, snapshot, ttl ms
#: ('' never). Puts the draft in place, adds the queued changes its snapshot did not hold
#: and lets go of the lock; answers the members queued for a resync, for the rebuilder to
#: do, or -1 (changing nothing) when the lock was lost meanwhile.
FINISH = Lua(
    _SHARED
    + """
if redis.call('GET', KEYS[2]) ~= ARGV[2] then
  redis.call('DEL', KEYS[4])
  return -1
end
redis.call('RENAME', KEYS[4], KEYS[1])
local unit = tonumber(ARGV[1])
local resync = {}
for _, entry in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  local op, xid, member, delta, ticks = string.match(entry, '^(%S+) (%S+) ?(%S*) ?(%S*) ?(%S*)$')
  if op == 'add' and not seen(ARGV[3], xid) then
    add(KEYS[1], unit, member, tonumber(delta), tonumber(ticks))
  elseif op == 'resync' then
    resync[#resync + 1] = xid
  end
end
redis.call('DEL', KEYS[3], KEYS[2])
local ttl = tonumber(ARGV[4])
if ttl then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return resync
"""
)

#: KEYS: a draft. ARGV: "score member score member ...". ZADDs them, a few thousand at a time
#: (a Lua call takes at most 8,000 arguments).
LOAD = Lua(
    """
local args = {}
for score, member in string.gmatch(ARGV[1], '(%S+) (%S+)') do
  args[#args + 1] = score
  args[#args + 1] = member
  if #args >= 4000 then
    redis.call('ZADD', KEYS[1], unpack(args))
    args = {}
  end
end
if #args > 0 then redis.call('ZADD', KEYS[1], unpack(args)) end
return 1
"""
)


async def run_scripts(
    client: Redis, script: Lua, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]
) -> list[Any]:
    """EVALSHA each call, pipelined in one round trip; loads the script and retries the
    calls that found it missing (a restarted Redis)."""
    results: list[Any] = [None] * len(calls)
    pending = list(range(len(calls)))
    for _ in range(2):
        async with client.pipeline(transaction=False) as pipe:
            for i in pending:
                keys, args = calls[i]
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            answers = await pipe.execute(raise_on_error=False)
        missing = []
        for i, answer in zip(pending, answers, strict=True):
            if isinstance(answer, NoScriptError):
                missing.append(i)
            elif isinstance(answer, Exception):
                raise answer
            else:
                results[i] = answer
        if not missing:
            return results
        await client.script_load(script.source)
        pending = missing
    raise NoScriptError("the script could not be loaded")


def is_built(found: list[Any]) -> bool:
    """Whether `ZRANGE key +inf +inf BYSCORE LIMIT 0 1` found the built marker."""
    return bool(found)


def built_marker(pipe: Any, board: Leaderboard, keys: RedisKeys) -> None:
    """Queue the read of the leaderboard's built marker on a pipeline."""
    pipe.zrange(board.key(keys), "+inf", "+inf", byscore=True, offset=0, num=1)
