"""The orders a board lists its topics in, and paging through them by cursor."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest

from mallforum import clock
from tests.forum import create_board, create_comment, create_topic
from tests.topics.steps import (
    BOARD_TOPICS,
    cursor_of,
    like_by,
    listed,
    read_topic,
    titles,
    top_level_error,
)

# Members here write faster than the rate limits allow (lists, paging and edits);
# the limits themselves are tested in test_flooding.py.
pytestmark = pytest.mark.usefixtures("no_rate_limits")


# ---------------------------------------------------------------- sorts


async def topics_named(api, board_id, *names):
    return {name: await create_topic(api, board_id, title=name) for name in names}


async def test_latest_lists_the_newest_topic_first(api, board):
    await topics_named(api, board["id"], "a", "b", "c")
    assert await titles(api) == ["c", "b", "a"]
    assert await titles(api, sort="LATEST") == ["c", "b", "a"]


async def test_top_lists_the_most_liked_first_and_the_newest_among_equals(api, board):
    t = await topics_named(api, board["id"], "a", "b", "c", "d")
    await like_by(api, t["a"]["id"], "m1", "m2")
    await like_by(api, t["b"]["id"], "m1")
    await like_by(api, t["c"]["id"], "m3", "m4")
    assert await titles(api, sort="TOP") == ["c", "a", "b", "d"]
    await like_by(api, t["b"]["id"], "m2", "m3")
    assert await titles(api, sort="TOP") == ["b", "c", "a", "d"]


async def test_active_lists_the_most_recently_commented_first(api, board):
    t = await topics_named(api, board["id"], "a", "b", "c")
    assert await titles(api, sort="ACTIVE") == ["c", "b", "a"]
    await create_comment(api, t["a"]["id"])
    assert await titles(api, sort="ACTIVE") == ["a", "c", "b"]
    await create_comment(api, t["b"]["id"])
    assert await titles(api, sort="ACTIVE") == ["b", "a", "c"]
    shown = await read_topic(api, t["b"]["id"])
    last_activity, created = map(
        datetime.fromisoformat, (shown["lastActivityAt"], shown["createdAt"])
    )
    assert last_activity > created


async def test_hot_weighs_likes_and_twice_as_much_comments(api, board):
    t = await topics_named(api, board["id"], "commented", "liked", "quiet")
    await like_by(api, t["liked"]["id"], "m1", "m2", "m3")  # 3
    await create_comment(api, t["commented"]["id"], author="m1")  # 2 x 2 = 4
    await create_comment(api, t["commented"]["id"], author="m2")
    assert await titles(api, sort="HOT") == ["commented", "liked", "quiet"]
    await like_by(api, t["liked"]["id"], "m4", "m5")  # 5
    assert await titles(api, sort="HOT") == ["liked", "commented", "quiet"]


@pytest.mark.parametrize(("hours_later", "first"), [(13, "new"), (11, "old")])
async def test_hot_lets_ten_times_the_likes_outweigh_12_and_a_half_hours(
    api, board, hours_later, first
):
    old = await create_topic(api, board["id"], title="old")
    clock.travel(timedelta(hours=hours_later))
    await create_topic(api, board["id"], title="new")
    await like_by(api, old["id"], *(f"fan{n}" for n in range(10)))  # log10(10) = 1
    # old: 1 + age; new: 0 + age + hours_later × 3600 / 45000
    expected = [first, "new" if first == "old" else "old"]
    assert await titles(api, sort="HOT") == expected


async def test_hot_is_newest_first_without_likes_or_comments(api, board):
    await create_topic(api, board["id"], title="a")
    clock.travel(timedelta(minutes=5))
    await create_topic(api, board["id"], title="b")
    assert await titles(api, sort="HOT") == ["b", "a"]


async def test_a_tag_filter_lists_only_topics_with_that_tag(api, board):
    await create_topic(api, board["id"], title="a", tags=["serum"])
    await create_topic(api, board["id"], title="b", tags=["mask"])
    await create_topic(api, board["id"], title="c", tags=["Serum", "mask"])
    assert await titles(api, tag="serum") == ["c", "a"]
    assert await titles(api, tag=" #SERUM ") == ["c", "a"]
    assert await titles(api, tag="mask") == ["c", "b"]
    assert await titles(api, tag="nothing") == []
    _, tagged = await listed(api, tag="serum")
    assert tagged["totalCount"] == 2


async def test_each_board_lists_only_its_own_topics(api, board):
    other = await create_board(api, "phones")
    await create_topic(api, board["id"], title="beauty topic", tags=["x"])
    await create_topic(api, other["id"], title="phone topic", tags=["x"])
    assert await titles(api, "beauty") == ["beauty topic"]
    assert await titles(api, "phones") == ["phone topic"]
    assert await titles(api, "beauty", tag="x") == ["beauty topic"]


# ---------------------------------------------------------------- paging


@pytest.mark.parametrize("sort", ["LATEST", "TOP", "HOT", "ACTIVE"])
async def test_walking_25_topics_by_tens_meets_each_once(api, board, sort):
    made = [await create_topic(api, board["id"], title=f"t{n:02}") for n in range(25)]
    await like_by(api, made[3]["id"], "m1")
    await create_comment(api, made[7]["id"])
    seen: list[str] = []
    after = None
    pages = []
    while True:
        args = {"first": 10, "sort": sort} | ({"after": after} if after else {})
        _, page = await listed(api, **args)
        pages.append(page)
        assert page["totalCount"] == 25
        edges = page["edges"]
        seen += [e["node"]["id"] for e in edges]
        info = page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        assert info["startCursor"] == edges[0]["cursor"]
        assert info["endCursor"] == edges[-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert [len(p["edges"]) for p in pages] == [10, 10, 5]
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == {t["id"] for t in made}
    _, whole = await listed(api, first=25, sort=sort)
    assert [e["node"]["id"] for e in whole["edges"]] == seen


async def test_latest_pages_run_from_the_newest_to_the_oldest(api, board):
    for n in range(25):
        await create_topic(api, board["id"], title=f"t{n:02}")
    _, first = await listed(api, first=10)
    assert [e["node"]["title"] for e in first["edges"]] == [f"t{n:02}" for n in range(24, 14, -1)]
    _, second = await listed(api, first=10, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["title"] for e in second["edges"]] == [f"t{n:02}" for n in range(14, 4, -1)]


async def test_a_page_defaults_to_20_topics(api, board):
    for n in range(21):
        await create_topic(api, board["id"], title=f"t{n}")
    _, page = await listed(api)
    assert len(page["edges"]) == 20 and page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == 21


async def test_first_100_is_allowed(api, board):
    for n in range(3):
        await create_topic(api, board["id"], title=f"t{n}")
    _, page = await listed(api, first=100)
    assert len(page["edges"]) == 3
    assert page["pageInfo"]["hasNextPage"] is False


async def test_first_0_gives_no_edges(api, board):
    await create_topic(api, board["id"])
    _, page = await listed(api, first=0)
    assert page["edges"] == []
    assert page["pageInfo"]["startCursor"] is None and page["pageInfo"]["endCursor"] is None
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == 1


@pytest.mark.parametrize("first", [101, 1000, -1])
async def test_first_outside_0_to_100_is_an_invalid_query_not_a_silent_cut(api, board, first):
    for n in range(3):
        await create_topic(api, board["id"], title=f"t{n}")
    error = await top_level_error(api, BOARD_TOPICS, {"slug": "beauty", "first": first})
    assert error["extensions"]["code"] == "INVALID"
    assert "first" in error["message"]


async def test_a_cursor_of_one_sort_is_invalid_in_another(api, board):
    for n in range(3):
        await create_topic(api, board["id"], title=f"t{n}")
    cursors = {}
    for sort in ("LATEST", "TOP", "HOT", "ACTIVE"):
        _, page = await listed(api, first=1, sort=sort)
        cursors[sort] = page["pageInfo"]["endCursor"]
    for made_by, cursor in cursors.items():
        for used_in in cursors:
            if used_in == made_by:
                continue
            variables = {"slug": "beauty", "first": 1, "sort": used_in, "after": cursor}
            error = await top_level_error(api, BOARD_TOPICS, variables)
            assert error["extensions"]["code"] == "INVALID", (made_by, used_in)


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        ("LATEST", "garbage"),
        ("LATEST", "!!!"),
        ("LATEST", cursor_of("latest")),
        ("LATEST", cursor_of("latest", 1, 2)),
        ("LATEST", cursor_of("latest", None)),
        ("LATEST", cursor_of("latest", True)),
        ("LATEST", cursor_of("latest", "not a time")),
        ("LATEST", base64.urlsafe_b64encode(b'{"a": 1}').decode()),
        ("LATEST", base64.urlsafe_b64encode(b"42").decode()),
        ("TOP", cursor_of("top", [1])),
        ("HOT", cursor_of("hot", "2024-01-01T00:00:00+00:00", 1)),
        ("ACTIVE", cursor_of("active", 1.5, 1)),
        ("LATEST", cursor_of("latest", "2024-01-01T00:00:00+00:00")),
        ("LATEST", cursor_of("latest", 10**30)),
    ],
)
async def test_a_garbage_cursor_is_an_invalid_query(api, board, sort, cursor):
    await create_topic(api, board["id"])
    variables = {"slug": "beauty", "sort": sort, "after": cursor}
    error = await top_level_error(api, BOARD_TOPICS, variables)
    assert error["extensions"]["code"] == "INVALID", error


async def test_cursors_stay_valid_while_topics_are_added(api, board):
    for n in range(25):
        await create_topic(api, board["id"], title=f"t{n:02}")
    _, first = await listed(api, first=10)
    await create_topic(api, board["id"], title="brand new")
    _, second = await listed(api, first=10, after=first["pageInfo"]["endCursor"])
    first_titles = [e["node"]["title"] for e in first["edges"]]
    second_titles = [e["node"]["title"] for e in second["edges"]]
    assert second_titles == [f"t{n:02}" for n in range(14, 4, -1)]
    assert not set(first_titles) & set(second_titles)
    assert second["totalCount"] == 26
    assert await titles(api, first=1) == ["brand new"]


async def test_cursors_stay_valid_while_likes_reorder_the_top_list(api, board):
    made = [await create_topic(api, board["id"], title=f"t{n}") for n in range(6)]
    _, first = await listed(api, first=3, sort="TOP")
    assert [e["node"]["title"] for e in first["edges"]] == ["t5", "t4", "t3"]
    await like_by(api, made[0]["id"], "m1")  # jumps to the top: already behind the reader
    _, second = await listed(api, first=3, sort="TOP", after=first["pageInfo"]["endCursor"])
    assert [e["node"]["title"] for e in second["edges"]] == ["t2", "t1"]
