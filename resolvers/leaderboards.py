"""Leaderboards: who earned the most experience, received the most likes or published the
most, today, this week, this month or ever, in the whole community or in one board.

PostgreSQL holds the truth; each leaderboard is a Redis sorted set mirroring it:

- EXPERIENCE sums the `experience` of the ledger rows made in the period, negative ones
  (content removed) included. A board's sums the rows about its content (`board_id`, which
  the ledger sets from the row's reference); check-ins, gifts and prizes count only on the
  community's leaderboards.
- LIKES_RECEIVED counts the likes by others, made in the period, on the member's published
  topics and comments (what `Member.likes_received` counts, placed in time by each like).
- POSTS counts the member's published topics and comments created in the period.

Periods are the calendar day, the ISO week (from Monday) and the calendar month in
MALLFORUM_TIMEZONE, and all time. Banned members are on none: a ban takes them off, updates
skip them while banned, and lifting the ban puts their totals back from the rows.

Order: the higher total first; equal totals by who reached them first, that is whose latest
counted row (ledger row, like, post) is older, to the millisecond (to the second for all
time); then the lower member id. Only totals above zero are ranked.

The Redis score packs both as `-total × 2^k + ticks`: ticks are the milliseconds from the
period's start to the latest counted row (seconds from 2020-01-01 for all time) and 2^k is
above the longest period, k = 27 (a day), 30 (a week), 32 (a month), 31 (all time, until
2088). Scores are doubles, exact below 2^53, so totals are exact up to 2^26 in a day, 2^23
in a week, 2^21 in a month and 2^22 all time (67, 8.3, 2 and 4.1 million), far beyond what
a member reaches. The lowest score ranks first: `ZRANGE BYSCORE -inf (0 LIMIT 0 n` is the
top n and `1 + ZRANK` a member's rank, in O(log N + n), then one batched load of members.

Updates, once the transaction commits (`after_commit`), for every leaderboard an event
touches (kind × the periods its rows fall in × the community and the board):

- what adds rows (a ledger row, a like, content published) is an ADD per leaderboard, all
  pipelined in one round trip: total += n, latest = max(latest, the rows' time). Commutative,
  so commits may reach Redis in any order;
- what takes rows away (an unlike, content hidden or deleted) or bans or restores a member
  is a RESYNC: the member's entries are read back from the rows, in one snapshot, and
  written as they are (the latest row left is something no delta can tell), unless an
  update reached the entry or the leaderboard was rebuilt between the two reads: then it
  reads again. One round trip to read, one query, one round trip to write.

A leaderboard holds a marker member (`~built:<snapshot>`, scored +inf) once built; without it
(expired, flushed, evicted) it is cold: updates skip it, and the next read rebuilds it, that
key alone, from the rows. One reader takes its build lock (SET NX PX), the others wait for
it up to `WAIT_FOR_BUILD_SECONDS`, then answer from the rows. The rebuild reads the rows in
one PostgreSQL snapshot and writes a draft renamed over the key; updates arriving meanwhile
are queued and applied after it. Each ADD carries its transaction's id, and is skipped when
the snapshot of the rebuild (or of the member's last resync) already holds that transaction
(`pg_current_snapshot()`): nothing is counted twice or lost, whatever the order in which
commits, rebuilds and resyncs meet. When Redis does not answer, the rows answer, the same way.

Keys expire a day (`GRACE`) after their period ends, so a late update near the boundary
still lands and the closing standings stay readable for a day; all-time keys never expire.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from mallforum import reconcile
from mallforum.clock import now
from mallforum.context import Context
from mallforum.redis_store import RedisKeys, RedisStore, serving
from mallforum.settings import Settings
from mallforum.transactions import after_commit
from models import Board, Comment, ContentStatus, Like, LikeSubject, Member, MemberStatus, Topic
from resolvers.pagination import page_size

log = logging.getLogger(__name__)


class LeaderboardKind(StrEnum):
    EXPERIENCE = "EXPERIENCE"
    LIKES_RECEIVED = "LIKES_RECEIVED"
    POSTS = "POSTS"


class LeaderboardPeriod(StrEnum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    ALL_TIME = "ALL_TIME"


#: How each kind is named in its keys.
KIND_KEYS = {
    LeaderboardKind.EXPERIENCE: "xp",
    LeaderboardKind.LIKES_RECEIVED: "likes",
    LeaderboardKind.POSTS: "posts",
}
#: Bits of the score below the total, holding the ticks (see the module's docstring).
TICK_BITS = {
    LeaderboardPeriod.DAILY: 27,
    LeaderboardPeriod.WEEKLY: 30,
    LeaderboardPeriod.MONTHLY: 32,
    LeaderboardPeriod.ALL_TIME: 31,
}
ALL_TIME_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
SECOND, MILLISECOND = timedelta(seconds=1), timedelta(milliseconds=1)
GRACE = timedelta(days=1)

REDIS_TIMEOUT_SECONDS = 0.5
#: A rebuild writes the whole set: it may take longer than a read.
BUILD_TIMEOUT_SECONDS = 30.0
#: How long one reader may hold a leaderboard's rebuild; another may take over after that.
BUILD_LOCK_MS = 60_000
WAIT_FOR_BUILD_SECONDS = 2.0
WAIT_STEP_SECONDS = 0.02
LOAD_CHUNK = 5_000
LOADS_PER_TRIP = 10


# ---------------------------------------------------------------- periods and keys


@dataclass(frozen=True)
class Window:
    """One period: [start, end) in UTC, both None for all time."""

    period: LeaderboardPeriod
    label: str
    start: datetime | None = None
    end: datetime | None = None

    @property
    def unit(self) -> int:
        """2^k: one unit of total in the score."""
        return 1 << TICK_BITS[self.period]

    def ticks(self, at: datetime) -> int:
        """The time of the latest counted row, as the score holds it."""
        if self.start is None:
            ticks = (at - ALL_TIME_EPOCH) // SECOND
        else:
            ticks = (at - self.start) // MILLISECOND
        return min(max(ticks, 0), self.unit - 1)

    def scorer(self) -> Callable[[int, datetime], int]:
        """The score of a total reached at `at`, `-total × unit + ticks(at)`, for many
        members at once (a rebuild)."""
        unit, last = self.unit, self.unit - 1
        origin, step = (ALL_TIME_EPOCH, SECOND) if self.start is None else (self.start, MILLISECOND)

        def score(total: int, at: datetime) -> int:
            ticks = (at - origin) // step
            return -total * unit + (0 if ticks < 0 else last if ticks > last else ticks)

        return score

    def ttl_ms(self, moment: datetime) -> int | None:
        """Milliseconds the key lives from `moment`: until the end plus GRACE; None for
        all time (never expires). Relative to the service's clock, which tests move."""
        if self.end is None:
            return None
        return (self.end + GRACE - moment) // MILLISECOND

    def live(self, moment: datetime) -> bool:
        """Whether the period's keys may still be in Redis at `moment`."""
        ttl = self.ttl_ms(moment)
        return ttl is None or ttl > 0


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def window_of(period: LeaderboardPeriod, at: datetime, zone: ZoneInfo) -> Window:
    """The period holding the time `at`, in the community's time zone."""
    if period == LeaderboardPeriod.ALL_TIME:
        return Window(period, "all")
    day = at.astimezone(zone).date()
    if period == LeaderboardPeriod.DAILY:
        first, after, label = day, day + timedelta(days=1), f"d{day.isoformat()}"
    elif period == LeaderboardPeriod.WEEKLY:
        first = day - timedelta(days=day.weekday())
        year, week, _ = first.isocalendar()
        after, label = first + timedelta(days=7), f"w{year}-W{week:02d}"
    else:
        first = day.replace(day=1)
        after, label = (first + timedelta(days=32)).replace(day=1), f"m{first:%Y-%m}"
    return Window(period, label, _midnight(first, zone), _midnight(after, zone))


def live_windows(moment: datetime, zone: ZoneInfo) -> list[Window]:
    """Every period whose keys may be in Redis at `moment`: the current ones and the ones
    that ended less than GRACE ago."""
    windows = []
    for period in LeaderboardPeriod:
        current = window_of(period, moment, zone)
        windows.append(current)
        if current.start is not None:
            previous = window_of(period, current.start - timedelta(microseconds=1), zone)
            if previous.live(moment):
                windows.append(previous)
    return windows


@dataclass(frozen=True)
class Leaderboard:
    """One leaderboard: a kind, a period, and the community (board_id None) or a board."""

    kind: LeaderboardKind
    window: Window
    board_id: int | None = None

    def _names(self) -> tuple[str, str, str]:
        scope = "all" if self.board_id is None else f"b{self.board_id}"
        return KIND_KEYS[self.kind], scope, self.window.label

    def key(self, keys: RedisKeys) -> str:
        return keys.leaderboard(*self._names())

    def build(self, keys: RedisKeys) -> str:
        return keys.leaderboard_build(*self._names())

    def backlog(self, keys: RedisKeys) -> str:
        return keys.leaderboard_backlog(*self._names())

    def draft(self, keys: RedisKeys, token: str) -> str:
        return keys.leaderboard_draft(*self._names(), token)

    def member_keys(self, keys: RedisKeys, member: str) -> list[str]:
        """The keys a change of one member touches: ADD's and RESYNC's KEYS."""
        return [
            self.key(keys),
            self.build(keys),
            self.backlog(keys),
            keys.leaderboard_synced(*self._names(), member),
        ]


def ranked_member(member_id: int) -> str:
    """A member in the sorted set: equal scores sort by member, so by id."""
    return f"{member_id:020d}"


def decode(score: float, unit: int) -> int:
    """The total a score holds."""
    return -math.floor(score / unit)


# ---------------------------------------------------------------- Redis scripts


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

#: KEYS: build lock. ARGV: token. A failed rebuild lets go of its lock.
RELEASE = Lua(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
)


async def _run_scripts(
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


# ---------------------------------------------------------------- the rows (PostgreSQL)


def on_postgres() -> bool:
    return bool(Tortoise.get_connection("default").capabilities.dialect == "postgres")


class Sql:
    """Parameters of a statement being written, numbered for the database's dialect: each
    `param` call must come in the order its placeholder appears in the text."""

    def __init__(self) -> None:
        self.postgres = on_postgres()
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def tick(self, column: str, window: Window) -> str:
        """`column` (a time) cut to the score's precision, for ordering ties."""
        all_time = window.start is None
        if self.postgres:
            return f"date_trunc('{'second' if all_time else 'milliseconds'}', {column})"
        return f"substr({column}, 1, {19 if all_time else 23})"

    def within(self, column: str, window: Window) -> str:
        if window.start is None or window.end is None:
            return "TRUE" if self.postgres else "1"
        return f"({column} >= {self.param(window.start)} AND {column} < {self.param(window.end)})"


@dataclass(frozen=True)
class _Source:
    """One kind of row that counts: who it counts for, in which board, when, how much."""

    member: str
    board: str
    at: str
    amount: str
    tables: str
    where: str


PUBLISHED = f"'{ContentStatus.PUBLISHED.value}'"
SOURCES = {
    LeaderboardKind.EXPERIENCE: [
        _Source(
            "p.member_id",
            "p.board_id",
            "p.created_at",
            "p.experience",
            '"point_transaction" p',
            "p.experience <> 0",
        ),
    ],
    LeaderboardKind.POSTS: [
        _Source(
            "t.author_id", "t.board_id", "t.created_at", "1", '"topic" t', f"t.status = {PUBLISHED}"
        ),
        _Source(
            "c.author_id",
            "t.board_id",
            "c.created_at",
            "1",
            '"comment" c JOIN "topic" t ON t.id = c.topic_id',
            f"c.status = {PUBLISHED}",
        ),
    ],
    LeaderboardKind.LIKES_RECEIVED: [
        _Source(
            "t.author_id",
            "t.board_id",
            "l.created_at",
            "1",
            '"like" l JOIN "topic" t ON t.id = l.subject_id',
            f"l.subject_kind = '{LikeSubject.TOPIC.value}' AND t.status = {PUBLISHED}"
            " AND l.member_id <> t.author_id",
        ),
        _Source(
            "c.author_id",
            "t.board_id",
            "l.created_at",
            "1",
            '"like" l JOIN "comment" c ON c.id = l.subject_id JOIN "topic" t ON t.id = c.topic_id',
            f"l.subject_kind = '{LikeSubject.COMMENT.value}' AND c.status = {PUBLISHED}"
            " AND l.member_id <> c.author_id",
        ),
    ],
}


def counted_rows(
    kind: LeaderboardKind,
    sql: Sql,
    *,
    member_id: int | None = None,
    window: Window | None = None,
    board_id: int | None = None,
) -> str:
    """SELECT member_id, board_id, at, v: the rows counting for `kind`, optionally of one
    member, within one period, in one board."""
    parts = []
    for source in SOURCES[kind]:
        where = [source.where]
        if member_id is not None:
            where.append(f"{source.member} = {sql.param(member_id)}")
        if window is not None and window.start is not None:
            where.append(sql.within(source.at, window))
        if board_id is not None:
            where.append(f"{source.board} = {sql.param(board_id)}")
        parts.append(
            f"SELECT {source.member} AS member_id, {source.board} AS board_id,"
            f" {source.at} AS at, {source.amount} AS v FROM {source.tables}"
            f" WHERE {' AND '.join(where)}"
        )
    return " UNION ALL ".join(parts)


def _totals(board: Leaderboard, sql: Sql) -> str:
    """SELECT member_id, v (the total), at (the latest counted row): every member with rows
    on the leaderboard but the banned ones."""
    rows = counted_rows(board.kind, sql, window=board.window, board_id=board.board_id)
    return (
        f"SELECT x.member_id, SUM(x.v) AS v, MAX(x.at) AS at FROM ({rows}) x"
        ' JOIN "member" m ON m.id = x.member_id'
        f" WHERE m.status <> '{MemberStatus.BANNED.value}' GROUP BY x.member_id"
    )


def _time(value: Any) -> datetime:
    """A time as the database answers it (SQLite: text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


async def _query(sql: Sql, text: str) -> list[dict[str, Any]]:
    _, rows = await Tortoise.get_connection("default").execute_query(text, sql.params)
    return [dict(row) for row in rows]


async def _top_from_rows(board: Leaderboard, size: int) -> list[tuple[int, int]]:
    sql = Sql()
    totals = _totals(board, sql)
    rows = await _query(
        sql,
        f"SELECT a.member_id, a.v FROM ({totals}) a WHERE a.v > 0"
        f" ORDER BY a.v DESC, {sql.tick('a.at', board.window)} ASC, a.member_id ASC"
        f" LIMIT {int(size)}",
    )
    return [(int(row["member_id"]), int(row["v"])) for row in rows]


async def _rank_from_rows(board: Leaderboard, member_id: int) -> tuple[int, int] | None:
    sql = Sql()
    totals = _totals(board, sql)
    me = sql.param(member_id)
    mine, theirs = sql.tick("me.at", board.window), sql.tick("a.at", board.window)
    rows = await _query(
        sql,
        f"WITH a AS ({totals}), me AS (SELECT a.v, a.at FROM a WHERE a.member_id = {me}"
        " AND a.v > 0) SELECT me.v AS v, (SELECT COUNT(*) FROM a WHERE a.v > 0 AND"
        f" (a.v > me.v OR (a.v = me.v AND ({theirs} < {mine} OR ({theirs} = {mine}"
        f" AND a.member_id < {sql.param(member_id)}))))) AS ahead FROM me",
    )
    if not rows:
        return None
    return int(rows[0]["ahead"]) + 1, int(rows[0]["v"])


async def _read_for_build(
    kind: LeaderboardKind, window: Window, board_id: int | None, by_board: bool
) -> tuple[str, list[Any]]:
    """The rows' totals (per member, or per board and member) and the PostgreSQL snapshot
    they were read in ('' on SQLite), in one repeatable-read transaction."""
    async with in_transaction() as connection:
        snapshot = ""
        if on_postgres():
            await connection.execute_query(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
            _, found = await connection.execute_query(
                "SELECT pg_current_snapshot()::text AS snapshot"
            )
            snapshot = str(found[0]["snapshot"])
        sql = Sql()
        if by_board:
            rows = counted_rows(kind, sql, window=window)
            text = (
                f"SELECT x.board_id, x.member_id, SUM(x.v) AS v, MAX(x.at) AS at FROM ({rows}) x"
                ' JOIN "member" m ON m.id = x.member_id'
                f" WHERE m.status <> '{MemberStatus.BANNED.value}'"
                " GROUP BY x.board_id, x.member_id"
            )
        else:
            text = _totals(Leaderboard(kind, window, board_id), sql)
        _, rows_found = await connection.execute_query(text, sql.params)
    return snapshot, list(rows_found)


# ---------------------------------------------------------------- rebuilding a key


def _is_built(found: list[Any]) -> bool:
    """Whether `ZRANGE key +inf +inf BYSCORE LIMIT 0 1` found the built marker."""
    return bool(found)


def _built_marker(pipe: Any, board: Leaderboard, keys: RedisKeys) -> None:
    pipe.zrange(board.key(keys), "+inf", "+inf", byscore=True, offset=0, num=1)


Totals = dict[int, tuple[int, datetime]]


async def _write(
    store: RedisStore, board: Leaderboard, token: str, snapshot: str, totals: Totals
) -> bool:
    """Write a rebuilt leaderboard through its draft; False when its lock was lost."""
    client, keys, window = store.client, store.keys, board.window
    ttl = window.ttl_ms(now())
    draft = board.draft(keys, token)
    # "score member" pairs, LOAD_CHUNK to a script call, LOADS_PER_TRIP calls to a round
    # trip: redis-py packs one argument per call instead of two per member, and Redis is
    # never busy with one call for long.
    score = window.scorer()
    pairs = [
        f"{score(total, latest)} {member_id:020d}" for member_id, (total, latest) in totals.items()
    ]
    loads = [
        ([draft], [" ".join(pairs[start : start + LOAD_CHUNK])])
        for start in range(0, len(pairs), LOAD_CHUNK)
    ]
    del pairs
    finish = (
        [board.key(keys), board.build(keys), board.backlog(keys), draft],
        [window.unit, token, snapshot, "" if ttl is None else max(ttl, 1)],
    )
    async with asyncio.timeout(BUILD_TIMEOUT_SECONDS):
        async with client.pipeline(transaction=False) as pipe:
            pipe.delete(draft)
            pipe.zadd(draft, {BUILT + snapshot: math.inf})
            pipe.pexpire(draft, BUILD_LOCK_MS)
            await pipe.execute()
        for trip in range(0, len(loads), LOADS_PER_TRIP):
            await _run_scripts(client, LOAD, loads[trip : trip + LOADS_PER_TRIP])
        (done,) = await _run_scripts(client, FINISH, [finish])
    if not isinstance(done, list):
        return False
    for member in done:  # removals and bans met while the rows were read
        await _resync(store, int(member), [board])
    return True


async def _release(store: RedisStore, board: Leaderboard, token: str) -> None:
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await _run_scripts(store.client, RELEASE, [([board.build(store.keys)], [token])])
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("rebuild lock of a leaderboard not released (%r)", error)


async def rebuild(store: RedisStore, board: Leaderboard) -> str:
    """Rebuild one cold leaderboard from the rows, unless it is built ('built') or another
    reader holds its lock ('busy'); 'rebuilt' when done, 'lost' when the lock was lost."""
    if not board.window.live(now()):
        return "busy"
    token = secrets.token_hex(8)
    keys = store.keys
    async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
        (taken,) = await _run_scripts(
            store.client, TAKE, [([board.key(keys), board.build(keys)], [token, BUILD_LOCK_MS])]
        )
    taken = taken.decode() if isinstance(taken, bytes) else str(taken)
    if taken != "taken":
        return taken
    try:
        snapshot, rows = await _read_for_build(
            board.kind, board.window, board.board_id, by_board=False
        )
        totals = {int(r["member_id"]): (int(r["v"]), _time(r["at"])) for r in rows}
        del rows
        done = await _write(store, board, token, snapshot, totals)
    except BaseException:
        await _release(store, board, token)
        raise
    return "rebuilt" if done else "lost"


async def _wait_until_built(store: RedisStore, board: Leaderboard) -> bool:
    """Make sure the cold leaderboard gets built: rebuild it, or wait for the reader that
    is at it (taking over if it gives up). False when still not built after
    WAIT_FOR_BUILD_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_BUILD_SECONDS
    while True:
        if await rebuild(store, board) in ("built", "rebuilt"):
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(WAIT_STEP_SECONDS)


async def rebuild_all(settings: Settings, redis: RedisStore) -> int:
    """Rebuild every current leaderboard (each kind and period, the community and every
    board) from the rows; the number of keys written. For `mallforum rebuild-redis` and the
    reconcile after an outage. One read per kind and period, grouped by board. The keys of
    periods that ended less than GRACE ago are dropped: they may have missed writes too,
    and a read of one rebuilds it."""
    moment = now()
    boards: list[Any] = await Board.all().order_by("id").values_list("id", flat=True)
    board_ids = [int(i) for i in boards]
    written = 0
    for kind in LeaderboardKind:
        for period in LeaderboardPeriod:
            window = window_of(period, moment, settings.zone)
            written += await _rebuild_period(redis, kind, window, board_ids)
    current = {window_of(period, moment, settings.zone) for period in LeaderboardPeriod}
    ended = [
        Leaderboard(kind, window, board_id).key(redis.keys)
        for kind in LeaderboardKind
        for window in live_windows(moment, settings.zone)
        if window not in current
        for board_id in [None, *board_ids]
    ]
    async with asyncio.timeout(BUILD_TIMEOUT_SECONDS):
        async with redis.client.pipeline(transaction=False) as pipe:
            for key in ended:  # one key a command: each has a hash tag of its own
                pipe.delete(key)
            await pipe.execute()
    return written


async def _rebuild_period(
    store: RedisStore, kind: LeaderboardKind, window: Window, board_ids: list[int]
) -> int:
    boards = [Leaderboard(kind, window, None), *(Leaderboard(kind, window, b) for b in board_ids)]
    token = secrets.token_hex(8)
    async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
        async with store.client.pipeline(transaction=False) as pipe:
            for board in boards:  # taken over from any reader at it: this one is newer
                pipe.set(board.build(store.keys), token, px=BUILD_LOCK_MS)
            await pipe.execute()
    try:
        snapshot, rows = await _read_for_build(kind, window, None, by_board=True)
        totals: dict[int | None, Totals] = {board.board_id: {} for board in boards}
        community = totals[None]
        for row in rows:
            member_id, total, latest = int(row["member_id"]), int(row["v"]), _time(row["at"])
            board_id = None if row["board_id"] is None else int(row["board_id"])
            if board_id is not None and board_id in totals:
                totals[board_id][member_id] = (total, latest)
            was_total, was_latest = community.get(member_id, (0, latest))
            community[member_id] = (was_total + total, max(was_latest, latest))
        written = 0
        for board in boards:
            written += await _write(store, board, token, snapshot, totals[board.board_id])
    except BaseException:
        for board in boards:
            await _release(store, board, token)
        raise
    return written


# ---------------------------------------------------------------- reading


@dataclass
class Entry:
    """A member's place: rank 1 is the top."""

    rank: int
    total: int
    member: Member


async def _leaderboard_of(
    ctx: Context, kind: LeaderboardKind, period: LeaderboardPeriod, board_slug: str | None
) -> Leaderboard | None:
    """The current leaderboard asked for; None for a board the viewer may not see (or that
    is not there), as `board(slug:)` answers null for it."""
    board_id = None
    if board_slug is not None:
        from resolvers.boards import board_by_slug  # resolvers.boards imports the ledger

        board = await board_by_slug(ctx, board_slug)
        if board is None:
            return None
        board_id = board.pk
    return Leaderboard(kind, window_of(period, now(), ctx.settings.zone), board_id)


async def _top_from_redis(
    store: RedisStore, board: Leaderboard, size: int
) -> list[tuple[int, int]] | None:
    keys, unit = store.keys, board.window.unit
    for attempt in range(2):
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            async with store.client.pipeline(transaction=False) as pipe:
                _built_marker(pipe, board, keys)
                pipe.zrange(
                    board.key(keys), "-inf", "(0", byscore=True, offset=0, num=size, withscores=True
                )
                built, rows = await pipe.execute()
        if _is_built(built):
            return [(int(member), decode(score, unit)) for member, score in rows]
        if attempt == 0 and not await _wait_until_built(store, board):
            return None
    return None


async def _rank_from_redis(
    store: RedisStore, board: Leaderboard, member_id: int
) -> tuple[bool, tuple[int, int] | None]:
    """(True, the member's rank and total, or None when unranked) from Redis; (False, None)
    when the leaderboard could not be built in time."""
    keys, member = store.keys, ranked_member(member_id)
    for attempt in range(2):
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            async with store.client.pipeline(transaction=False) as pipe:
                _built_marker(pipe, board, keys)
                pipe.zrank(board.key(keys), member)
                pipe.zscore(board.key(keys), member)
                built, place, score = await pipe.execute()
        if _is_built(built):
            if score is None or score >= 0:
                return True, None
            return True, (int(place) + 1, decode(score, board.window.unit))
        if attempt == 0 and not await _wait_until_built(store, board):
            break
    return False, None


async def leaderboard(
    ctx: Context,
    kind: LeaderboardKind,
    period: LeaderboardPeriod,
    board_slug: str | None,
    first: int | None,
) -> list[Entry]:
    """The top `first` (default 20, at most 100: more is an error, as for every list)."""
    size = page_size(first)
    board = await _leaderboard_of(ctx, kind, period, board_slug)
    if board is None or size == 0:
        return []
    top: list[tuple[int, int]] | None = None
    try:
        top = await _top_from_redis(ctx.redis, board, size)
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("leaderboard read from the rows: Redis failed (%r)", error)
    if top is None:
        top = await _top_from_rows(board, size)
    members = await ctx.loaders.member_by_id.load_many([member_id for member_id, _ in top])
    entries: list[Entry] = []
    for (_, total), member in zip(top, members, strict=True):
        # A member banned since their last update is left out (and those below move up).
        if member is not None and member.status != MemberStatus.BANNED:
            entries.append(Entry(len(entries) + 1, total, member))
    return entries


async def viewer_rank(
    ctx: Context, kind: LeaderboardKind, period: LeaderboardPeriod, board_slug: str | None
) -> Entry | None:
    """The viewer's place; None when anonymous, banned or unranked (no total above zero)."""
    viewer = ctx.viewer
    if viewer is None or viewer.status == MemberStatus.BANNED:
        return None
    board = await _leaderboard_of(ctx, kind, period, board_slug)
    if board is None:
        return None
    answered, found = False, None
    try:
        answered, found = await _rank_from_redis(ctx.redis, board, viewer.pk)
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("leaderboard rank read from the rows: Redis failed (%r)", error)
    if not answered:
        found = await _rank_from_rows(board, viewer.pk)
    if found is None:
        return None
    rank, total = found
    return Entry(rank, total, viewer)


# ---------------------------------------------------------------- updates
#
# A change that adds to a member's totals (a ledger row, a like, content published) is an
# ADD per leaderboard: commutative, so the order in which commits reach Redis does not
# matter, and skipped when a rebuild or resync already read it. A change that takes rows
# away (an unlike, content taken down) or a ban or its lifting is a RESYNC: after the
# commit, the member's entries are read back from the rows and written as they are, unless
# an update reached the member meanwhile (then read again), so the time of the latest row
# left, which no delta can tell, is exact too.


@dataclass(frozen=True)
class Change:
    """A row counting `amount` for a member on `kind`'s leaderboards, made at `at`."""

    member_id: int
    board_id: int | None
    at: datetime
    amount: int


@dataclass
class _Move:
    total: int = 0
    latest: datetime | None = None


def _moves(
    kind: LeaderboardKind, changes: Iterable[Change], moment: datetime, zone: ZoneInfo
) -> dict[Leaderboard, _Move]:
    """What the changes add to each leaderboard whose period holds them and may be in Redis."""
    moves: dict[Leaderboard, _Move] = {}
    for change in changes:
        for period in LeaderboardPeriod:
            window = window_of(period, change.at, zone)
            if not window.live(moment):
                continue
            for board_id in dict.fromkeys([None, change.board_id]):
                move = moves.setdefault(Leaderboard(kind, window, board_id), _Move())
                move.total += change.amount
                move.latest = change.at if move.latest is None else max(move.latest, change.at)
    return moves


async def _member_in_turn(member_id: int) -> tuple[bool, str]:
    """Lock the member's row, so that changes of their totals are made one at a time (the
    ledger, likes and publishing lock it too), and answer whether they are banned and the
    id of this transaction ('-' on SQLite)."""
    connection = Tortoise.get_connection("default")
    if on_postgres():
        _, rows = await connection.execute_query(
            'SELECT "status", pg_current_xact_id()::text AS "xid" FROM "member"'
            ' WHERE "id" = $1 FOR NO KEY UPDATE',
            [member_id],
        )
    else:
        _, rows = await connection.execute_query(
            'SELECT "status", \'-\' AS "xid" FROM "member" WHERE "id" = ?', [member_id]
        )
    return rows[0]["status"] == MemberStatus.BANNED.value, str(rows[0]["xid"])


def _store() -> RedisStore | None:
    store = serving.get()
    if store is None:
        log.warning("leaderboards not updated: no Redis store is serving; reconcile them")
        reconcile.missed()
    return store


async def _add(
    settings: Settings, kind: LeaderboardKind, xid: str, member_id: int, changes: list[Change]
) -> None:
    """Add the rows to the member's totals in Redis, in one round trip, once committed."""
    store = _store()
    moves = _moves(kind, changes, now(), settings.zone)
    if store is None or not moves:
        return
    member = ranked_member(member_id)
    calls = [
        (
            board.member_keys(store.keys, member),
            [board.window.unit, xid, member, move.total, board.window.ticks(move.latest)],
        )
        for board, move in moves.items()
        if move.latest is not None
    ]

    async def add() -> None:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await _run_scripts(store.client, ADD, calls)

    await after_commit(add)


async def _resync_later(member_id: int, boards: Iterable[Leaderboard]) -> None:
    """Rewrite the member's entries on those leaderboards from the rows, once committed."""
    store = _store()
    chosen = list(dict.fromkeys(boards))
    if store is None or not chosen:
        return

    async def resync() -> None:
        try:
            await _resync(store, member_id, chosen)
        except (RedisError, OSError, TimeoutError):
            raise  # noted as missed by after_commit
        except Exception:  # the write has committed: it must not fail now
            log.exception("member %s not resynced: reconcile the leaderboards", member_id)
            reconcile.missed()

    await after_commit(resync)


async def _member_state(
    member_id: int, boards: Sequence[Leaderboard]
) -> tuple[str, dict[Leaderboard, tuple[int, datetime]]]:
    """The member's total and latest row on each of the leaderboards (missing: no rows, or
    banned), with the snapshot they were read in, in one repeatable-read transaction."""
    found: dict[Leaderboard, tuple[int, datetime]] = {}
    async with in_transaction() as connection:
        snapshot = ""
        if on_postgres():
            await connection.execute_query(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
            _, rows = await connection.execute_query(
                'SELECT "status", pg_current_snapshot()::text AS "snapshot" FROM "member"'
                ' WHERE "id" = $1',
                [member_id],
            )
            snapshot = str(rows[0]["snapshot"])
        else:
            _, rows = await connection.execute_query(
                'SELECT "status" FROM "member" WHERE "id" = ?', [member_id]
            )
        if rows[0]["status"] == MemberStatus.BANNED.value:
            return snapshot, found
        for kind in dict.fromkeys(board.kind for board in boards):
            windows = list(dict.fromkeys(b.window for b in boards if b.kind == kind))
            found.update(await _member_totals(kind, member_id, windows))
    return snapshot, found


#: How many times a resync reads the rows again when updates keep reaching the member.
RESYNC_ATTEMPTS = 5
#: How long a resync's snapshot is kept for the member: far longer than an update can take
#: between its commit and Redis.
SYNCED_MS = 600_000


async def _resync(store: RedisStore, member_id: int, boards: list[Leaderboard]) -> None:
    """Write the member's entries as the rows are now, on each leaderboard that is built.

    Reads each entry (and the leaderboard's built marker), then the rows, then writes them
    unless either changed meanwhile, in which case it reads again: the last write is always
    from rows read after every update that reached the entry before it."""
    client, keys, member = store.client, store.keys, ranked_member(member_id)
    pending = boards
    for _ in range(RESYNC_ATTEMPTS):
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            async with client.pipeline(transaction=False) as pipe:
                for board in pending:
                    _built_marker(pipe, board, keys)
                    pipe.zscore(board.key(keys), member)
                seen = await pipe.execute()
        snapshot, rows = await _member_state(member_id, pending)
        calls = []
        for n, board in enumerate(pending):
            marker, score = seen[2 * n], seen[2 * n + 1]
            total, latest = rows.get(board, (0, None))
            calls.append(
                (
                    board.member_keys(keys, member),
                    [
                        board.window.unit,
                        member,
                        marker[0] if marker else "",
                        "" if score is None else repr(score),
                        total,
                        "" if latest is None else board.window.ticks(latest),
                        snapshot,
                        SYNCED_MS,
                    ],
                )
            )
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            done = await _run_scripts(client, RESYNC, calls)
        pending = [board for board, result in zip(pending, done, strict=True) if result == -1]
        if not pending:
            return
    log.warning(
        "member %s not resynced on %d leaderboards: reconcile them", member_id, len(pending)
    )
    reconcile.missed()


async def board_of(reference: str | None) -> int | None:
    """The board of the content a ledger row's reference names: "Topic:1", "Comment:2", or
    "Answer:2" (an accepted answer, a comment); None for anything else."""
    kind, _, pk = (reference or "").partition(":")
    if not pk.isdigit():
        return None
    if kind == "Topic":
        rows = Topic.filter(id=int(pk)).values_list("board_id", flat=True)
    elif kind in ("Comment", "Answer"):
        rows = Comment.filter(id=int(pk)).values_list("topic__board_id", flat=True)
    else:
        return None
    found: list[Any] = await rows
    return int(found[0]) if found else None


async def _board_of_subject(subject: Topic | Comment) -> int:
    if isinstance(subject, Topic):
        return subject.board_id
    found: list[Any] = await Topic.filter(id=subject.topic_id).values_list("board_id", flat=True)
    return int(found[0])


async def experience_posted(
    settings: Settings,
    member_id: int,
    experience: int,
    board_id: int | None,
    at: datetime,
) -> None:
    """The ledger wrote a row changing the member's experience; in its transaction. The
    ledger only grows (taking back is a negative row), so this is always an ADD."""
    if not experience:
        return
    banned, xid = await _member_in_turn(member_id)
    if not banned:
        change = Change(member_id, board_id, at, experience)
        await _add(settings, LeaderboardKind.EXPERIENCE, xid, member_id, [change])


async def like_changed(
    settings: Settings, subject: Topic | Comment, liker_id: int, at: datetime, liked: bool
) -> None:
    """A like made at `at` was added to (or taken from) the locked subject; in its
    transaction. Counts for the author when by someone else on published content."""
    author_id = subject.author_id
    if liker_id == author_id or subject.status != ContentStatus.PUBLISHED:
        return
    banned, xid = await _member_in_turn(author_id)
    if banned:
        return
    change = Change(author_id, await _board_of_subject(subject), at, 1)
    kind = LeaderboardKind.LIKES_RECEIVED
    if liked:
        await _add(settings, kind, xid, author_id, [change])
    else:
        await _resync_later(author_id, _moves(kind, [change], now(), settings.zone))


async def content_shown(settings: Settings, subject: Topic | Comment, shown: bool) -> None:
    """A topic or comment was published (or taken down: hidden, deleted, held): its post and
    the likes by others on it start (or stop) counting for its author. Call in the
    transaction that changed its status, after the change."""
    author_id = subject.author_id
    banned, xid = await _member_in_turn(author_id)
    if banned:
        return
    board_id = await _board_of_subject(subject)
    posts = [Change(author_id, board_id, subject.created_at, 1)]
    likes: list[Change] = []
    if subject.like_count:
        kind = LikeSubject.TOPIC if isinstance(subject, Topic) else LikeSubject.COMMENT
        times = await (
            Like.filter(subject_kind=kind, subject_id=subject.pk)
            .exclude(member_id=author_id)
            .values_list("created_at", flat=True)
        )
        likes = [Change(author_id, board_id, _time(at), 1) for at in times]
    if shown:
        await _add(settings, LeaderboardKind.POSTS, xid, author_id, posts)
        if likes:
            await _add(settings, LeaderboardKind.LIKES_RECEIVED, xid, author_id, likes)
    else:
        moment = now()
        await _resync_later(
            author_id,
            [
                *_moves(LeaderboardKind.POSTS, posts, moment, settings.zone),
                *_moves(LeaderboardKind.LIKES_RECEIVED, likes, moment, settings.zone),
            ],
        )


async def _everywhere(settings: Settings) -> list[Leaderboard]:
    """Every leaderboard that may be in Redis now: each kind, live period and board."""
    boards: list[Any] = await Board.all().values_list("id", flat=True)
    return [
        Leaderboard(kind, window, board_id)
        for kind in LeaderboardKind
        for window in live_windows(now(), settings.zone)
        for board_id in [None, *(int(i) for i in boards)]
    ]


async def member_banned(settings: Settings, member_id: int) -> None:
    """The member was banned: off every leaderboard (a resync finds them banned). In the
    ban's transaction."""
    await _resync_later(member_id, await _everywhere(settings))


async def member_restored(settings: Settings, member_id: int) -> None:
    """The member's ban was lifted: back on the leaderboards with their totals from the rows
    (updates skipped them while banned). In the transaction that lifted it."""
    await _resync_later(member_id, await _everywhere(settings))


async def _member_totals(
    kind: LeaderboardKind, member_id: int, windows: Sequence[Window]
) -> dict[Leaderboard, tuple[int, datetime]]:
    """The member's total and latest row on each of `kind`'s leaderboards of the periods,
    in the community and in every board they have rows in."""
    sql = Sql()
    columns = []
    for n, window in enumerate(windows):
        inside = sql.within("x.at", window)
        # The same condition twice: each placeholder takes its own parameters.
        inside_again = sql.within("x.at", window)
        columns.append(
            f"SUM(CASE WHEN {inside} THEN x.v END) AS t{n},"
            f" MAX(CASE WHEN {inside_again} THEN x.at END) AS l{n}"
        )
    rows = counted_rows(kind, sql, member_id=member_id)
    found = await _query(
        sql, f"SELECT x.board_id, {', '.join(columns)} FROM ({rows}) x GROUP BY x.board_id"
    )
    totals: dict[Leaderboard, tuple[int, datetime]] = {}
    for row in found:
        board_id = None if row["board_id"] is None else int(row["board_id"])
        for n, window in enumerate(windows):
            if row[f"l{n}"] is None:
                continue
            total, latest = int(row[f"t{n}"]), _time(row[f"l{n}"])
            for scope in dict.fromkeys([None, board_id]):
                board = Leaderboard(kind, window, scope)
                was_total, was_latest = totals.get(board, (0, latest))
                totals[board] = (was_total + total, max(was_latest, latest))
    return totals
