"""Daily check-in (签到): once per calendar day in the community's time zone, a streak that
grows on consecutive days (with its bonus) and restarts after a missed day, exact under
concurrency, refused to banned and anonymous callers, and counted as a day of activity."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest

from mallforum import clock
from mallforum.growth_rules import CheckInRule
from models import ActivityDay, CheckIn, Member, MemberStatus, PointReason, PointTransaction
from tests.clock_steps import local, pin_clock, pin_zone, set_clock
from tests.forum import concurrently
from tests.growth.steps import CHECK_IN, check_in

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar

VIEWER = "{ viewer { points experience checkInStreak } }"
HISTORY = "{ pointHistory { totalCount edges { node { delta reason balanceAfter } } } }"


async def viewer(api, who="alice"):
    """The member's points, experience and streak as they see them (created if new)."""
    return (await api(VIEWER, as_=who))["viewer"]


def local_today(api) -> date:
    return clock.now().astimezone(api.settings.zone).date()


async def check_in_rows(who="alice"):
    return await CheckIn.filter(member__mall_user_id=who).order_by("day")


async def check_in_ledger_rows(who="alice"):
    member = await Member.get(mall_user_id=who)
    return await PointTransaction.filter(member_id=member.pk, reason=PointReason.CHECK_IN).count()


# ---------------------------------------------------------------- once a day


async def test_the_first_check_in_starts_a_streak_and_awards_day_one_points_and_experience(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    before = await viewer(api)
    points = api.settings.check_in.points(1)
    experience = api.settings.earning(PointReason.CHECK_IN).experience
    answer = await check_in(api)
    assert answer == {
        "streak": 1,
        "pointsAwarded": points,
        "newCheckIn": True,
        "member": {
            "points": before["points"] + points,
            "experience": before["experience"] + experience,
            "checkInStreak": 1,
        },
        "errors": [],
    }
    assert await viewer(api) == answer["member"]
    history = (await api(HISTORY, as_="alice"))["pointHistory"]
    assert history["edges"][0]["node"] == {
        "delta": points,
        "reason": "CHECK_IN",
        "balanceAfter": before["points"] + points,
    }
    assert [e["node"]["reason"] for e in history["edges"]].count("CHECK_IN") == 1
    [row] = await check_in_rows()
    assert (row.day, row.streak, row.points) == (local_today(api), 1, points)


async def test_checking_in_again_the_same_day_awards_nothing_and_is_no_error(api):
    set_clock(local(api, date(2030, 3, 10), 12))
    first = await check_in(api)
    clock.travel(timedelta(hours=11, minutes=55))  # 23:55, the same local day
    again = await check_in(api)
    assert again == {
        "streak": 1,
        "pointsAwarded": 0,
        "newCheckIn": False,
        "member": first["member"],
        "errors": [],
    }
    assert await viewer(api) == first["member"]
    assert len(await check_in_rows()) == 1
    assert await check_in_ledger_rows() == 1
    history = (await api(HISTORY, as_="alice"))["pointHistory"]
    assert [e["node"]["reason"] for e in history["edges"]] == ["CHECK_IN", "WELCOME_GIFT"]


@pytest.mark.parametrize("calls", [2, 10])
async def test_concurrent_check_ins_by_one_member_award_once(api, calls):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    before = await viewer(api)
    points = api.settings.check_in.points(1)
    datas = await concurrently(api.post(CHECK_IN, as_="alice") for _ in range(calls))
    answers = [data["checkIn"] for data in datas]
    assert all(a["errors"] == [] and a["streak"] == 1 for a in answers), answers
    assert sorted(a["newCheckIn"] for a in answers) == [False] * (calls - 1) + [True]
    assert sorted(a["pointsAwarded"] for a in answers) == [0] * (calls - 1) + [points]
    assert {a["member"]["points"] for a in answers} == {before["points"] + points}
    assert len(await check_in_rows()) == 1
    assert await check_in_ledger_rows() == 1
    assert (await viewer(api))["points"] == before["points"] + points


# ---------------------------------------------------------------- the streak


async def test_consecutive_days_grow_the_streak_and_its_bonus_with_a_weekly_bonus_on_day_seven(
    api,
):
    rule = api.settings.check_in
    assert rule == CheckInRule()  # the defaults, whose amounts are spelled out below
    before = await viewer(api)
    awarded = []
    for day in range(1, 9):
        answer = await check_in(api)
        assert answer["newCheckIn"] is True and answer["errors"] == []
        assert answer["streak"] == day
        assert answer["member"]["checkInStreak"] == day
        assert answer["pointsAwarded"] == rule.points(day), day
        awarded.append(answer["pointsAwarded"])
        clock.travel(timedelta(days=1))
    # base 5, +1 a day for at most 5 days, and +20 on every 7th day in a row
    assert awarded == [5, 6, 7, 8, 9, 10, 30, 10]
    assert awarded[6] == rule.points(6) + rule.weekly_bonus
    assert [(r.streak, r.points) for r in await check_in_rows()] == list(
        zip(range(1, 9), awarded, strict=True)
    )
    after = await viewer(api)
    experience = api.settings.earning(PointReason.CHECK_IN).experience
    assert after["points"] == before["points"] + sum(awarded)
    assert after["experience"] == before["experience"] + 8 * experience


async def test_missing_a_day_restarts_the_streak_at_one(api):
    for day in range(1, 4):
        assert (await check_in(api))["streak"] == day
        clock.travel(timedelta(days=1))
    clock.travel(timedelta(days=1))  # a day without checking in
    answer = await check_in(api)
    assert answer["newCheckIn"] is True
    assert answer["streak"] == 1 and answer["member"]["checkInStreak"] == 1
    assert answer["pointsAwarded"] == api.settings.check_in.points(1)
    clock.travel(timedelta(days=1))
    assert (await check_in(api))["streak"] == 2
    assert [r.streak for r in await check_in_rows()] == [1, 2, 3, 1, 2]


async def test_the_member_streak_counts_today_or_yesterday_and_reads_zero_after_a_missed_day(
    api,
):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    assert (await viewer(api))["checkInStreak"] == 0
    await check_in(api)
    clock.travel(timedelta(days=1))
    await check_in(api)
    assert (await viewer(api))["checkInStreak"] == 2
    clock.travel(timedelta(days=1))  # checked in yesterday, not yet today: still the streak
    assert (await viewer(api))["checkInStreak"] == 2
    seen_by_others = "query($id: ID!) { member(id: $id) { checkInStreak } }"
    alice = (await api("{ viewer { id } }", as_="alice"))["viewer"]["id"]
    assert (await api(seen_by_others, {"id": alice}, as_="bob"))["member"] == {"checkInStreak": 2}
    clock.travel(timedelta(days=1))  # a whole day went by without a check-in
    assert (await viewer(api))["checkInStreak"] == 0
    assert (await api(seen_by_others, {"id": alice}))["member"] == {"checkInStreak": 0}
    assert (await check_in(api))["streak"] == 1
    assert (await viewer(api))["checkInStreak"] == 1


# ---------------------------------------------------------------- the community's calendar


async def test_a_local_midnight_within_one_utc_day_starts_a_new_check_in_day(api):
    pin_zone(api, "Asia/Shanghai")
    day = date(2030, 3, 10)
    late = local(api, day, 23, 50)  # 15:50 UTC
    set_clock(late)
    assert (late.astimezone(UTC).hour, late.astimezone(UTC).minute) == (15, 50)
    first = await check_in(api)
    assert (first["newCheckIn"], first["streak"]) == (True, 1)
    clock.travel(timedelta(minutes=20))  # 00:10 the next local day, 16:10 the same UTC day
    assert clock.now().astimezone(UTC).date() == late.astimezone(UTC).date()
    second = await check_in(api)
    assert (second["newCheckIn"], second["streak"]) == (True, 2)
    assert second["pointsAwarded"] == api.settings.check_in.points(2)
    assert [(r.day, r.streak) for r in await check_in_rows()] == [
        (day, 1),
        (day + timedelta(days=1), 2),
    ]


async def test_two_utc_days_within_one_local_day_are_one_check_in_day(api):
    pin_zone(api, "Asia/Shanghai")
    day = date(2030, 3, 10)
    early = local(api, day, 0, 10)  # 16:10 UTC the day before
    set_clock(early)
    assert (await check_in(api))["newCheckIn"] is True
    set_clock(local(api, day, 23, 50))  # 15:50 UTC: another UTC day, the same local one
    assert clock.now().astimezone(UTC).date() == early.astimezone(UTC).date() + timedelta(days=1)
    again = await check_in(api)
    assert (again["newCheckIn"], again["pointsAwarded"], again["streak"]) == (False, 0, 1)
    assert [r.day for r in await check_in_rows()] == [day]
    clock.travel(timedelta(minutes=20))  # 00:10 the next local day
    assert (await check_in(api))["streak"] == 2


async def test_crossing_utc_midnight_in_the_local_morning_is_not_a_new_day(api):
    pin_zone(api, "Asia/Shanghai")
    day = date(2030, 3, 10)
    set_clock(local(api, day, 7, 50))  # 23:50 UTC the day before
    assert (await check_in(api))["newCheckIn"] is True
    clock.travel(timedelta(minutes=20))  # 00:10 UTC, 08:10 the same local day
    again = await check_in(api)
    assert (again["newCheckIn"], again["pointsAwarded"]) == (False, 0)
    assert len(await check_in_rows()) == 1
    assert await check_in_ledger_rows() == 1


# ---------------------------------------------------------------- who may check in


async def test_banned_members_cannot_check_in(api):
    before = await viewer(api)
    await Member.filter(mall_user_id="alice").update(status=MemberStatus.BANNED)
    answer = await check_in(api)
    assert answer["streak"] is None and answer["pointsAwarded"] is None
    assert answer["newCheckIn"] is None and answer["member"] is None
    assert [e["code"] for e in answer["errors"]] == ["FORBIDDEN"]
    assert await CheckIn.all().count() == 0
    assert (await Member.get(mall_user_id="alice")).points == before["points"]


async def test_anonymous_callers_cannot_check_in(api):
    answer = (await api(CHECK_IN))["checkIn"]
    assert answer["streak"] is None and answer["member"] is None
    assert [e["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
    assert await CheckIn.all().count() == 0


async def test_muted_members_may_still_check_in(api):
    before = await viewer(api)
    await Member.filter(mall_user_id="alice").update(
        status=MemberStatus.MUTED, muted_until=clock.now() + timedelta(days=3)
    )
    answer = await check_in(api)
    assert answer["errors"] == [] and answer["newCheckIn"] is True
    assert answer["member"]["points"] == before["points"] + api.settings.check_in.points(1)
    assert len(await check_in_rows()) == 1


# ---------------------------------------------------------------- activity


async def test_a_check_in_counts_as_activity_on_its_local_day(api):
    pin_zone(api, "Asia/Shanghai")
    day = date(2030, 3, 10)
    set_clock(local(api, day, 0, 10))  # still the 9th in UTC
    await check_in(api)
    await check_in(api)
    alice = await Member.get(mall_user_id="alice")
    assert [a.day for a in await ActivityDay.filter(member_id=alice.pk)] == [day]
    clock.travel(timedelta(days=1))
    await check_in(api)
    days = ActivityDay.filter(member_id=alice.pk).order_by("day")
    assert await days.values_list("day", flat=True) == [day, day + timedelta(days=1)]
