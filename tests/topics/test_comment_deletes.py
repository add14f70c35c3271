"""Deleting comments and replies (a removed comment with replies stays as a placeholder),
and comments counted under concurrency."""

from __future__ import annotations

from models import Comment, Member, Topic
from tests.forum import MODERATOR, concurrently, create_comment, pk_of
from tests.topics.comment_steps import (
    CREATE_COMMENT,
    DELETE_COMMENT,
    THREAD,
    a_topic,
    delete,
    listed,
    replies_of,
    thread,
)

# ---------------------------------------------------------------- deleteComment


async def test_its_author_deletes_a_comment_and_the_topic_count_drops(api):
    topic = await a_topic(api)
    kept = await create_comment(api, topic["id"], author="bob", body="kept")
    gone = await create_comment(api, topic["id"], author="bob", body="gone")
    answer = await delete(api, gone["id"], as_="bob")
    assert answer == {"deletedId": gone["id"], "errors": []}
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 1
    assert [c["id"] for c in listed(shown)] == [kept["id"]]
    assert shown["comments"]["totalCount"] == 1


async def test_a_moderator_deletes_anyones_comment(api):
    topic = await a_topic(api)
    gone = await create_comment(api, topic["id"], author="bob")
    answer = await delete(api, gone["id"], as_=MODERATOR, roles=("moderator",))
    assert answer == {"deletedId": gone["id"], "errors": []}
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 0 and listed(shown) == []


async def test_another_member_may_not_delete_a_comment(api):
    topic = await a_topic(api, author="alice")
    kept = await create_comment(api, topic["id"], author="bob")
    for who in ("carol", "alice"):  # not even the topic's author
        answer = await delete(api, kept["id"], as_=who)
        assert answer["deletedId"] is None
        assert [e["code"] for e in answer["errors"]] == ["FORBIDDEN"]
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 1
    assert [(c["id"], c["status"]) for c in listed(shown)] == [(kept["id"], "PUBLISHED")]


async def test_an_anonymous_caller_cannot_delete_a_comment(api):
    topic = await a_topic(api)
    kept = await create_comment(api, topic["id"])
    answer = (await api(DELETE_COMMENT, {"id": kept["id"]}))["deleteComment"]
    assert [e["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
    assert (await thread(api, topic["id"]))["commentCount"] == 1


async def test_deleting_a_comment_twice_is_not_found_and_counts_once(api):
    topic = await a_topic(api)
    await create_comment(api, topic["id"], author="bob", body="stays")
    gone = await create_comment(api, topic["id"], author="bob")
    assert (await delete(api, gone["id"], as_="bob"))["errors"] == []
    for who, roles in (("bob", ()), (MODERATOR, ("moderator",))):
        again = await delete(api, gone["id"], as_=who, roles=roles)
        assert again == {"deletedId": None, "errors": [{"field": ["id"], "code": "NOT_FOUND"}]}
    assert (await thread(api, topic["id"]))["commentCount"] == 1


async def test_a_deleted_top_level_comment_with_replies_stays_as_an_empty_placeholder(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], author="bob", body="the root")
    reply = await create_comment(api, topic["id"], "carol", "a reply", root["id"])
    assert (await delete(api, root["id"], as_="bob"))["errors"] == []

    for who in ("reader", "carol", "bob"):
        shown = await thread(api, topic["id"], as_=who)
        assert shown["commentCount"] == 1
        (placeholder,) = listed(shown)
        assert placeholder["id"] == root["id"]
        assert placeholder["status"] == "DELETED"
        assert placeholder["body"] == "" and placeholder["bodyHtml"] == ""
        assert [(r["id"], r["body"]) for r in replies_of(placeholder)] == [(reply["id"], "a reply")]
        assert placeholder["replies"]["totalCount"] == 1

    anonymous = listed((await api(THREAD, {"id": topic["id"]}))["topic"])
    assert anonymous[0]["body"] == "" and anonymous[0]["bodyHtml"] == ""

    moderated = listed(await thread(api, topic["id"], as_=MODERATOR, roles=("moderator",)))
    assert moderated[0]["status"] == "DELETED"
    assert moderated[0]["body"] == "the root"
    assert moderated[0]["bodyHtml"] == "<p>the root</p>\n"


async def test_a_placeholder_goes_once_the_last_reply_of_its_thread_is_deleted(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], author="bob", body="the root")
    reply = await create_comment(api, topic["id"], "carol", "a reply", root["id"])
    assert (await delete(api, root["id"], as_="bob"))["errors"] == []
    assert len(listed(await thread(api, topic["id"]))) == 1
    assert (await delete(api, reply["id"], as_="carol"))["errors"] == []
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 0
    assert listed(shown) == [] and shown["comments"]["totalCount"] == 0


async def test_a_deleted_reply_leaves_its_thread_and_the_count(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], author="bob", body="root")
    first = await create_comment(api, topic["id"], "carol", "first", root["id"])
    second = await create_comment(api, topic["id"], "dave", "second", first["id"])
    assert (await delete(api, first["id"], as_="carol"))["errors"] == []
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 2
    (only_root,) = listed(shown)
    assert only_root["status"] == "PUBLISHED"
    assert only_root["replies"]["totalCount"] == 1
    assert [(r["id"], r["parent"]["id"]) for r in replies_of(only_root)] == [
        (second["id"], first["id"])
    ]


async def test_a_reply_still_names_its_deleted_parent_as_an_empty_placeholder(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], author="bob", body="root")
    answered = await create_comment(api, topic["id"], "carol", "answered", root["id"])
    await create_comment(api, topic["id"], "dave", "the answer", answered["id"])
    assert (await delete(api, answered["id"], as_="carol"))["errors"] == []
    query = """
    query($id: ID!) {
      topic(id: $id) { comments { edges { node { replies { edges { node {
        body parent { id status body bodyHtml }
      } } } } } } }
    }"""
    for who, roles, body in (("bob", (), ""), (MODERATOR, ("moderator",), "answered")):
        data = await api(query, {"id": topic["id"]}, as_=who, roles=roles)
        (root_node,) = listed(data["topic"])
        (reply,) = replies_of(root_node)
        assert reply["body"] == "the answer"
        assert reply["parent"]["id"] == answered["id"]
        assert reply["parent"]["status"] == "DELETED"
        assert reply["parent"]["body"] == body


async def test_a_garbage_or_foreign_comment_id_cannot_be_deleted(api):
    topic = await a_topic(api)
    await create_comment(api, topic["id"])
    for comment_id in ("garbage", topic["id"], "Q29tbWVudDo5OTk5OQ"):  # the last: Comment:99999
        answer = await delete(api, comment_id, as_=MODERATOR, roles=("moderator",))
        assert answer == {"deletedId": None, "errors": [{"field": ["id"], "code": "NOT_FOUND"}]}
    assert (await thread(api, topic["id"]))["commentCount"] == 1


# ---------------------------------------------------------------- concurrency


async def test_thirty_new_members_commenting_at_once_are_all_counted(api):
    topic = await a_topic(api)
    comment_input = {"topicId": topic["id"], "body": "me too"}
    datas = await concurrently(
        api.post(CREATE_COMMENT, {"input": comment_input}, as_=f"shopper-{n}") for n in range(30)
    )
    answers = [data["createComment"] for data in datas]
    assert all(answer["errors"] == [] for answer in answers), answers
    counts = sorted(answer["comment"]["topic"]["commentCount"] for answer in answers)
    assert counts == list(range(1, 31))  # each comment was counted in turn
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 30
    assert shown["comments"]["totalCount"] == 30
    authors = """
    query($id: ID!) {
      topic(id: $id) { comments(first: 50) { edges { node { author { nickname } } } } }
    }"""
    everyone = listed((await api(authors, {"id": topic["id"]}))["topic"])
    assert sorted(c["author"]["nickname"] for c in everyone) == sorted(
        f"shopper-{n}" for n in range(30)
    )
    rows = await Comment.filter(topic_id=pk_of(topic["id"])).count()
    assert rows == 30
    assert (await Topic.get(id=pk_of(topic["id"]))).comment_count == rows
    assert await Member.filter(mall_user_id__startswith="shopper-").count() == 30


async def test_thirty_concurrent_replies_in_one_thread_are_all_counted(api):
    topic = await a_topic(api)
    root = await create_comment(api, topic["id"], author="bob")
    reply_input = {"topicId": topic["id"], "body": "+1", "parentId": root["id"]}
    datas = await concurrently(
        api.post(CREATE_COMMENT, {"input": reply_input}, as_=f"fan-{n}") for n in range(30)
    )
    assert all(data["createComment"]["errors"] == [] for data in datas), datas
    shown = await thread(api, topic["id"])
    assert shown["commentCount"] == 31
    assert listed(shown)[0]["replies"]["totalCount"] == 30
    assert await Comment.filter(topic_id=pk_of(topic["id"])).count() == 31
    assert (await Comment.get(id=pk_of(root["id"]))).reply_count == 30


async def test_concurrent_comments_and_deletes_keep_the_count_equal_to_the_published_rows(api):
    topic = await a_topic(api)
    doomed = [await create_comment(api, topic["id"], author=f"old-{n}") for n in range(10)]
    comment_input = {"topicId": topic["id"], "body": "new"}
    requests = [
        api.post(CREATE_COMMENT, {"input": comment_input}, as_=f"new-{n}") for n in range(15)
    ] + [api.post(DELETE_COMMENT, {"id": c["id"]}, as_=f"old-{n}") for n, c in enumerate(doomed)]
    datas = await concurrently(requests)
    assert all(
        (data.get("createComment") or data.get("deleteComment"))["errors"] == [] for data in datas
    ), datas
    published = await Comment.filter(topic_id=pk_of(topic["id"]), status="PUBLISHED").count()
    assert published == 15
    assert (await thread(api, topic["id"]))["commentCount"] == published
