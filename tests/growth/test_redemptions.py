"""Redemptions racing for the last units (exact under concurrency), the mall's settling
(ISSUED, or REFUNDED once) and who may see a redemption."""

from __future__ import annotations

import pytest

from mallforum.ids import encode_id
from models import PointReason, Redemption
from tests.forum import ADMIN, CALLERS, MODERATOR, SERVICE, concurrently, pk_of
from tests.growth.reward_steps import (
    HISTORY,
    MY_REDEMPTIONS,
    REDEMPTION_NODE,
    SERVICE_ROLES,
    SETTLE,
    balance,
    codes,
    gift,
    join,
    ledger_sum,
    redeemed,
    redemption_events,
    rows_of,
    settle,
    stock_of,
)
from tests.growth.steps import ADMIN_ROLES, REDEEM, create_item, redeem

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
