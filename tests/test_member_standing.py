"""What muted and banned members may still do: muted ones read, like and follow but do not
post; banned ones write nothing."""

from __future__ import annotations

from datetime import timedelta

from mallforum import clock
from models import Member, MemberStatus
from tests.forum import CREATE_COMMENT, CREATE_TOPIC, LIKE, create_board, create_topic

FOLLOW = (
    "mutation($id: ID!) { followBoard(boardId: $id) { board { viewerFollows } errors { code } } }"
)


async def _set_standing(api, sub: str, status: MemberStatus, until=None) -> None:
    await api("{ viewer { id } }", as_=sub)  # provisions the member
    await Member.filter(mall_user_id=sub).update(status=status, muted_until=until)


async def _writes(api, sub: str, board: dict, topic: dict) -> dict[str, list[str]]:
    """The error codes each kind of write gets, for the member `sub`."""
    topic_input = {"boardId": board["id"], "title": "t", "body": "b"}
    comment_input = {"topicId": topic["id"], "body": "c"}
    answers = {
        "createTopic": await api(CREATE_TOPIC, {"input": topic_input}, as_=sub),
        "createComment": await api(CREATE_COMMENT, {"input": comment_input}, as_=sub),
        "like": await api(LIKE, {"id": topic["id"]}, as_=sub),
        "followBoard": await api(FOLLOW, {"id": board["id"]}, as_=sub),
    }
    return {name: [e["code"] for e in data[name]["errors"]] for name, data in answers.items()}


async def test_a_muted_member_reads_likes_and_follows_but_does_not_post(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    await _set_standing(api, "muted", MemberStatus.MUTED, clock.now() + timedelta(hours=2))
    assert await _writes(api, "muted", board, topic) == {
        "createTopic": ["FORBIDDEN"],
        "createComment": ["FORBIDDEN"],
        "like": [],
        "followBoard": [],
    }


async def test_a_mute_that_has_run_out_no_longer_stops_posting(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    await _set_standing(api, "muted", MemberStatus.MUTED, clock.now() + timedelta(hours=2))
    clock.travel(timedelta(hours=3))
    assert await _writes(api, "muted", board, topic) == {
        "createTopic": [],
        "createComment": [],
        "like": [],
        "followBoard": [],
    }


async def test_an_indefinite_mute_holds_until_lifted(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    await _set_standing(api, "muted", MemberStatus.MUTED, None)
    clock.travel(timedelta(days=365))
    codes = await _writes(api, "muted", board, topic)
    assert codes["createTopic"] == ["FORBIDDEN"] and codes["createComment"] == ["FORBIDDEN"]


async def test_a_banned_member_writes_nothing(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    await _set_standing(api, "banned", MemberStatus.BANNED)
    assert await _writes(api, "banned", board, topic) == {
        "createTopic": ["FORBIDDEN"],
        "createComment": ["FORBIDDEN"],
        "like": ["FORBIDDEN"],
        "followBoard": ["FORBIDDEN"],
    }
    likes = await api(
        "query($id: ID!) { node(id: $id) { ... on Topic { likeCount } } }", {"id": topic["id"]}
    )
    assert likes["node"]["likeCount"] == 0
