"""Shared steps of the growth tests: check in, create reward items and redeem them."""

from __future__ import annotations

from tests.forum import ADMIN

CHECK_IN = """
mutation {
  checkIn {
    streak pointsAwarded newCheckIn
    member { points experience checkInStreak }
    errors { code message }
  }
}"""
ITEM_FIELDS = (
    "id name description costPoints stock minLevel mallRewardCode requiredPrivilege active"
)
CREATE_ITEM = f"""
mutation($input: CreateRewardItemInput!) {{
  createRewardItem(input: $input) {{ item {{ {ITEM_FIELDS} }} errors {{ field code message }} }}
}}"""
REDEEM = """
mutation($itemId: ID!, $key: String!) {
  redeemReward(itemId: $itemId, idempotencyKey: $key) {
    redemption { id costPoints status item { id stock } }
    errors { field code message }
  }
}"""
ADMIN_ROLES = ("admin",)


async def check_in(api, who="alice"):
    return (await api(CHECK_IN, as_=who))["checkIn"]


def item_input(**fields) -> dict:
    return {
        "name": "10元优惠券",
        "description": "Ten off any order",
        "costPoints": 30,
        "stock": 10,
        "minLevel": 0,
        "mallRewardCode": "CPN-10",
        **fields,
    }


async def attempt_create(api, as_=ADMIN, roles=ADMIN_ROLES, **fields) -> dict:
    data = await api(CREATE_ITEM, {"input": item_input(**fields)}, as_=as_, roles=roles)
    return data["createRewardItem"]


async def create_item(api, **fields) -> dict:
    answer = await attempt_create(api, **fields)
    assert answer["errors"] == [], answer
    return answer["item"]


async def redeem(api, item_id, key="order-1", as_="alice", roles=()) -> dict:
    data = await api(REDEEM, {"itemId": item_id, "key": key}, as_=as_, roles=roles)
    return data["redeemReward"]
