"""Comments and replies: writing them and reading their threads."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mallforum import clock
from models import Comment, Topic
from tests.forum import MODERATOR, create_board, create_comment, create_topic, pk_of
from tests.topics.comment_steps import (
    COMMENT_PAGE,
    CREATE_COMMENT,
    DELETE_TOPIC,
    a_topic,
    comment,
    delete,
    listed,
    replies_of,
    thread,
)

# ---------------------------------------------------------------- createComment


async def test_a_comment_on_a_topic_is_listed_and_counted_on_the_topic(api):
    topic = await a_topic(api)
    created = await create_comment(api, topic["id"], author="bob", body="Looks **great**")
    assert created["body"] == "Looks **great**"
    assert created["bodyHtml"] == "<p>Looks <strong>great</strong></p>\n"
    assert created["status"] == "PUBLISHED"
    assert created["parent"] is None
    assert created["topic"] == {"id": topic["id"], "commentCount": 1}
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 1
    assert shown["comments"]["totalCount"] == 1
    assert [(c["id"], c["author"]["nickname"]) for c in listed(shown)] == [(created["id"], "bob")]


async def test_top_level_comments_are_listed_oldest_first(api):
    topic = await a_topic(api)
    ids = []
    for n in range(4):
        ids.append((await create_comment(api, topic["id"], author=f"m{n}", body=f"c{n}"))["id"])
        clock.travel(timedelta(minutes=1))
    shown = await thread(api, topic["id"])
    assert [c["id"] for c in listed(shown)] == ids
    assert [c["body"] for c in listed(shown)] == ["c0", "c1", "c2", "c3"]


@pytest.mark.usefixtures("no_rate_limits")
async def test_comments_page_by_cursor_without_gaps_or_repeats(api):
    topic = await a_topic(api)
    for n in range(5):
        await create_comment(api, topic["id"], body=f"c{n}")
    bodies, after = [], None
    for _ in range(3):
        page = (await api(COMMENT_PAGE, {"id": topic["id"], "after": after}))["topic"]["comments"]
        assert page["totalCount"] == 5
        bodies += [e["node"]["body"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert bodies == ["c0", "c1", "c2", "c3", "c4"]


async def test_replies_are_flat_under_their_root_comment_with_parent_naming_the_answered_one(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], author="bob", body="root")
    other_root = await create_comment(api, topic["id"], author="carol", body="second root")
    reply = await create_comment(api, topic["id"], "carol", "to root", root["id"])
    reply_to_reply = await create_comment(api, topic["id"], "dave", "to reply", reply["id"])
    late_reply = await create_comment(api, topic["id"], "erin", "late", root["id"])

    assert reply["parent"] == {"id": root["id"]}
    assert reply_to_reply["parent"] == {"id": reply["id"]}
    assert late_reply["topic"]["commentCount"] == 5

    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 5
    assert [c["id"] for c in listed(shown)] == [root["id"], other_root["id"]]
    assert shown["comments"]["totalCount"] == 2
    first, second = listed(shown)
    assert first["replies"]["totalCount"] == 3
    assert [(r["body"], r["parent"]["id"]) for r in replies_of(first)] == [
        ("to root", root["id"]),
        ("to reply", reply["id"]),
        ("late", root["id"]),
    ]
    assert second["replies"] == {"totalCount": 0, "edges": []}


async def test_a_reply_in_a_thread_lists_the_whole_thread_as_its_replies(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], body="root")
    reply = await create_comment(api, topic["id"], body="one", parent_id=root["id"])
    await create_comment(api, topic["id"], body="two", parent_id=reply["id"])
    query = "query($id: ID!) { node(id: $id) { ... on Comment { replies { totalCount } } } }"
    node = (await api(query, {"id": reply["id"]}))["node"]
    assert node == {"replies": {"totalCount": 2}}


@pytest.mark.usefixtures("no_rate_limits")
async def test_a_thread_of_replies_pages_by_cursor_from_its_first_page(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], body="root")
    for n in range(5):
        await create_comment(api, topic["id"], body=f"r{n}", parent_id=root["id"])
    query = """
    query($id: ID!, $after: String) {
      node(id: $id) { ... on Comment {
        replies(first: 2, after: $after) {
          totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { body } }
        }
      } }
    }"""
    bodies, after, pages = [], None, []
    while True:
        page = (await api(query, {"id": root["id"], "after": after}))["node"]["replies"]
        assert page["totalCount"] == 5
        pages.append((page["pageInfo"]["hasNextPage"], page["pageInfo"]["hasPreviousPage"]))
        bodies += [e["node"]["body"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert bodies == ["r0", "r1", "r2", "r3", "r4"]
    assert pages == [(True, False), (True, True), (False, True)]


async def test_an_empty_or_blank_body_is_invalid_and_names_the_body_field(api):
    topic = await a_topic(api)
    for body in ("", "   ", "\n\t  \n"):
        answer = await comment(api, topic["id"], body)
        assert answer["comment"] is None
        assert answer["errors"] == [{"field": ["input", "body"], "code": "INVALID"}], body
    assert (await thread(api, topic["id"]))["commentCount"] == 0
    assert await Comment.all().count() == 0


async def test_a_body_may_have_5000_characters_but_not_5001(api):
    topic = await a_topic(api)
    longest = await comment(api, topic["id"], "x" * 5000)
    assert longest["errors"] == [] and longest["comment"]["body"] == "x" * 5000
    too_long = await comment(api, topic["id"], "x" * 5001)
    assert too_long["comment"] is None
    assert too_long["errors"] == [{"field": ["input", "body"], "code": "INVALID"}]
    assert (await thread(api, topic["id"]))["commentCount"] == 1


async def test_a_body_is_trimmed_before_it_is_measured_and_stored(api):
    topic = await a_topic(api)
    answer = await comment(api, topic["id"], "  hi  " + " " * 5000)
    assert answer["errors"] == []
    assert answer["comment"]["body"] == "hi"


async def test_an_anonymous_caller_cannot_comment(api):
    topic = await a_topic(api)
    comment_input = {"topicId": topic["id"], "body": "hi"}
    answer = (await api(CREATE_COMMENT, {"input": comment_input}))["createComment"]
    assert answer["comment"] is None
    assert [e["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
    assert await Comment.all().count() == 0


async def test_a_locked_topic_takes_no_comments_from_members_but_does_from_moderators(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], body="before the lock")
    await Topic.filter(id=pk_of(topic["id"])).update(is_locked=True)

    refused = await comment(api, topic["id"], "after the lock", as_="carol")
    assert refused["comment"] is None
    assert [e["code"] for e in refused["errors"]] == ["LOCKED"]
    refused_reply = await comment(api, topic["id"], "reply", as_="carol", parent_id=root["id"])
    assert [e["code"] for e in refused_reply["errors"]] == ["LOCKED"]
    assert (await thread(api, topic["id"]))["commentCount"] == 1

    by_moderator = await comment(
        api, topic["id"], "closing note", as_=MODERATOR, roles=("moderator",)
    )
    assert by_moderator["errors"] == []
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 2
    assert [c["body"] for c in listed(shown)] == ["before the lock", "closing note"]


async def test_a_deleted_topic_takes_no_comments_even_from_moderators(api):
    topic = await a_topic(api, author="alice")
    deleted = await api(DELETE_TOPIC, {"id": topic["id"]}, as_="alice")
    assert deleted["deleteTopic"]["errors"] == []
    for who, roles in (("bob", ()), (MODERATOR, ("moderator",))):
        answer = await comment(api, topic["id"], "hello?", as_=who, roles=roles)
        assert answer["comment"] is None
        assert answer["errors"] == [{"field": ["input", "topicId"], "code": "NOT_FOUND"}]
    assert await Comment.all().count() == 0


async def test_a_topic_id_that_names_nothing_or_something_else_is_not_found(api):
    topic = await a_topic(api)
    board_id = topic["board"]["id"]
    for topic_id in ("garbage", board_id, "VG9waWM6OTk5OTk"):  # the last is Topic:99999
        answer = await comment(api, topic_id, "hi")
        assert answer["comment"] is None
        assert answer["errors"] == [{"field": ["input", "topicId"], "code": "NOT_FOUND"}], topic_id


async def test_a_parent_from_another_topic_is_not_found_and_nothing_is_written(api):
    board = await create_board(api)
    first = await create_topic(api, board["id"], title="first")
    second = await create_topic(api, board["id"], author="carol", title="second")
    elsewhere = await create_comment(api, first["id"], body="on the first topic")
    answer = await comment(api, second["id"], "reply", parent_id=elsewhere["id"])
    assert answer["comment"] is None
    assert answer["errors"] == [{"field": ["input", "parentId"], "code": "NOT_FOUND"}]
    assert (await thread(api, second["id"]))["commentCount"] == 0
    assert (await thread(api, first["id"]))["commentCount"] == 1
    assert await Comment.all().count() == 1


async def test_a_reply_to_a_deleted_comment_is_not_found(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], author="bob")
    assert (await delete(api, root["id"], as_="bob"))["errors"] == []
    answer = await comment(api, topic["id"], "too late", as_="carol", parent_id=root["id"])
    assert answer["errors"] == [{"field": ["input", "parentId"], "code": "NOT_FOUND"}]
    assert (await thread(api, topic["id"]))["commentCount"] == 0


async def test_commenting_moves_the_topics_last_activity_to_the_comments_time(api):
    topic = await a_topic(api)
    before = await thread(api, topic["id"])
    clock.travel(timedelta(hours=3))
    await create_comment(api, topic["id"])
    after = await thread(api, topic["id"])
    moved = datetime.fromisoformat(after["lastActivityAt"]) - datetime.fromisoformat(
        before["lastActivityAt"]
    )
    assert timedelta(hours=3) <= moved < timedelta(hours=3, minutes=1)
    stored = await Comment.get(id=pk_of(listed(after)[0]["id"]))
    assert datetime.fromisoformat(after["lastActivityAt"]) == stored.created_at


async def test_comment_bodies_are_rendered_to_sanitized_html(api):
    topic = await a_topic(api)
    source = (
        '<script>alert("x")</script> <img src=x onerror=alert(1)> '
        "[click](javascript:alert(1)) [shop](https://mall.example/p/1) **ok**"
    )
    created = await create_comment(api, topic["id"], body=source)
    html = created["bodyHtml"]
    assert created["body"] == source
    assert "<script" not in html and "<img" not in html
    assert 'href="javascript' not in html and "&lt;script&gt;" in html
    assert '<a href="https://mall.example/p/1" rel="nofollow ugc noopener">shop</a>' in html
    assert "<strong>ok</strong>" in html
    shown = listed(await thread(api, topic["id"]))[0]
    assert shown["bodyHtml"] == html
