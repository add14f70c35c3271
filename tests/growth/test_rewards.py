"""Rewards (积分兑换): the catalogue admins keep, and members' redemptions with their points,
stock and idempotency keys, with the `redemption.created` outbox event."""

from __future__ import annotations

import pytest

from mallforum.ids import encode_id
from models import Member, MemberStatus, PointReason, Redemption, RewardItem
from tests.forum import ADMIN, CALLERS, pk_of, promote
from tests.growth.reward_steps import (
    HISTORY,
    ITEM_NODE,
    ITEMS,
    MY_REDEMPTIONS,
    REDEMPTION_NODE,
    balance,
    codes,
    gift,
    join,
    redeemed,
    redemption_events,
    rows_of,
    stock_of,
    update_item,
)
from tests.growth.steps import ADMIN_ROLES, attempt_create, create_item, redeem

# ---------------------------------------------------------------- the catalogue


async def test_an_admin_creates_a_reward_item_with_every_field(api):
    answer = await attempt_create(api, requiredPrivilege="PRODUCT_TRIALS", minLevel=4)
    assert answer["errors"] == []
    item = answer["item"]
    assert item == {
        "id": item["id"],
        "name": "10元优惠券",
        "description": "Ten off any order",
        "costPoints": 30,
        "stock": 10,
        "minLevel": 4,
        "mallRewardCode": "CPN-10",
        "requiredPrivilege": "PRODUCT_TRIALS",
        "active": True,
    }
    stored = await RewardItem.get(id=pk_of(item["id"]))
    assert (stored.name, stored.cost_points, stored.stock, stored.mall_reward_code) == (
        "10元优惠券",
        30,
        10,
        "CPN-10",
    )


async def test_every_invalid_field_of_a_new_item_is_reported_at_once_and_nothing_is_stored(api):
    answer = await attempt_create(
        api,
        name="",
        costPoints=-1,
        stock=-1,
        minLevel=api.settings.levels.levels[-1].level + 1,
        mallRewardCode="",
        requiredPrivilege="FLYING",
    )
    assert answer["item"] is None
    assert sorted(codes(answer)) == sorted(
        ("INVALID", ["input", field])
        for field in (
            "name",
            "costPoints",
            "stock",
            "minLevel",
            "mallRewardCode",
            "requiredPrivilege",
        )
    )
    assert await RewardItem.all().count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "n" * 65}, "name"),
        ({"name": "   "}, "name"),
        ({"minLevel": -1}, "minLevel"),
        ({"mallRewardCode": "   "}, "mallRewardCode"),
        ({"requiredPrivilege": "P" * 33}, "requiredPrivilege"),  # longer than its column
    ],
)
async def test_a_bad_field_of_a_new_item_is_invalid_and_stores_nothing(api, fields, field):
    answer = await attempt_create(api, **fields)
    assert answer["item"] is None
    assert codes(answer) == [("INVALID", ["input", field])]
    assert await RewardItem.all().count() == 0


async def test_fields_at_their_limits_make_an_item(api):
    top = api.settings.levels.levels[-1].level
    item = await create_item(api, name="n" * 64, costPoints=0, stock=0, minLevel=top)
    assert (item["name"], item["costPoints"], item["stock"], item["minLevel"]) == (
        "n" * 64,
        0,
        0,
        top,
    )


@pytest.mark.parametrize(
    ("caller", "code"),
    [("anonymous", "UNAUTHENTICATED"), ("member", "FORBIDDEN"), ("moderator", "FORBIDDEN")],
)
async def test_only_admins_create_or_update_items(api, caller, code):
    item = await create_item(api)
    sub, roles = CALLERS[caller]
    created = await attempt_create(api, as_=sub, roles=roles, name="Mine")
    assert created["item"] is None and codes(created) == [(code, None)]
    updated = await update_item(api, item["id"], as_=sub, roles=roles, costPoints=1)
    assert updated["item"] is None and codes(updated) == [(code, None)]
    assert await RewardItem.all().count() == 1
    assert (await RewardItem.get(id=pk_of(item["id"]))).cost_points == 30


async def test_updating_an_item_changes_only_the_fields_given(api):
    item = await create_item(api)
    answer = await update_item(api, item["id"], costPoints=50, stock=3)
    assert answer["errors"] == []
    assert answer["item"] == {**item, "costPoints": 50, "stock": 3}
    stored = await RewardItem.get(id=pk_of(item["id"]))
    assert (stored.cost_points, stored.stock, stored.name) == (50, 3, item["name"])


async def test_a_redemption_keeps_the_cost_it_was_made_at_and_later_ones_pay_the_new_cost(api):
    await join(api, "alice")
    item, first = await redeemed(api)
    await update_item(api, item["id"], costPoints=50)
    second = await redeem(api, item["id"], key="order-2")
    assert second["errors"] == [] and second["redemption"]["costPoints"] == 50
    node = await api(REDEMPTION_NODE, {"id": first["id"]}, as_="alice")
    assert node["node"]["costPoints"] == 30
    assert await balance("alice") == gift(api) - 30 - 50


async def test_an_invalid_update_is_reported_and_changes_nothing(api):
    item = await create_item(api)
    answer = await update_item(api, item["id"], name="", costPoints=-5, minLevel=-1)
    assert answer["item"] is None
    assert sorted(codes(answer)) == [
        ("INVALID", ["input", "costPoints"]),
        ("INVALID", ["input", "minLevel"]),
        ("INVALID", ["input", "name"]),
    ]
    stored = await RewardItem.get(id=pk_of(item["id"]))
    assert (stored.name, stored.cost_points, stored.min_level) == (item["name"], 30, 0)


async def test_updating_an_unknown_item_is_not_found(api):
    answer = await update_item(api, encode_id("RewardItem", 999_999), costPoints=1)
    assert answer["item"] is None
    assert codes(answer) == [("NOT_FOUND", ["input", "id"])]


async def test_a_withdrawn_item_is_hidden_from_members_and_cannot_be_redeemed(api):
    await join(api, "alice")
    kept = await create_item(api, name="Kept")
    withdrawn = await create_item(api, name="Withdrawn")
    answer = await update_item(api, withdrawn["id"], active=False)
    assert answer["errors"] == [] and answer["item"]["active"] is False

    for sub in ("alice", None):
        listed = (await api(ITEMS, as_=sub))["rewardItems"]
        assert [e["node"]["id"] for e in listed["edges"]] == [kept["id"]]
        assert listed["totalCount"] == 1
    for sub in ("alice", None):
        assert (await api(ITEM_NODE, {"id": withdrawn["id"]}, as_=sub))["node"] is None
    by_id = await api(ITEM_NODE, {"id": withdrawn["id"]}, as_=ADMIN, roles=ADMIN_ROLES)
    assert by_id["node"] == {"id": withdrawn["id"], "active": False}

    by_admin = (await api(ITEMS, as_=ADMIN, roles=ADMIN_ROLES))["rewardItems"]
    assert [(e["node"]["id"], e["node"]["active"]) for e in by_admin["edges"]] == [
        (withdrawn["id"], False),
        (kept["id"], True),
    ]
    assert by_admin["totalCount"] == 2

    refused = await redeem(api, withdrawn["id"])
    assert refused["redemption"] is None
    assert codes(refused) == [("NOT_FOUND", ["itemId"])]
    assert await balance("alice") == gift(api)
    assert await stock_of(withdrawn) == 10
    assert await redemption_events() == []


async def test_reward_items_are_listed_newest_first_in_pages_with_a_total(api):
    made = [await create_item(api, name=f"Item {n}") for n in range(5)]
    newest_first = [item["id"] for item in reversed(made)]
    seen, after = [], None
    while True:
        page = (await api(ITEMS, {"first": 2, "after": after}, as_="alice"))["rewardItems"]
        assert page["totalCount"] == 5
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == newest_first


# ---------------------------------------------------------------- redeeming


async def test_redeeming_spends_the_cost_takes_a_unit_and_is_pending(api):
    await join(api, "alice")
    item, redemption = await redeemed(api)
    assert redemption == {
        "id": redemption["id"],
        "costPoints": 30,
        "status": "PENDING",
        "item": {"id": item["id"], "stock": 9},
    }
    assert await balance("alice") == gift(api) - 30
    assert await stock_of(item) == 9

    history = (await api(HISTORY, as_="alice"))["pointHistory"]["edges"]
    assert history[0]["node"] == {
        "delta": -30,
        "reason": "REDEMPTION",
        "balanceAfter": gift(api) - 30,
    }
    mine = (await api(MY_REDEMPTIONS, as_="alice"))["viewerRedemptions"]
    assert mine["totalCount"] == 1
    assert mine["edges"][0]["node"] == {
        "id": redemption["id"],
        "costPoints": 30,
        "status": "PENDING",
        "item": {"id": item["id"]},
    }
    others = (await api(MY_REDEMPTIONS, as_="bob"))["viewerRedemptions"]
    assert others["totalCount"] == 0 and others["edges"] == []


async def test_a_redemption_writes_one_redemption_created_event_for_the_mall(api):
    await join(api, "alice")
    item, redemption = await redeemed(api)
    events = await redemption_events()
    assert len(events) == 1
    assert {key: events[0][key] for key in ("redemptionId", "mallUserId", "costPoints")} == {
        "redemptionId": redemption["id"],
        "mallUserId": "alice",
        "costPoints": 30,
    }
    assert events[0]["mallRewardCode"] == item["mallRewardCode"]


async def test_too_few_points_is_refused_and_changes_nothing(api):
    await join(api, "alice")
    item = await create_item(api, costPoints=gift(api) + 1)
    answer = await redeem(api, item["id"])
    assert answer["redemption"] is None
    assert codes(answer) == [("INSUFFICIENT_POINTS", None)]
    assert await balance("alice") == gift(api)
    assert await stock_of(item) == 10
    assert await Redemption.all().count() == 0
    assert await rows_of("alice", PointReason.REDEMPTION) == []
    assert await redemption_events() == []


async def test_an_item_out_of_stock_is_refused_and_spends_nothing(api):
    await join(api, "alice")
    item = await create_item(api, stock=0)
    answer = await redeem(api, item["id"])
    assert answer["redemption"] is None
    assert codes(answer) == [("OUT_OF_STOCK", None)]
    assert await balance("alice") == gift(api)
    assert await stock_of(item) == 0
    assert await Redemption.all().count() == 0
    assert await redemption_events() == []


async def test_the_last_unit_goes_and_then_the_item_is_out_of_stock(api):
    await join(api, "alice", "bob")
    item = await create_item(api, stock=1)
    assert (await redeem(api, item["id"], as_="alice"))["errors"] == []
    answer = await redeem(api, item["id"], as_="bob")
    assert codes(answer) == [("OUT_OF_STOCK", None)]
    assert await stock_of(item) == 0
    assert await balance("bob") == gift(api)


async def test_unlimited_stock_never_runs_out(api):
    await join(api, "alice")
    item = await create_item(api, stock=None, costPoints=10)
    for n in range(gift(api) // 10):
        answer = await redeem(api, item["id"], key=f"order-{n}")
        assert answer["errors"] == [], answer
        assert answer["redemption"]["item"]["stock"] is None
    assert await stock_of(item) is None
    assert await Redemption.all().count() == gift(api) // 10
    assert await balance("alice") == gift(api) % 10


async def test_a_member_below_the_item_level_is_refused_until_promoted(api):
    await join(api, "alice")
    item = await create_item(api, minLevel=2)
    answer = await redeem(api, item["id"])
    assert codes(answer) == [("LEVEL_TOO_LOW", None)]
    assert await balance("alice") == gift(api)
    assert await Redemption.all().count() == 0
    assert await redemption_events() == []
    await promote(api, "alice", 2)
    assert (await redeem(api, item["id"]))["errors"] == []


async def test_an_item_needing_a_privilege_waits_for_the_level_that_grants_it(api):
    item = await create_item(api, requiredPrivilege="PRODUCT_TRIALS")
    granting = api.settings.levels.lowest_granting("PRODUCT_TRIALS").level
    await promote(api, "alice", granting - 1)
    assert codes(await redeem(api, item["id"])) == [("LEVEL_TOO_LOW", None)]
    await promote(api, "alice", granting)
    assert (await redeem(api, item["id"]))["errors"] == []


@pytest.mark.parametrize("key", ["", "   ", "k" * 129])
async def test_an_empty_or_overlong_idempotency_key_is_invalid(api, key):
    await join(api, "alice")
    item = await create_item(api)
    answer = await redeem(api, item["id"], key=key)
    assert answer["redemption"] is None
    assert codes(answer) == [("INVALID", ["idempotencyKey"])]
    assert await balance("alice") == gift(api)
    assert await Redemption.all().count() == 0


async def test_an_idempotency_key_of_128_characters_is_accepted(api):
    item = await create_item(api)
    assert (await redeem(api, item["id"], key="k" * 128))["errors"] == []


async def test_the_same_key_twice_returns_the_first_redemption_and_spends_once(api):
    await join(api, "alice")
    item, first = await redeemed(api)
    again = await redeem(api, item["id"])
    assert again["errors"] == []
    assert again["redemption"]["id"] == first["id"]
    assert await balance("alice") == gift(api) - 30
    assert await stock_of(item) == 9
    assert len(await rows_of("alice", PointReason.REDEMPTION)) == 1
    assert len(await redemption_events()) == 1


async def test_the_same_key_for_another_item_is_a_conflict(api):
    await join(api, "alice")
    _, first = await redeemed(api)
    other = await create_item(api, name="Other")
    answer = await redeem(api, other["id"])
    assert answer["redemption"] is None
    assert codes(answer) == [("CONFLICT", ["idempotencyKey"])]
    assert await balance("alice") == gift(api) - 30
    assert await stock_of(other) == 10
    assert [r.pk for r in await Redemption.all()] == [pk_of(first["id"])]


async def test_the_same_key_used_by_two_members_makes_two_redemptions(api):
    await join(api, "alice", "bob")
    item = await create_item(api)
    alice = await redeem(api, item["id"], key="shared", as_="alice")
    bob = await redeem(api, item["id"], key="shared", as_="bob")
    assert alice["redemption"]["id"] != bob["redemption"]["id"]
    assert await balance("alice") == await balance("bob") == gift(api) - 30


async def test_banned_members_and_anonymous_callers_cannot_redeem(api):
    item = await create_item(api)
    await join(api, "banned")
    await Member.filter(mall_user_id="banned").update(status=MemberStatus.BANNED)
    assert codes(await redeem(api, item["id"], as_="banned")) == [("FORBIDDEN", None)]
    assert codes(await redeem(api, item["id"], as_=None)) == [("UNAUTHENTICATED", None)]
    assert await balance("banned") == gift(api)
    assert await Redemption.all().count() == 0
    assert await stock_of(item) == 10


async def test_an_unknown_item_is_not_found(api):
    answer = await redeem(api, encode_id("RewardItem", 999_999))
    assert codes(answer) == [("NOT_FOUND", ["itemId"])]
