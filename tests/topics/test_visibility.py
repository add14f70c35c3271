"""Reading topics: one view per reader a day, node(id:), and members' own lists of
published topics."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from mallforum import clock
from mallforum.ids import encode_id
from tests.forum import SERVICE, concurrently, create_board, create_comment, create_topic
from tests.topics.steps import (
    MEMBER_TOPICS,
    NODE,
    VIEWER,
    VIEWS,
    delete,
    listed,
    member_titles,
    read_topic,
    views,
)

# Members here write faster than the rate limits allow (lists, paging and edits);
# the limits themselves are tested in test_flooding.py.
pytestmark = pytest.mark.usefixtures("no_rate_limits")


# ---------------------------------------------------------------- reading and views


async def test_reading_a_topic_counts_one_view_per_reader_per_day(api, board):
    topic = await create_topic(api, board["id"], author="alice")
    assert (await api(NODE, {"id": topic["id"]}))["node"]["viewCount"] == 0
    assert await views(api, topic["id"], as_="bob") == 1
    assert await views(api, topic["id"], as_="bob") == 1
    assert await views(api, topic["id"], as_="carol") == 2
    assert await views(api, topic["id"], as_="bob") == 2
    clock.travel(timedelta(days=1))
    assert await views(api, topic["id"], as_="bob") == 3
    assert await views(api, topic["id"], as_="bob") == 3
    assert await views(api, topic["id"], as_="carol") == 4
    assert (await api(NODE, {"id": topic["id"]}))["node"]["viewCount"] == 4


async def test_reads_of_one_reader_at_once_count_one_view(api, board):
    topic = await create_topic(api, board["id"])
    await api("{ viewer { id } }", as_="bob")
    answers = await concurrently(api.post(VIEWS, {"id": topic["id"]}, as_="bob") for _ in range(6))
    assert sorted(a["topic"]["viewCount"] for a in answers)[-1] == 1
    assert await views(api, topic["id"], as_="bob") == 1


async def test_views_are_counted_per_topic(api, board):
    one = await create_topic(api, board["id"], title="one")
    two = await create_topic(api, board["id"], title="two")
    assert await views(api, one["id"], as_="bob") == 1
    assert await views(api, two["id"], as_="bob") == 1
    assert await views(api, one["id"], as_="bob") == 1


async def test_an_anonymous_reader_counts_once_a_day_too(api, board):
    topic = await create_topic(api, board["id"])
    assert await views(api, topic["id"]) == 1
    assert await views(api, topic["id"]) == 1
    assert await views(api, topic["id"], as_="bob") == 2


async def test_lists_and_node_do_not_count_views(api, board):
    topic = await create_topic(api, board["id"])
    await listed(api, as_="bob")
    await api(NODE, {"id": topic["id"]}, as_="bob")
    assert await views(api, topic["id"], as_="carol") == 1


async def test_topic_by_an_id_of_nothing_is_null(api, board):
    await create_topic(api, board["id"])
    for topic_id in ("garbage", "", board["id"], encode_id("Topic", 999)):
        assert await read_topic(api, topic_id) is None, topic_id


async def test_node_returns_each_kind_of_entity(api, board):
    topic = await create_topic(api, board["id"], author="alice", title="A topic")
    comment = await create_comment(api, topic["id"], author="bob", body="A comment")
    member_id = topic["author"]["id"]
    nodes = {}
    for global_id in (board["id"], topic["id"], comment["id"], member_id):
        nodes[global_id] = (await api(NODE, {"id": global_id}))["node"]
    assert nodes[board["id"]] == {"__typename": "Board", "id": board["id"], "slug": "beauty"}
    assert nodes[topic["id"]] == {
        "__typename": "Topic",
        "id": topic["id"],
        "title": "A topic",
        "viewCount": 0,
    }
    assert nodes[comment["id"]] == {
        "__typename": "Comment",
        "id": comment["id"],
        "body": "A comment",
        "topic": {"id": topic["id"]},
    }
    assert nodes[member_id] == {"__typename": "Member", "id": member_id, "nickname": "alice"}


@pytest.mark.parametrize(
    "global_id",
    [
        "garbage",
        "",
        "!!!",
        encode_id("Topic", 999),
        encode_id("Board", 999),
        encode_id("Comment", 999),
        encode_id("Member", 999),
        encode_id("What", 1),
        base64.urlsafe_b64encode(b"Topic:x").decode(),
        base64.urlsafe_b64encode("😀".encode()).decode(),
    ],
)
async def test_node_of_a_garbage_or_unknown_id_is_null(api, board, global_id):
    await create_topic(api, board["id"])
    assert (await api(NODE, {"id": global_id}))["node"] is None


# ---------------------------------------------------------------- members


async def test_viewer_is_the_signed_in_member(api, board):
    await create_topic(api, board["id"], author="alice", title="mine")
    viewer = (await api(VIEWER, as_="alice"))["viewer"]
    assert viewer["nickname"] == "alice" and viewer["role"] == "MEMBER"
    assert viewer["status"] == "ACTIVE"
    assert viewer["topics"] == {"edges": [{"node": {"title": "mine"}}], "totalCount": 1}
    assert (await api(VIEWER))["viewer"] is None


async def test_a_service_token_has_no_viewer(api):
    assert (await api(VIEWER, as_=SERVICE, roles=("service",)))["viewer"] is None


async def test_member_by_id_and_its_topics_newest_first_only_published(api, board):
    alice = (await api("{ viewer { id } }", as_="alice"))["viewer"]["id"]
    other_board = await create_board(api, "phones")
    await create_topic(api, board["id"], author="alice", title="first")
    await create_topic(api, board["id"], author="bob", title="not hers")
    gone = await create_topic(api, other_board["id"], author="alice", title="deleted")
    await create_topic(api, other_board["id"], author="alice", title="second")
    await delete(api, gone["id"])
    member = (await api(MEMBER_TOPICS, {"id": alice}, as_="bob"))["member"]
    assert member["id"] == alice and member["nickname"] == "alice"
    assert [e["node"]["title"] for e in member["topics"]["edges"]] == ["second", "first"]
    assert member["topics"]["totalCount"] == 2
    assert await member_titles(api, alice) == ["second", "first"]
    assert await member_titles(api, alice, as_="alice") == ["second", "first"]


async def test_member_topics_page_by_cursor(api, board):
    alice = (await api("{ viewer { id } }", as_="alice"))["viewer"]["id"]
    for n in range(5):
        await create_topic(api, board["id"], author="alice", title=f"t{n}")
    first = (await api(MEMBER_TOPICS, {"id": alice, "first": 2}))["member"]["topics"]
    assert [e["node"]["title"] for e in first["edges"]] == ["t4", "t3"]
    after = first["pageInfo"]["endCursor"]
    rest = (await api(MEMBER_TOPICS, {"id": alice, "first": 10, "after": after}))["member"]
    assert [e["node"]["title"] for e in rest["topics"]["edges"]] == ["t2", "t1", "t0"]
    assert rest["topics"]["pageInfo"]["hasNextPage"] is False


async def test_member_by_an_id_of_nothing_is_null(api, board):
    topic = await create_topic(api, board["id"])
    for member_id in ("garbage", board["id"], topic["id"], encode_id("Member", 999)):
        assert (await api(MEMBER_TOPICS, {"id": member_id}))["member"] is None, member_id
