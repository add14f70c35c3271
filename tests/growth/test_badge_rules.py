"""Each automatic badge rule (first topic, check-in streaks, active days in a month, likes
received, verified buyer) awarding once at its threshold."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from mallforum import clock
from models import ActivityDay, Member
from resolvers.badges import sync_catalogue
from tests.clock_steps import local, set_clock
from tests.forum import LIKE, SERVICE, concurrently, create_board, create_comment, create_topic
from tests.growth.badge_steps import (
    RECORD_PURCHASE,
    UNLIKE,
    award_rows,
    badges_of,
    codes_of,
    holders,
    like,
    member_id,
    with_badges_file,
)
from tests.growth.steps import check_in

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar


# ---------------------------------------------------------------- first topic


@pytest.mark.usefixtures("no_rate_limits")
async def test_the_first_published_topic_awards_first_topic_and_a_second_does_not_again(api):
    board = await create_board(api)
    assert await codes_of(api, "alice") == []
    topic = await create_topic(api, board["id"], author="alice")
    assert topic["status"] == "PUBLISHED"
    assert await codes_of(api, "alice") == ["FIRST_TOPIC"]
    assert await holders(api, "FIRST_TOPIC") == 1
    await create_topic(api, board["id"], author="alice", title="Again", body="Second post")
    assert await codes_of(api, "alice") == ["FIRST_TOPIC"]
    assert await award_rows("FIRST_TOPIC") == 1
    assert await holders(api, "FIRST_TOPIC") == 1


async def test_two_members_first_topics_make_two_holders(api):
    board = await create_board(api)
    await create_topic(api, board["id"], author="alice")
    await create_topic(api, board["id"], author="bob", title="Bob's", body="Mine")
    assert await codes_of(api, "bob") == ["FIRST_TOPIC"]
    assert await holders(api, "FIRST_TOPIC") == 2
    assert await award_rows("FIRST_TOPIC") == 2


# ---------------------------------------------------------------- check-in streaks


async def check_in_days(api, days: int, who: str = "alice") -> None:
    """Check in on `days` consecutive days, the clock ending one day after the last."""
    for _ in range(days):
        assert (await check_in(api, who))["newCheckIn"] is True
        clock.travel(timedelta(days=1))


async def test_seven_consecutive_check_ins_award_check_in_7_but_six_do_not(api):
    await check_in_days(api, 6)
    assert "CHECK_IN_7" not in await codes_of(api, "alice")
    assert (await check_in(api))["streak"] == 7
    assert "CHECK_IN_7" in await codes_of(api, "alice")
    assert await holders(api, "CHECK_IN_7") == 1
    assert await award_rows("CHECK_IN_7") == 1


async def test_check_ins_broken_by_a_missed_day_do_not_add_up_to_a_streak_badge(api):
    await check_in_days(api, 6)
    clock.travel(timedelta(days=1))  # missed
    await check_in_days(api, 6)
    assert "CHECK_IN_7" not in await codes_of(api, "alice")
    assert await award_rows("CHECK_IN_7") == 0


async def test_thirty_consecutive_check_ins_award_check_in_30_but_twenty_nine_do_not(api):
    await check_in_days(api, 29)
    held = await codes_of(api, "alice")
    assert "CHECK_IN_7" in held and "CHECK_IN_30" not in held
    assert (await check_in(api))["streak"] == 30
    held = await codes_of(api, "alice")
    assert held[0] == "CHECK_IN_30"
    assert held.count("CHECK_IN_7") == 1
    assert await holders(api, "CHECK_IN_30") == 1


# ---------------------------------------------------------------- active days in a month


async def active_days(sub: str) -> list[date]:
    member = await Member.get(mall_user_id=sub)
    return (
        await ActivityDay.filter(member_id=member.pk).order_by("day").values_list("day", flat=True)
    )


async def test_fifteen_active_days_in_one_month_award_active_star_and_fourteen_do_not(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    await member_id(api, "bob")
    first = date(2030, 3, 1)
    for n in range(14):  # each kind of activity counts; two on one day count as one day
        set_clock(local(api, first + timedelta(days=n), 12))
        kind = n % 4
        if kind == 0:
            await check_in(api, "bob")
            await create_comment(api, topic["id"], author="bob", body=f"Same day {n}")
        elif kind == 1:
            await create_comment(api, topic["id"], author="bob", body=f"Day {n}")
        elif kind == 2:
            liked = await create_comment(api, topic["id"], author="alice", body=f"Like me {n}")
            await like(api, liked["id"], "bob")
        else:
            await create_topic(api, board["id"], author="bob", title=f"Day {n}", body="Hi")
    assert len(await active_days("bob")) == 14
    assert "ACTIVE_STAR" not in await codes_of(api, "bob")

    set_clock(local(api, first + timedelta(days=20), 12))
    await like(api, topic["id"], "bob")
    assert len(await active_days("bob")) == 15
    assert await codes_of(api, "bob") == ["ACTIVE_STAR", "FIRST_TOPIC"]
    assert await holders(api, "ACTIVE_STAR") == 1
    assert "ACTIVE_STAR" not in await codes_of(api, "alice")


async def test_active_days_spread_over_two_months_do_not_add_up(api):
    set_clock(local(api, date(2030, 3, 10), 12))
    for _ in range(11):  # every other day, 10 to 30 March: no streak to speak of
        assert (await check_in(api))["streak"] == 1
        clock.travel(timedelta(days=2))
    assert clock.now().astimezone(api.settings.zone).date() == date(2030, 4, 1)
    for _ in range(14):  # 1 to 27 April: 25 active days in all, 14 of them in April
        await check_in(api)
        clock.travel(timedelta(days=2))
    assert len(await active_days("alice")) == 25
    assert "ACTIVE_STAR" not in await codes_of(api, "alice")
    assert await award_rows("ACTIVE_STAR") == 0

    await check_in(api)  # 29 April: the 15th day of April
    awarded = (await badges_of(api, "alice"))["edges"][0]["node"]
    assert awarded["badge"]["code"] == "ACTIVE_STAR"
    at = datetime.fromisoformat(awarded["awardedAt"]).astimezone(api.settings.zone)
    assert at.date() == date(2030, 4, 29)


# ---------------------------------------------------------------- likes received


async def test_a_hundred_likes_from_other_members_award_quality_creator_self_likes_do_not(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    comment = await create_comment(api, topic["id"], author="alice", body="Mine too")
    await like(api, topic["id"], "alice")  # self-likes count on the subject, not for the badge
    await like(api, comment["id"], "alice")
    for start in (0, 33, 66):  # 99 other members, 33 at once
        datas = await concurrently(
            api.post(LIKE, {"id": topic["id"]}, as_=f"fan-{n}") for n in range(start, start + 33)
        )
        assert all(d["like"]["errors"] == [] for d in datas)
    assert (await Member.get(mall_user_id="alice")).likes_received == 99
    assert "QUALITY_CREATOR" not in await codes_of(api, "alice")

    assert (await api(UNLIKE, {"id": topic["id"]}, as_="fan-0"))["unlike"]["errors"] == []
    await like(api, topic["id"], "fan-0")  # the same liker again is not a new like
    assert (await Member.get(mall_user_id="alice")).likes_received == 99
    assert "QUALITY_CREATOR" not in await codes_of(api, "alice")
    assert await award_rows("QUALITY_CREATOR") == 0

    await like(api, comment["id"], "fan-99")  # likes on comments count as well
    assert (await Member.get(mall_user_id="alice")).likes_received == 100
    assert await codes_of(api, "alice") == ["QUALITY_CREATOR", "FIRST_TOPIC"]
    assert await holders(api, "QUALITY_CREATOR") == 1


LIKED_3 = """
[[badge]]
code = "LIKED_3"
name = "小有人气"
description = "Received 3 likes from other members."
kind = "AUTOMATIC"
rule = "likes_received"
threshold = 3
"""


@pytest.mark.usefixtures("no_rate_limits")
async def test_likes_on_a_deleted_topic_no_longer_count_as_likes_received(api, settings, tmp_path):
    await sync_catalogue(with_badges_file(settings, tmp_path, LIKED_3))  # a threshold of 3
    board = await create_board(api)
    removed = await create_topic(api, board["id"], author="alice", title="Gone", body="Soon")
    kept = await create_topic(api, board["id"], author="alice", title="Kept", body="Stays")
    for fan in ("fan-1", "fan-2"):
        await like(api, removed["id"], fan)
    delete = "mutation($id: ID!) { deleteTopic(id: $id) { errors { code } } }"
    assert (await api(delete, {"id": removed["id"]}, as_="alice"))["deleteTopic"]["errors"] == []
    for fan in ("fan-3", "fan-4"):
        await like(api, kept["id"], fan)
    # likes by others on the member's *published* topics and comments: 2, not 4
    assert (await Member.get(mall_user_id="alice")).likes_received == 2
    assert "LIKED_3" not in await codes_of(api, "alice")
    await like(api, kept["id"], "fan-5")
    assert "LIKED_3" in await codes_of(api, "alice")


# ---------------------------------------------------------------- verified buyer


async def record_purchase(api, sub: str, order_id: str = "O-1", sku: str = "SKU-1") -> None:
    purchase = {"mallUserId": sub, "sku": sku, "orderId": order_id}
    data = await api(RECORD_PURCHASE, {"input": purchase}, as_=SERVICE, roles=("service",))
    assert data["recordPurchase"] == {"recorded": True, "errors": []}


async def test_a_purchase_reported_for_a_member_awards_verified_buyer_once(api):
    assert await codes_of(api, "alice") == []
    await record_purchase(api, "alice")
    assert await codes_of(api, "alice") == ["VERIFIED_BUYER"]
    await record_purchase(api, "alice", order_id="O-2", sku="SKU-2")
    assert await codes_of(api, "alice") == ["VERIFIED_BUYER"]
    assert await award_rows("VERIFIED_BUYER") == 1
    assert await holders(api, "VERIFIED_BUYER") == 1
    assert await codes_of(api, "bob") == []


async def test_a_purchase_reported_before_the_first_sign_in_awards_verified_buyer_at_sign_in(api):
    await record_purchase(api, "newbie")
    assert not await Member.exists(mall_user_id="newbie")
    assert await award_rows("VERIFIED_BUYER") == 0
    assert await codes_of(api, "newbie") == ["VERIFIED_BUYER"]
    assert await holders(api, "VERIFIED_BUYER") == 1
    await member_id(api, "newbie")  # later requests change nothing
    assert await award_rows("VERIFIED_BUYER", "newbie") == 1
