"""Leaderboards' kinds and periods, each period's window of time and the score's units, and
the key of each leaderboard (see the package's docstring for the score)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from mallforum.redis_store import RedisKeys


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
#: Bits of the score below the total, holding the ticks (see the package's docstring).
TICK_BITS = {
    LeaderboardPeriod.DAILY: 27,
    LeaderboardPeriod.WEEKLY: 30,
    LeaderboardPeriod.MONTHLY: 32,
    LeaderboardPeriod.ALL_TIME: 31,
}
ALL_TIME_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
SECOND, MILLISECOND = timedelta(seconds=1), timedelta(milliseconds=1)
GRACE = timedelta(days=1)


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
