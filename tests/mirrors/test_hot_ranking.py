"""Board HOT order served from a Redis sorted set: the same topics, in the same order, with
the same cursors as the database's listing rows; kept by every like, comment and status
change; rebuilt once when Redis has lost it; the database's answer while Redis is down.

"Redis forgets everything" is every key of this run deleted (what FLUSHALL does, without
clearing the keys of other runs sharing the server)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mallforum import clock
from mirrors import hot, reconcile
from models import Topic, TopicListing
from resolvers.feeds import hot_score
from tests.forum import concurrently, create_board, create_comment, create_topic, pk_of
from tests.moderation.steps import moderate
from tests.stores import delete_keys

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar

HOT = """
query($slug: String!, $first: Int, $after: String, $tag: String) {
  board(slug: $slug) {
    topics(sort: HOT, first: $first, after: $after, tag: $tag) {
      edges { cursor node { id title likeCount commentCount author { nickname } } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}"""
LIKE = "mutation($id: ID!) { like(id: $id) { likeCount errors { code } } }"
UNLIKE = "mutation($id: ID!) { unlike(id: $id) { likeCount errors { code } } }"
DELETE_TOPIC = "mutation($id: ID!) { deleteTopic(id: $id) { errors { code } } }"

Edges = list[tuple[str, str]]


def store(app):
    return app.state.services["redis"]


async def hot_page(api, first: int, after: str | None = None, **variables: Any) -> dict:
    variables = {"slug": "beauty", "first": first, "after": after, **variables}
    return (await api(HOT, variables))["board"]["topics"]


async def hot_order(api, size: int = 4) -> Edges:
    """Every topic of the board in HOT order, page by page: (cursor, id) of each."""
    edges: Edges = []
    after = None
    while True:
        page = await hot_page(api, size, after)
        edges += [(e["cursor"], e["node"]["id"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]


async def database_order(api, redis_down, size: int = 4) -> Edges:
    """The same pages, read while Redis is down: from the listing rows."""
    async with redis_down():
        return await hot_order(api, size)


async def computed_order(board_pk: int) -> list[int]:
    """The HOT order computed here from the topic rows' counts and times."""
    topics = await Topic.filter(board_id=board_pk, status="PUBLISHED")
    scored = [(hot_score(t.like_count, t.comment_count, t.created_at), t.pk) for t in topics]
    return [pk for _, pk in sorted(scored, reverse=True)]


def ids(edges: Edges) -> list[int]:
    return [pk_of(topic_id) for _, topic_id in edges]


async def like(api, topic_id: str, *members: str) -> None:
    await concurrently(api.post(LIKE, {"id": topic_id}, as_=m) for m in members)


@pytest.fixture
async def board_of_topics(api, no_rate_limits) -> list[dict]:
    """A board with nine topics posted an hour apart, some liked and commented."""
    board = await create_board(api)
    topics = []
    for n in range(9):
        topics.append(await create_topic(api, board["id"], author=f"author-{n % 3}", title=f"t{n}"))
        clock.travel(timedelta(hours=1))
    await like(api, topics[0]["id"], *(f"fan-{n}" for n in range(30)))
    await like(api, topics[4]["id"], "fan-1", "fan-2")
    await create_comment(api, topics[2]["id"], author="fan-3")
    return topics


async def test_hot_order_from_redis_is_the_database_order(api, app, board_of_topics, redis_down):
    from_redis = await hot_order(api)  # the first read builds the board's set
    assert await store(app).client.zscore(store(app).keys.board_hot(1), hot.BUILT)
    assert from_redis == await database_order(api, redis_down)  # same ids, same cursors
    assert ids(from_redis) == await computed_order(1)


async def test_likes_and_comments_move_topics_in_the_redis_order(
    api, app, board_of_topics, redis_down, sql_statements
):
    topics = board_of_topics
    before = ids(await hot_order(api))
    await like(api, topics[8]["id"], *(f"fan-{n}" for n in range(20)))
    await concurrently(
        api.post(
            "mutation($input: CreateCommentInput!) { createComment(input: $input) "
            "{ errors { code } } }",
            {"input": {"topicId": topics[1]["id"], "body": f"comment {n}"}},
            as_=f"writer-{n}",
        )
        for n in range(12)
    )
    await api(UNLIKE, {"id": topics[0]["id"]}, as_="fan-0")
    with sql_statements as counted:
        from_redis = await hot_order(api)
    assert not [s for s in counted.statements if "topic_listing" in s]  # no rebuild, no rows
    assert ids(from_redis) == await computed_order(1)
    assert from_redis == await database_order(api, redis_down)
    assert ids(from_redis)[0] == pk_of(topics[8]["id"])
    commented = pk_of(topics[1]["id"])
    assert ids(from_redis).index(commented) < before.index(commented)


async def test_a_hot_page_from_redis_costs_the_same_statements_whatever_its_size(
    api, board_of_topics, sql_statements
):
    await hot_order(api)
    counts = []
    for size in (2, 9):
        with sql_statements as counted:
            page = await hot_page(api, size)
        assert len(page["edges"]) == size
        assert not [s for s in counted.statements if "topic_listing" in s]
        counts.append(len(counted.statements))
    assert counts[0] == counts[1] <= 3, counts  # the board, the topics, their authors


async def test_pages_continue_across_redis_and_the_database(api, board_of_topics, redis_down):
    whole = await hot_order(api, size=9)
    first = await hot_page(api, 3)
    async with redis_down():  # the next page from the rows, after a cursor Redis gave
        second = await hot_page(api, 3, first["pageInfo"]["endCursor"])
    third = await hot_page(api, 3, second["pageInfo"]["endCursor"])
    pages = [(e["cursor"], e["node"]["id"]) for p in (first, second, third) for e in p["edges"]]
    assert pages == whole
    assert not third["pageInfo"]["hasNextPage"] and third["pageInfo"]["hasPreviousPage"]


async def test_topics_tied_on_score_page_by_id_in_both_orders(
    api, app, settings, board_of_topics, redis_down
):
    tied = [pk_of(t["id"]) for t in board_of_topics[3:7]]
    top = max(t.hot_score for t in await Topic.all()) + 1  # four topics tied at the top
    await Topic.filter(id__in=tied).update(hot_score=top)
    await TopicListing.filter(topic_id__in=tied).update(hot_score=top)
    await delete_keys(settings)  # the set is rebuilt from the rows at the next read
    one_by_one = await hot_order(api, size=1)
    assert one_by_one == await database_order(api, redis_down, size=1)
    assert ids(one_by_one)[:4] == sorted(tied, reverse=True)
    assert await hot_order(api, size=3) == await database_order(api, redis_down, size=3)


async def test_new_hidden_deleted_and_restored_topics_enter_and_leave_the_redis_order(
    api, app, board_of_topics, redis_down
):
    topics = board_of_topics
    await hot_order(api)
    newest = await create_topic(api, topics[0]["board"]["id"], author="alice", title="new")
    assert ids(await hot_order(api)) == await computed_order(1)
    assert newest["id"] in [i for _, i in await hot_order(api)]
    await api(DELETE_TOPIC, {"id": newest["id"]}, as_="alice")
    await moderate(api, topics[0]["id"], "HIDE")
    order = await hot_order(api)
    assert newest["id"] not in [i for _, i in order] and topics[0]["id"] not in [
        i for _, i in order
    ]
    redis = store(app)
    assert await redis.client.zcard(redis.keys.board_hot(1)) == 8 + 1  # eight topics, built
    assert order == await database_order(api, redis_down)
    await moderate(api, topics[0]["id"], "RESTORE")
    restored = await hot_order(api)
    assert topics[0]["id"] in [i for _, i in restored]
    assert ids(restored) == await computed_order(1)


async def test_the_order_comes_back_after_redis_forgets_everything(
    api, settings, board_of_topics, redis_down
):
    before = await hot_order(api)
    await delete_keys(settings)
    assert await hot_order(api) == before
    await like(api, board_of_topics[5]["id"], *(f"late-{n}" for n in range(40)))
    after = await hot_order(api)
    assert after[0][1] == board_of_topics[5]["id"]
    assert after == await database_order(api, redis_down)


async def test_a_lost_set_is_rebuilt_once_for_twenty_readers_at_once(
    api, app, settings, board_of_topics, redis_down, sql_statements
):
    expected = await database_order(api, redis_down, size=9)
    await delete_keys(settings)
    with sql_statements as counted:
        answers = await concurrently(
            api.post(HOT, {"slug": "beauty", "first": 9}) for _ in range(20)
        )
    rebuilds = [s for s in counted.statements if "topic_listing" in s and "LIMIT" not in s.upper()]
    assert len(rebuilds) == 1, rebuilds
    for answer in answers:
        edges = answer["board"]["topics"]["edges"]
        assert [(e["cursor"], e["node"]["id"]) for e in edges] == expected
    redis = store(app)
    assert await redis.client.zscore(redis.keys.board_hot(1), hot.BUILT)
    assert await redis.client.ttl(redis.keys.board_hot(1)) == -1  # kept, not expiring


async def test_writes_between_a_rebuilds_read_and_its_write_are_kept(
    api, app, settings, board_of_topics, redis_down
):
    topics = board_of_topics
    await hot_order(api)
    rebuild = hot.HotRebuild(store(app), 1)
    assert await rebuild.begin(force=True) == 1
    rows = await rebuild.read()
    # Committed after the rebuild read the rows: a topic rises, one leaves, one arrives.
    await like(api, topics[7]["id"], *(f"mid-{n}" for n in range(25)))
    await moderate(api, topics[0]["id"], "HIDE")
    newest = await create_topic(api, topics[0]["board"]["id"], author="alice", title="new")
    assert await rebuild.write(rows)
    order = await hot_order(api)
    assert order == await database_order(api, redis_down)
    assert order[0][1] == topics[7]["id"] and newest["id"] in [i for _, i in order]
    assert topics[0]["id"] not in [i for _, i in order]


async def test_the_order_answers_from_the_database_while_redis_is_down_and_catches_up(
    api, app, settings, board_of_topics, redis_down
):
    await hot_order(api)
    async with redis_down():
        await like(api, board_of_topics[6]["id"], *(f"quiet-{n}" for n in range(35)))
        while_down = await hot_order(api)
    assert while_down[0][1] == board_of_topics[6]["id"]
    await reconcile.rebuild_all(settings, store(app))  # what the reconcile runs
    assert await hot_order(api) == while_down


async def test_tagged_lists_and_bad_cursors_behave_as_the_database_does(api, no_rate_limits):
    board = await create_board(api)
    await create_topic(api, board["id"], title="tagged", tags=["serum"])
    await create_topic(api, board["id"], title="plain")
    tagged = await hot_page(api, 5, tag="serum")
    assert [e["node"]["title"] for e in tagged["edges"]] == ["tagged"]
    response = await api.post(HOT, {"slug": "beauty", "first": 5, "after": "not-a-cursor"})
    assert response.json()["errors"][0]["message"] == "after is not a cursor of this list."
