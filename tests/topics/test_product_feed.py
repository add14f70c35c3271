"""The product page widget: topics naming a SKU, cacheable when public, and verified buyers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mallforum import clock
from models import Purchase
from tests.forum import (
    CALLERS,
    LIKE,
    SERVICE,
    concurrently,
    create_board,
    create_comment,
    create_topic,
)

# Members here write faster than the rate limits allow (feeds of many topics);
# the limits themselves are tested in test_flooding.py.
pytestmark = pytest.mark.usefixtures("no_rate_limits")

FEED = """
query($sku: String!, $first: Int, $after: String, $sort: TopicSort) {
  productFeed(sku: $sku, first: $first, after: $after, sort: $sort) {
    edges { cursor node { id title productSkus authorIsVerifiedBuyer } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
    totalCount
  }
}"""
DEFAULT_FEED = """
query($sku: String!) {
  productFeed(sku: $sku) { edges { node { title } } pageInfo { hasNextPage } totalCount }
}"""
RECORD = """
mutation($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) { recorded errors { field code message } }
}"""
VERIFIED = """
query($id: ID!, $sku: String!) {
  node(id: $id) { ... on Member { isVerifiedBuyer(sku: $sku) } }
}"""
VIEWER_VERIFIED = "query($sku: String!) { viewer { isVerifiedBuyer(sku: $sku) } }"
TOPIC_VERIFIED = "query($id: ID!) { node(id: $id) { ... on Topic { authorIsVerifiedBuyer } } }"
DELETE_TOPIC = "mutation($id: ID!) { deleteTopic(id: $id) { deletedId errors { code } } }"


async def feed(api, sku="SKU-1", as_=None, roles=(), **args):
    return (await api(FEED, {"sku": sku, **args}, as_=as_, roles=roles))["productFeed"]


async def feed_titles(api, sku="SKU-1", **args):
    return [e["node"]["title"] for e in (await feed(api, sku, **args))["edges"]]


async def like_by(api, topic_id, *members):
    for member in members:
        assert (await api(LIKE, {"id": topic_id}, as_=member))["like"]["errors"] == []


async def record(api, as_=SERVICE, roles=("service",), **fields):
    purchase = {"mallUserId": "alice", "sku": "SKU-1", "orderId": "order-1", **fields}
    return (await api(RECORD, {"input": purchase}, as_=as_, roles=roles))["recordPurchase"]


async def is_verified_buyer(api, member_id, sku):
    return (await api(VERIFIED, {"id": member_id, "sku": sku}))["node"]["isVerifiedBuyer"]


async def author_is_verified(api, topic_id):
    return (await api(TOPIC_VERIFIED, {"id": topic_id}))["node"]["authorIsVerifiedBuyer"]


def codes(payload):
    return [(e["code"], e["field"]) for e in payload["errors"]]


@pytest.fixture
async def board(api):
    return await create_board(api, "beauty")


# ---------------------------------------------------------------- productFeed


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_anyone_reads_the_product_feed(api, board, caller):
    topic = await create_topic(api, board["id"], title="Review", productSkus=["SKU-1"])
    sub, roles = CALLERS[caller]
    page = await feed(api, as_=sub, roles=roles)
    assert [e["node"]["id"] for e in page["edges"]] == [topic["id"]]
    assert page["totalCount"] == 1


async def test_the_feed_lists_only_published_topics_naming_the_sku(api, board):
    phones = await create_board(api, "phones")
    await create_topic(api, board["id"], title="one", productSkus=["SKU-1"])
    await create_topic(api, phones["id"], title="two", productSkus=["SKU-9", "SKU-1"])
    await create_topic(api, board["id"], title="other sku", productSkus=["SKU-2"])
    await create_topic(api, board["id"], title="no sku")
    await create_topic(api, board["id"], title="prefix", productSkus=["SKU-10"])
    gone = await create_topic(api, board["id"], title="deleted", productSkus=["SKU-1"])
    deleted = await api(DELETE_TOPIC, {"id": gone["id"]}, as_="alice")
    assert deleted["deleteTopic"]["errors"] == []
    page = await feed(api, sort="LATEST")
    assert [e["node"]["title"] for e in page["edges"]] == ["two", "one"]
    assert all("SKU-1" in e["node"]["productSkus"] for e in page["edges"])
    assert page["totalCount"] == 2
    assert await feed_titles(api, "SKU-2") == ["other sku"]
    assert await feed_titles(api, "SKU-404") == []
    assert await feed_titles(api, "  SKU-1 ", sort="LATEST") == ["two", "one"]


async def test_the_feed_is_hot_by_default(api, board):
    old = await create_topic(api, board["id"], title="old", productSkus=["SKU-1"])
    await create_topic(api, board["id"], title="middle", productSkus=["SKU-1"])
    await create_topic(api, board["id"], title="new", productSkus=["SKU-1"])
    await like_by(api, old["id"], "m1", "m2", "m3")
    await create_comment(api, old["id"])
    data = await api(DEFAULT_FEED, {"sku": "SKU-1"})
    default = [e["node"]["title"] for e in data["productFeed"]["edges"]]
    assert default == ["old", "new", "middle"]
    assert await feed_titles(api, sort="HOT") == default
    assert await feed_titles(api, sort="LATEST") == ["new", "middle", "old"]


async def test_the_feed_takes_the_other_sorts(api, board):
    a = await create_topic(api, board["id"], title="a", productSkus=["SKU-1"])
    b = await create_topic(api, board["id"], title="b", productSkus=["SKU-1"])
    await create_topic(api, board["id"], title="c", productSkus=["SKU-1"])
    await like_by(api, b["id"], "m1", "m2")
    await like_by(api, a["id"], "m1")
    await create_comment(api, a["id"])
    assert await feed_titles(api, sort="TOP") == ["b", "a", "c"]
    assert await feed_titles(api, sort="ACTIVE") == ["a", "c", "b"]


async def test_hot_in_the_feed_decays_with_age(api, board):
    old = await create_topic(api, board["id"], title="old", productSkus=["SKU-1"])
    await like_by(api, old["id"], *(f"fan{n}" for n in range(10)))
    clock.travel(timedelta(hours=13))
    await create_topic(api, board["id"], title="new", productSkus=["SKU-1"])
    assert await feed_titles(api) == ["new", "old"]


async def test_the_feed_shows_10_topics_unless_asked_for_more(api, board):
    for n in range(12):
        await create_topic(api, board["id"], title=f"t{n:02}", productSkus=["SKU-1"])
    data = await api(DEFAULT_FEED, {"sku": "SKU-1"})
    page = data["productFeed"]
    assert len(page["edges"]) == 10
    assert page["pageInfo"]["hasNextPage"] is True and page["totalCount"] == 12
    assert len((await feed(api, first=12))["edges"]) == 12


async def test_the_feed_pages_by_cursor_without_gaps_or_repeats(api, board):
    made = [
        await create_topic(api, board["id"], title=f"t{n:02}", productSkus=["SKU-1"])
        for n in range(12)
    ]
    await like_by(api, made[5]["id"], "m1", "m2")
    first = await feed(api, first=5)
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = await feed(api, first=5, after=first["pageInfo"]["endCursor"])
    third = await feed(api, first=5, after=second["pageInfo"]["endCursor"])
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert third["pageInfo"]["hasNextPage"] is False
    seen = [e["node"]["id"] for page in (first, second, third) for e in page["edges"]]
    assert len(seen) == len(set(seen)) == 12
    assert seen[0] == made[5]["id"]


async def test_a_feed_page_over_100_is_an_invalid_query(api, board):
    await create_topic(api, board["id"], productSkus=["SKU-1"])
    response = await api.post(FEED, {"sku": "SKU-1", "first": 101})
    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == "INVALID"
    assert len((await feed(api, first=100))["edges"]) == 1


async def test_a_feed_cursor_of_another_sort_is_an_invalid_query(api, board):
    for n in range(3):
        await create_topic(api, board["id"], title=f"t{n}", productSkus=["SKU-1"])
    cursor = (await feed(api, first=1, sort="LATEST"))["pageInfo"]["endCursor"]
    response = await api.post(FEED, {"sku": "SKU-1", "after": cursor})
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID"


# ---------------------------------------------------------------- caching


async def get(api, query, variables=None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"query": query, "variables": json.dumps(variables or {})}
    return await api.client.get("/graphql", params=params, headers=headers)


async def test_an_anonymous_get_of_the_feed_is_publicly_cacheable(api, board):
    await create_topic(api, board["id"], title="Review", productSkus=["SKU-1"])
    response = await get(api, DEFAULT_FEED, {"sku": "SKU-1"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=30"
    edges = response.json()["data"]["productFeed"]["edges"]
    assert [e["node"]["title"] for e in edges] == ["Review"]


async def test_a_get_with_a_token_is_private(api, board):
    await create_topic(api, board["id"], title="Review", productSkus=["SKU-1"])
    response = await get(api, DEFAULT_FEED, {"sku": "SKU-1"}, token=api.token("alice"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert response.json()["data"]["productFeed"]["totalCount"] == 1


async def test_a_post_of_the_feed_is_not_publicly_cacheable(api, board):
    await create_topic(api, board["id"], title="Review", productSkus=["SKU-1"])
    response = await api.post(DEFAULT_FEED, {"sku": "SKU-1"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"


async def test_an_anonymous_get_that_fails_is_not_cached(api, board):
    response = await get(api, FEED, {"sku": "SKU-1", "first": 101})
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID"
    assert response.headers["cache-control"] == "private, no-store"


# ---------------------------------------------------------------- recordPurchase


async def test_the_mall_records_a_purchase_that_makes_a_verified_buyer(api, board):
    alice = (await api("{ viewer { id } }", as_="alice"))["viewer"]["id"]
    assert await is_verified_buyer(api, alice, "SKU-1") is False
    assert await record(api) == {"recorded": True, "errors": []}
    assert await is_verified_buyer(api, alice, "SKU-1") is True
    assert await is_verified_buyer(api, alice, " SKU-1 ") is True
    assert await is_verified_buyer(api, alice, "SKU-2") is False
    data = await api(VIEWER_VERIFIED, {"sku": "SKU-1"}, as_="alice")
    assert data["viewer"]["isVerifiedBuyer"] is True
    data = await api(VIEWER_VERIFIED, {"sku": "SKU-1"}, as_="bob")
    assert data["viewer"]["isVerifiedBuyer"] is False


async def test_a_topic_shows_its_author_bought_a_named_sku(api, board):
    await record(api, mallUserId="alice", sku="SKU-1")
    await record(api, mallUserId="bob", sku="SKU-2", orderId="order-2")
    bought = await create_topic(api, board["id"], "alice", title="a1", productSkus=["SKU-1"])
    one_of = await create_topic(
        api, board["id"], "alice", title="a2", productSkus=["SKU-3", "SKU-1"]
    )
    other_sku = await create_topic(api, board["id"], "alice", title="a3", productSkus=["SKU-2"])
    no_sku = await create_topic(api, board["id"], "alice", title="a4")
    not_hers = await create_topic(api, board["id"], "carol", title="c1", productSkus=["SKU-1"])
    assert await author_is_verified(api, bought["id"]) is True
    assert await author_is_verified(api, one_of["id"]) is True
    assert await author_is_verified(api, other_sku["id"]) is False
    assert await author_is_verified(api, no_sku["id"]) is False
    assert await author_is_verified(api, not_hers["id"]) is False
    page = await feed(api, "SKU-1", sort="LATEST")  # loaded in one batch for the whole page
    assert [(e["node"]["title"], e["node"]["authorIsVerifiedBuyer"]) for e in page["edges"]] == [
        ("c1", False),
        ("a2", True),
        ("a1", True),
    ]
    page = await feed(api, "SKU-2")
    assert [(e["node"]["title"], e["node"]["authorIsVerifiedBuyer"]) for e in page["edges"]] == [
        ("a3", False)
    ]


async def test_recording_the_same_order_line_twice_records_it_once(api):
    assert await record(api) == {"recorded": True, "errors": []}
    assert await record(api) == {"recorded": True, "errors": []}
    assert await Purchase.filter(mall_user_id="alice", sku="SKU-1").count() == 1
    await record(api, orderId="order-2")
    assert await Purchase.filter(mall_user_id="alice", sku="SKU-1").count() == 2


async def test_the_same_order_line_reported_at_once_is_recorded_once(api):
    purchase = {"mallUserId": "alice", "sku": "SKU-1", "orderId": "order-1"}
    answers = await concurrently(
        api.post(RECORD, {"input": purchase}, as_=SERVICE, roles=("service",)) for _ in range(5)
    )
    assert [a["recordPurchase"] for a in answers] == [{"recorded": True, "errors": []}] * 5
    assert await Purchase.filter(mall_user_id="alice").count() == 1


async def test_a_purchase_recorded_before_the_member_signed_in_counts_once_they_do(api, board):
    await record(api, mallUserId="newbie", sku="SKU-7")
    data = await api(VIEWER_VERIFIED, {"sku": "SKU-7"}, as_="newbie")
    assert data["viewer"]["isVerifiedBuyer"] is True
    topic = await create_topic(api, board["id"], "newbie", productSkus=["SKU-7"])
    assert await author_is_verified(api, topic["id"]) is True


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("anonymous", "UNAUTHENTICATED"),
        ("member", "FORBIDDEN"),
        ("moderator", "FORBIDDEN"),
        ("admin", "FORBIDDEN"),
    ],
)
async def test_only_the_malls_service_token_records_purchases(api, caller, code):
    sub, roles = CALLERS[caller]
    payload = await record(api, as_=sub, roles=roles, mallUserId="alice")
    assert payload["recorded"] is False
    assert codes(payload) == [(code, None)]
    data = await api(VIEWER_VERIFIED, {"sku": "SKU-1"}, as_="alice")
    assert data["viewer"]["isVerifiedBuyer"] is False
    assert await Purchase.all().count() == 0


async def test_a_purchase_in_the_past_is_recorded_with_its_time(api):
    when = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    payload = await record(api, purchasedAt=when.isoformat())
    assert payload == {"recorded": True, "errors": []}
    row = await Purchase.get(mall_user_id="alice", sku="SKU-1")
    assert row.purchased_at == when


async def test_a_purchase_in_the_future_is_invalid(api):
    later = clock.now() + timedelta(hours=1)
    payload = await record(api, purchasedAt=later.isoformat())
    assert payload["recorded"] is False
    assert codes(payload) == [("INVALID", ["input", "purchasedAt"])]
    assert await Purchase.all().count() == 0
    data = await api(VIEWER_VERIFIED, {"sku": "SKU-1"}, as_="alice")
    assert data["viewer"]["isVerifiedBuyer"] is False


async def test_a_purchase_without_a_time_zone_is_taken_as_utc(api):
    payload = await record(api, purchasedAt="2024-05-01T10:30:00")
    assert payload == {"recorded": True, "errors": []}
    row = await Purchase.get(mall_user_id="alice", sku="SKU-1")
    assert row.purchased_at == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)


async def test_a_future_purchase_without_a_time_zone_is_invalid(api):
    later = (clock.now() + timedelta(days=2)).replace(tzinfo=None)
    payload = await record(api, purchasedAt=later.isoformat())
    assert codes(payload) == [("INVALID", ["input", "purchasedAt"])]
    assert await Purchase.all().count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"mallUserId": ""}, "mallUserId"),
        ({"mallUserId": "   "}, "mallUserId"),
        ({"mallUserId": "u" * 129}, "mallUserId"),
        ({"sku": ""}, "sku"),
        ({"sku": "s" * 65}, "sku"),
        ({"orderId": " "}, "orderId"),
        ({"orderId": "o" * 129}, "orderId"),
    ],
)
async def test_a_purchase_with_a_bad_field_is_invalid(api, fields, field):
    payload = await record(api, **fields)
    assert payload["recorded"] is False
    assert codes(payload) == [("INVALID", ["input", field])]
    assert await Purchase.all().count() == 0


async def test_every_bad_field_of_a_purchase_is_reported_at_once(api):
    later = clock.now() + timedelta(days=1)
    payload = await record(api, mallUserId="", sku="", orderId="", purchasedAt=later.isoformat())
    assert sorted(codes(payload)) == [
        ("INVALID", ["input", "mallUserId"]),
        ("INVALID", ["input", "orderId"]),
        ("INVALID", ["input", "purchasedAt"]),
        ("INVALID", ["input", "sku"]),
    ]
