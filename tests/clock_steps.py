"""Steps that put the service's clock at the moment a test means.

A test whose outcome depends on the date, the weekday, the hour or the time zone pins the
clock first (`pin_clock`), and the time zone when it means one (`pin_zone`), so it passes
on any day the suite runs, at any instant `--clock-start` names and in any
MALLFORUM_TIMEZONE."""

from __future__ import annotations

from datetime import date, datetime, time

from mallforum import clock


def local(api, day: date, hour: int, minute: int = 0) -> datetime:
    """A time of day on a calendar day of the community's time zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=api.settings.zone)


def set_clock(when: datetime) -> None:
    """Move the service's clock to exactly `when` (an aware time); it runs on from there."""
    clock.move_to(when)


def pin_zone(api, zone: str) -> None:
    """Make `zone` the community's time zone for this test (the harness puts it back)."""
    api.settings.timezone = zone


def pin_clock(api, day: date, hour: int = 12, minute: int = 0) -> datetime:
    """Put the clock at `hour:minute` on `day` in the community's time zone; returns it."""
    when = local(api, day, hour, minute)
    set_clock(when)
    return when
