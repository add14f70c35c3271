"""Likes on topics and comments: counted once per member, exact under concurrency."""

from __future__ import annotations

import random

from models import Comment, Like, Member, Topic
from tests.forum import MODERATOR, concurrently, create_board, create_comment, create_topic, pk_of
from tests.topics.like_steps import LIKE, UNLIKE, like, like_rows, seen, unlike


async def a_topic_and_comment(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    comment = await create_comment(api, topic["id"], author="carol")
    return topic, comment


# ---------------------------------------------------------------- like and unlike


async def test_liking_a_topic_counts_it_and_shows_the_viewer_likes_it(api):
    topic, _ = await a_topic_and_comment(api)
    answer = await like(api, topic["id"], as_="bob")
    assert answer == {
        "likeCount": 1,
        "subject": {"id": topic["id"], "likeCount": 1, "viewerHasLiked": True},
        "errors": [],
    }
    assert await seen(api, topic["id"], as_="bob") == {"likeCount": 1, "viewerHasLiked": True}
    assert await seen(api, topic["id"], as_="dave") == {"likeCount": 1, "viewerHasLiked": False}
    assert await seen(api, topic["id"]) == {"likeCount": 1, "viewerHasLiked": False}
    assert await like_rows(topic["id"]) == 1


async def test_liking_a_comment_counts_it_and_shows_the_viewer_likes_it(api):
    topic, comment = await a_topic_and_comment(api)
    answer = await like(api, comment["id"], as_="bob")
    assert answer == {
        "likeCount": 1,
        "subject": {"id": comment["id"], "likeCount": 1, "viewerHasLiked": True},
        "errors": [],
    }
    assert await seen(api, comment["id"], as_="bob") == {"likeCount": 1, "viewerHasLiked": True}
    assert await seen(api, comment["id"], as_="dave") == {"likeCount": 1, "viewerHasLiked": False}
    assert await seen(api, topic["id"], as_="bob") == {"likeCount": 0, "viewerHasLiked": False}
    assert await like_rows(comment["id"]) == 1


async def test_likes_of_several_members_add_up(api):
    topic, comment = await a_topic_and_comment(api)
    for n, who in enumerate(("bob", "dave", "erin"), start=1):
        assert (await like(api, topic["id"], as_=who))["likeCount"] == n
        assert (await like(api, comment["id"], as_=who))["likeCount"] == n
    assert (await seen(api, topic["id"]))["likeCount"] == 3
    assert (await seen(api, comment["id"]))["likeCount"] == 3


async def test_liking_twice_counts_once_and_is_no_error(api):
    topic, comment = await a_topic_and_comment(api)
    for subject_id in (topic["id"], comment["id"]):
        first = await like(api, subject_id)
        again = await like(api, subject_id)
        assert again == first
        assert again["errors"] == [] and again["likeCount"] == 1
        assert again["subject"]["viewerHasLiked"] is True
        assert await seen(api, subject_id, as_="bob") == {"likeCount": 1, "viewerHasLiked": True}
        assert await like_rows(subject_id) == 1


async def test_unliking_takes_the_like_back(api):
    topic, comment = await a_topic_and_comment(api)
    for subject_id in (topic["id"], comment["id"]):
        await like(api, subject_id, as_="bob")
        await like(api, subject_id, as_="dave")
        answer = await unlike(api, subject_id, as_="bob")
        assert answer["errors"] == []
        assert answer["likeCount"] == 1
        assert answer["subject"] == {"id": subject_id, "likeCount": 1, "viewerHasLiked": False}
        assert await seen(api, subject_id, as_="bob") == {"likeCount": 1, "viewerHasLiked": False}
        assert await seen(api, subject_id, as_="dave") == {"likeCount": 1, "viewerHasLiked": True}
        assert await like_rows(subject_id) == 1


async def test_unliking_what_you_do_not_like_is_no_error_and_leaves_the_count(api):
    topic, comment = await a_topic_and_comment(api)
    for subject_id in (topic["id"], comment["id"]):
        await like(api, subject_id, as_="dave")
        for _ in range(2):
            answer = await unlike(api, subject_id, as_="bob")
            assert answer["errors"] == []
            assert answer["likeCount"] == 1
            assert answer["subject"]["viewerHasLiked"] is False
        assert await seen(api, subject_id, as_="dave") == {"likeCount": 1, "viewerHasLiked": True}
        assert await like_rows(subject_id) == 1


async def test_a_like_and_an_unlike_in_one_request_leave_the_viewer_not_liking(api):
    topic, _ = await a_topic_and_comment(api)
    both = """
    mutation($id: ID!) {
      on: like(id: $id) { likeCount subject { ... on Topic { viewerHasLiked } } }
      off: unlike(id: $id) { likeCount subject { ... on Topic { viewerHasLiked } } }
    }"""
    data = await api(both, {"id": topic["id"]}, as_="bob")
    assert data["on"] == {"likeCount": 1, "subject": {"viewerHasLiked": True}}
    assert data["off"] == {"likeCount": 0, "subject": {"viewerHasLiked": False}}
    assert await seen(api, topic["id"], as_="bob") == {"likeCount": 0, "viewerHasLiked": False}


async def test_likes_on_your_own_topic_and_comment_count(api):
    topic, comment = await a_topic_and_comment(api)
    assert (await like(api, topic["id"], as_="alice"))["likeCount"] == 1
    assert (await like(api, comment["id"], as_="carol"))["likeCount"] == 1
    assert await seen(api, topic["id"], as_="alice") == {"likeCount": 1, "viewerHasLiked": True}
    assert await seen(api, comment["id"], as_="carol") == {"likeCount": 1, "viewerHasLiked": True}


async def test_anonymous_callers_cannot_like_or_unlike(api):
    topic, comment = await a_topic_and_comment(api)
    await like(api, topic["id"], as_="bob")
    for mutation, field in ((LIKE, "like"), (UNLIKE, "unlike")):
        for subject_id in (topic["id"], comment["id"]):
            answer = (await api(mutation, {"id": subject_id}))[field]
            assert answer["likeCount"] is None and answer["subject"] is None
            assert [e["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
    assert (await seen(api, topic["id"]))["likeCount"] == 1
    assert (await seen(api, comment["id"]))["likeCount"] == 0
    assert await Like.all().count() == 1


async def test_a_garbage_id_a_board_id_or_a_missing_subject_is_not_found(api):
    topic, _ = await a_topic_and_comment(api)
    member_id = (await api("{ viewer { id } }", as_="bob"))["viewer"]["id"]
    for subject_id in (
        "garbage",
        "",
        topic["board"]["id"],
        member_id,
        "VG9waWM6OTk5OTk",  # Topic:99999
        "Q29tbWVudDo5OTk5OQ",  # Comment:99999
    ):
        for mutate in (like, unlike):
            answer = await mutate(api, subject_id)
            assert answer == {
                "likeCount": None,
                "subject": None,
                "errors": [{"field": ["id"], "code": "NOT_FOUND"}],
            }, (mutate.__name__, subject_id)
    assert await Like.all().count() == 0


async def test_a_deleted_topic_or_comment_cannot_be_liked_or_unliked(api):
    topic, comment = await a_topic_and_comment(api)
    await like(api, topic["id"], as_="bob")
    await like(api, comment["id"], as_="bob")
    delete_comment = "mutation($id: ID!) { deleteComment(id: $id) { errors { code } } }"
    delete_topic = "mutation($id: ID!) { deleteTopic(id: $id) { errors { code } } }"
    assert (await api(delete_comment, {"id": comment["id"]}, as_="carol"))["deleteComment"] == {
        "errors": []
    }
    assert (await api(delete_topic, {"id": topic["id"]}, as_="alice"))["deleteTopic"] == {
        "errors": []
    }
    for subject_id in (topic["id"], comment["id"]):
        for who, roles in (("bob", ()), ("dave", ()), (MODERATOR, ("moderator",))):
            for mutate in (like, unlike):
                answer = await mutate(api, subject_id, as_=who, roles=roles)
                assert answer["errors"] == [{"field": ["id"], "code": "NOT_FOUND"}]
                assert answer["likeCount"] is None
    assert await Like.all().count() == 2
    assert (await Topic.get(id=pk_of(topic["id"]))).like_count == 1
    assert (await Comment.get(id=pk_of(comment["id"]))).like_count == 1


async def test_a_liked_topic_rises_in_the_most_liked_order(api):
    board = await create_board(api)
    older = await create_topic(api, board["id"], title="older")
    await create_topic(api, board["id"], author="carol", title="newer")
    top = """
    query { board(slug: "beauty") { topics(sort: TOP) { edges { node { title likeCount } } } } }"""

    def order(data):
        return [
            (e["node"]["title"], e["node"]["likeCount"]) for e in data["board"]["topics"]["edges"]
        ]

    assert order(await api(top)) == [("newer", 0), ("older", 0)]
    await like(api, older["id"], as_="bob")
    assert order(await api(top)) == [("older", 1), ("newer", 0)]
    await unlike(api, older["id"], as_="bob")
    assert order(await api(top)) == [("newer", 0), ("older", 0)]


# ---------------------------------------------------------------- concurrency


def payloads(datas):
    """The like/unlike payloads of concurrent answers; none of them holds an error."""
    found = [data.get("like") or data.get("unlike") for data in datas]
    assert all(p is not None and p["errors"] == [] for p in found), found
    return found


async def test_fifty_concurrent_likes_by_one_new_member_count_once(api):
    topic, _ = await a_topic_and_comment(api)
    answers = payloads(
        await concurrently(api.post(LIKE, {"id": topic["id"]}, as_="eager") for _ in range(50))
    )
    assert {a["likeCount"] for a in answers} == {1}
    assert {a["subject"]["viewerHasLiked"] for a in answers} == {True}
    assert await seen(api, topic["id"], as_="eager") == {"likeCount": 1, "viewerHasLiked": True}
    assert await like_rows(topic["id"]) == 1
    assert await Member.filter(mall_user_id="eager").count() == 1


async def test_fifty_new_members_liking_a_topic_at_once_count_fifty(api):
    topic, _ = await a_topic_and_comment(api)
    answers = payloads(
        await concurrently(api.post(LIKE, {"id": topic["id"]}, as_=f"fan-{n}") for n in range(50))
    )
    assert sorted(a["likeCount"] for a in answers) == list(range(1, 51))  # counted in turn
    assert (await seen(api, topic["id"]))["likeCount"] == 50
    assert await like_rows(topic["id"]) == 50
    assert await Member.filter(mall_user_id__startswith="fan-").count() == 50


async def test_fifty_new_members_liking_a_comment_at_once_count_fifty(api):
    _, comment = await a_topic_and_comment(api)
    answers = payloads(
        await concurrently(api.post(LIKE, {"id": comment["id"]}, as_=f"fan-{n}") for n in range(50))
    )
    assert sorted(a["likeCount"] for a in answers) == list(range(1, 51))
    assert (await seen(api, comment["id"]))["likeCount"] == 50
    assert await like_rows(comment["id"]) == 50


async def test_concurrent_likes_and_unlikes_leave_the_count_equal_to_the_rows(api):
    topic, comment = await a_topic_and_comment(api)
    members = [f"m-{n}" for n in range(10)]
    for who in members[:5]:  # half of them start out liking both
        await like(api, topic["id"], as_=who)
        await like(api, comment["id"], as_=who)
    members += [f"new-{n}" for n in range(5)]  # and some are provisioned by the mix itself
    shuffle = random.Random(7)
    calls = [
        (shuffle.choice((LIKE, UNLIKE)), subject_id, shuffle.choice(members))
        for subject_id in (topic["id"], comment["id"])
        for _ in range(25)
    ]
    payloads(
        await concurrently(
            api.post(mutation, {"id": subject_id}, as_=who) for mutation, subject_id, who in calls
        )
    )
    for subject_id in (topic["id"], comment["id"]):
        rows = await like_rows(subject_id)
        assert (await seen(api, subject_id))["likeCount"] == rows, subject_id
        likers = [w for w in members if (await seen(api, subject_id, as_=w))["viewerHasLiked"]]
        assert len(likers) == rows
    assert (await Topic.get(id=pk_of(topic["id"]))).like_count == await like_rows(topic["id"])
    assert (await Comment.get(id=pk_of(comment["id"]))).like_count == await like_rows(comment["id"])


async def test_each_member_liking_and_unliking_at_once_ends_consistent(api):
    topic, _ = await a_topic_and_comment(api)
    calls = [(mutation, f"m-{n}") for n in range(25) for mutation in (LIKE, UNLIKE)]
    payloads(
        await concurrently(
            api.post(mutation, {"id": topic["id"]}, as_=who) for mutation, who in calls
        )
    )
    rows = await like_rows(topic["id"])
    assert 0 <= rows <= 25
    assert (await seen(api, topic["id"]))["likeCount"] == rows
    assert (await Topic.get(id=pk_of(topic["id"]))).like_count == rows
