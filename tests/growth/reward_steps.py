"""Steps of the rewards tests: update and settle items and redemptions, and read balances,
ledger rows, stock and the outbox events they leave."""

from __future__ import annotations

from tortoise.functions import Sum

from models import Member, OutboxEvent, PointReason, PointTransaction, RewardItem
from tests.forum import ADMIN, SERVICE, pk_of
from tests.growth.steps import ADMIN_ROLES, ITEM_FIELDS, create_item, redeem

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
