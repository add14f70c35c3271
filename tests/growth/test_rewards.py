"""Rewards (积分兑换): the catalogue admins keep, members' redemptions with their points,
stock and idempotency keys (exact under concurrency), the `redemption.created` outbox event,
the mall's settling (ISSUED, or REFUNDED once) and who may see a redemption."""

from __future__ import annotations

import pytest
from tortoise.functions import Sum

from mallforum.ids import encode_id
from models import (
    Member,
    MemberStatus,
    OutboxEvent,
    PointReason,
    PointTransaction,
    Redemption,
    RewardItem,
)
from tests.forum import ADMIN, CALLERS, MODERATOR, SERVICE, concurrently, pk_of, promote
from tests.growth.steps import (
    ADMIN_ROLES,
    ITEM_FIELDS,
    REDEEM,
    attempt_create,
    create_item,
    redeem,
)

UPDATE_ITEM = f"""
mutation($input: UpdateRewardItemInput!) {{
  updateRewardItem(input: $input) {{ item {{ {ITEM_FIELDS} }} errors {{ field code message }} }}
}}"""
SETTLE = """
mutation($id: ID!, $issued: Boolean!) {
  settleRedemption(redemptionId: $id, issued: $issued) {
    redemption { id costPoints status }
    errors { field code message }
  }
}"""
ITEMS = """
query($first: Int, $after: String) {
  rewardItems(first: $first, after: $after) {
    totalCount
    edges { node { id name active } }
    pageInfo { hasNextPage endCursor }
  }
}"""
MY_REDEMPTIONS = """
{ viewerRedemptions { totalCount edges { node { id costPoints status item { id } } } } }"""
HISTORY = "{ pointHistory { edges { node { delta reason balanceAfter } } } }"
REDEMPTION_NODE = """
query($id: ID!) { node(id: $id) { ... on Redemption { id costPoints status item { id } } } }"""

ITEM_NODE = "query($id: ID!) { node(id: $id) { ... on RewardItem { id active } } }"

SERVICE_ROLES = ("service",)


# ---------------------------------------------------------------- helpers


def gift(api) -> int:
    """The welcome gift's points: every member's balance before spending."""
    return api.settings.earning(PointReason.WELCOME_GIFT).points


async def update_item(api, item_id, as_=ADMIN, roles=ADMIN_ROLES, **fields) -> dict:
    variables = {"input": {"id": item_id, **fields}}
    return (await api(UPDATE_ITEM, variables, as_=as_, roles=roles))["updateRewardItem"]


async def settle(api, redemption_id, issued, as_=SERVICE, roles=SERVICE_ROLES) -> dict:
    variables = {"id": redemption_id, "issued": issued}
    return (await api(SETTLE, variables, as_=as_, roles=roles))["settleRedemption"]


def codes(answer: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in answer["errors"]]


async def join(api, *subs: str) -> None:
    """Provision members (with their welcome gift) before a test measures their balance."""
    for sub in subs:
        await api("{ viewer { id } }", as_=sub)


async def balance(sub: str) -> int:
    return (await Member.get(mall_user_id=sub)).points


async def ledger_sum(sub: str) -> int:
    member = await Member.get(mall_user_id=sub)
    total = (
        await PointTransaction.filter(member_id=member.pk)
        .annotate(total=Sum("delta"))
        .first()
        .values("total")
    )
    return int(total["total"] or 0)


async def rows_of(sub: str, reason: PointReason) -> list[PointTransaction]:
    member = await Member.get(mall_user_id=sub)
    return await PointTransaction.filter(member_id=member.pk, reason=reason)


async def stock_of(item: dict) -> int | None:
    return (await RewardItem.get(id=pk_of(item["id"]))).stock


async def redemption_events() -> list[dict]:
    return [e.payload for e in await OutboxEvent.filter(kind="redemption.created").order_by("id")]


async def redeemed(api) -> tuple[dict, dict]:
    """An item of stock 10 costing 30, and alice's redemption of it."""
    item = await create_item(api)
    answer = await redeem(api, item["id"])
    assert answer["errors"] == [], answer
    return item, answer["redemption"]


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


# ---------------------------------------------------------------- under concurrency


async def test_twenty_members_racing_for_five_units_get_exactly_five(api):
    members = [f"racer-{n}" for n in range(20)]
    await join(api, *members)
    item = await create_item(api, stock=5, costPoints=min(40, gift(api)))
    cost = item["costPoints"]
    answers = await concurrently(
        api.post(REDEEM, {"itemId": item["id"], "key": "go"}, as_=sub) for sub in members
    )
    results = [a["redeemReward"] for a in answers]
    won = {sub for sub, r in zip(members, results, strict=True) if r["errors"] == []}
    assert len(won) == 5
    assert sorted(codes(r) for r in results if r["errors"]) == [[("OUT_OF_STOCK", None)]] * 15
    assert await stock_of(item) == 0
    assert await Redemption.all().count() == 5
    assert len(await redemption_events()) == 5
    for sub in members:
        expected = gift(api) - cost if sub in won else gift(api)
        assert await balance(sub) == expected, sub
        assert await ledger_sum(sub) == expected, sub


async def test_ten_concurrent_calls_with_one_key_make_one_redemption(api):
    await join(api, "alice")
    item = await create_item(api)
    answers = await concurrently(
        api.post(REDEEM, {"itemId": item["id"], "key": "retry"}, as_="alice") for _ in range(10)
    )
    results = [a["redeemReward"] for a in answers]
    assert all(r["errors"] == [] for r in results), results
    assert len({r["redemption"]["id"] for r in results}) == 1
    assert await Redemption.all().count() == 1
    assert await balance("alice") == await ledger_sum("alice") == gift(api) - 30
    assert await stock_of(item) == 9
    assert len(await redemption_events()) == 1


async def test_one_member_racing_ten_keys_spends_no_more_than_the_balance(api):
    await join(api, "alice")
    item = await create_item(api, stock=None, costPoints=30)
    answers = await concurrently(
        api.post(REDEEM, {"itemId": item["id"], "key": f"k{n}"}, as_="alice") for n in range(10)
    )
    results = [a["redeemReward"] for a in answers]
    affordable = gift(api) // 30
    assert sum(r["errors"] == [] for r in results) == affordable
    refused = [codes(r) for r in results if r["errors"]]
    assert refused == [[("INSUFFICIENT_POINTS", None)]] * (10 - affordable)
    assert await balance("alice") == await ledger_sum("alice") == gift(api) - 30 * affordable
    assert await balance("alice") >= 0
    assert all(r.balance_after >= 0 for r in await rows_of("alice", PointReason.REDEMPTION))
    assert len(await redemption_events()) == affordable


# ---------------------------------------------------------------- settling


async def test_an_issued_redemption_keeps_the_points_spent(api):
    await join(api, "alice")
    item, redemption = await redeemed(api)
    answer = await settle(api, redemption["id"], True)
    assert answer["errors"] == []
    assert answer["redemption"] == {"id": redemption["id"], "costPoints": 30, "status": "ISSUED"}
    stored = await Redemption.get(id=pk_of(redemption["id"]))
    assert stored.status == "ISSUED" and stored.settled_at is not None
    assert await balance("alice") == gift(api) - 30
    assert await stock_of(item) == 9
    assert await rows_of("alice", PointReason.REDEMPTION_REFUND) == []


async def test_a_refunded_redemption_gives_the_points_and_the_unit_back(api):
    await join(api, "alice")
    item, redemption = await redeemed(api)
    answer = await settle(api, redemption["id"], False)
    assert answer["errors"] == []
    assert answer["redemption"]["status"] == "REFUNDED"
    assert await balance("alice") == await ledger_sum("alice") == gift(api)
    assert await stock_of(item) == 10
    refunds = await rows_of("alice", PointReason.REDEMPTION_REFUND)
    assert [(r.delta, r.balance_after) for r in refunds] == [(30, gift(api))]
    history = (await api(HISTORY, as_="alice"))["pointHistory"]["edges"]
    assert history[0]["node"] == {
        "delta": 30,
        "reason": "REDEMPTION_REFUND",
        "balanceAfter": gift(api),
    }
    mine = (await api(MY_REDEMPTIONS, as_="alice"))["viewerRedemptions"]["edges"]
    assert mine[0]["node"]["status"] == "REFUNDED"


async def test_settling_the_same_way_again_answers_it_and_refunds_nothing_more(api):
    await join(api, "alice")
    item, redemption = await redeemed(api)
    await settle(api, redemption["id"], False)
    again = await settle(api, redemption["id"], False)
    assert again["errors"] == []
    assert again["redemption"]["status"] == "REFUNDED"
    assert await balance("alice") == gift(api)
    assert await stock_of(item) == 10
    assert len(await rows_of("alice", PointReason.REDEMPTION_REFUND)) == 1

    issued = (await redeem(api, item["id"], key="order-2"))["redemption"]
    await settle(api, issued["id"], True)
    again = await settle(api, issued["id"], True)
    assert again["errors"] == [] and again["redemption"]["status"] == "ISSUED"
    assert await balance("alice") == gift(api) - 30
    assert await stock_of(item) == 9


async def test_ten_concurrent_refunds_refund_once(api):
    await join(api, "alice")
    item, redemption = await redeemed(api)
    variables = {"id": redemption["id"], "issued": False}
    answers = await concurrently(
        api.post(SETTLE, variables, as_=SERVICE, roles=SERVICE_ROLES) for _ in range(10)
    )
    results = [a["settleRedemption"] for a in answers]
    assert all(r["errors"] == [] and r["redemption"]["status"] == "REFUNDED" for r in results)
    assert len(await rows_of("alice", PointReason.REDEMPTION_REFUND)) == 1
    assert await balance("alice") == await ledger_sum("alice") == gift(api)
    assert await stock_of(item) == 10


@pytest.mark.parametrize(("first", "then"), [(False, True), (True, False)])
async def test_settling_the_other_way_afterwards_is_a_conflict(api, first, then):
    await join(api, "alice")
    item, redemption = await redeemed(api)
    await settle(api, redemption["id"], first)
    points, stock = await balance("alice"), await stock_of(item)
    answer = await settle(api, redemption["id"], then)
    assert answer["redemption"] is None
    assert codes(answer) == [("CONFLICT", None)]
    assert (await balance("alice"), await stock_of(item)) == (points, stock)
    status = "REFUNDED" if first is False else "ISSUED"
    assert (await Redemption.get(id=pk_of(redemption["id"]))).status == status


async def test_settling_an_unknown_redemption_is_not_found(api):
    answer = await settle(api, encode_id("Redemption", 999_999), True)
    assert codes(answer) == [("NOT_FOUND", ["redemptionId"])]


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("anonymous", "UNAUTHENTICATED"),
        ("member", "FORBIDDEN"),
        ("moderator", "FORBIDDEN"),
        ("admin", "FORBIDDEN"),
    ],
)
async def test_only_the_service_settles_redemptions(api, caller, code):
    await join(api, "alice")
    item, redemption = await redeemed(api)
    sub, roles = CALLERS[caller]
    answer = await settle(api, redemption["id"], False, as_=sub, roles=roles)
    assert answer["redemption"] is None
    assert codes(answer) == [(code, None)]
    assert (await Redemption.get(id=pk_of(redemption["id"]))).status == "PENDING"
    assert await balance("alice") == gift(api) - 30
    assert await stock_of(item) == 9


# ---------------------------------------------------------------- who sees a redemption


@pytest.mark.parametrize(
    ("sub", "roles", "visible"),
    [
        ("alice", (), True),
        (ADMIN, ADMIN_ROLES, True),
        (SERVICE, SERVICE_ROLES, True),
        ("bob", (), False),
        (MODERATOR, ("moderator",), False),
        (None, (), False),
    ],
)
async def test_a_redemption_is_seen_by_its_member_admins_and_the_service_only(
    api, sub, roles, visible
):
    item, redemption = await redeemed(api)
    node = (await api(REDEMPTION_NODE, {"id": redemption["id"]}, as_=sub, roles=roles))["node"]
    if visible:
        assert node == {
            "id": redemption["id"],
            "costPoints": 30,
            "status": "PENDING",
            "item": {"id": item["id"]},
        }
    else:
        assert node is None
