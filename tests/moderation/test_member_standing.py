"""What muted and banned members may still do (muted ones read, like and follow but do not
post; banned ones write nothing), and moderators muting, banning and restoring them."""

from __future__ import annotations

from datetime import timedelta

from mallforum import clock
from models import Member, MemberStatus
from tests.forum import (
    ADMIN,
    CREATE_COMMENT,
    CREATE_TOPIC,
    LIKE,
    MODERATOR,
    create_board,
    create_topic,
)
from tests.moderation.steps import MOD, log, node, queue

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


# ---------------------------------------------------------------- moderators mute, ban, restore

MEMBER_FIELDS = "member { id status } errors { field code message }"
MUTE = f"""mutation($id: ID!, $until: DateTime, $reason: String!) {{
  muteMember(memberId: $id, until: $until, reason: $reason) {{ {MEMBER_FIELDS} }} }}"""
BAN = f"""mutation($id: ID!, $reason: String!) {{
  banMember(memberId: $id, reason: $reason) {{ {MEMBER_FIELDS} }} }}"""
RESTORE = f"""mutation($id: ID!, $note: String) {{
  restoreMember(memberId: $id, note: $note) {{ {MEMBER_FIELDS} }} }}"""


async def _member_id(api, sub: str, roles: tuple[str, ...] = ()) -> str:
    return (await api("{ viewer { id } }", as_=sub, roles=roles))["viewer"]["id"]


async def _mute(api, member_id: str, until=None, **caller) -> dict:
    variables = {"id": member_id, "until": until, "reason": "flooding"}
    return (await api(MUTE, variables, **(caller or MOD)))["muteMember"]


async def _ban(api, member_id: str, **caller) -> dict:
    return (await api(BAN, {"id": member_id, "reason": "scams"}, **(caller or MOD)))["banMember"]


async def test_a_moderator_mutes_a_member_until_a_time_and_logs_it(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    muted = await _member_id(api, "muted")
    until = (clock.now() + timedelta(hours=2)).isoformat()
    answer = await _mute(api, muted, until)
    assert answer == {"member": {"id": muted, "status": "MUTED"}, "errors": []}
    codes = await _writes(api, "muted", board, topic)
    assert codes["createTopic"] == ["FORBIDDEN"] and codes["like"] == []
    clock.travel(timedelta(hours=3))
    assert (await _writes(api, "muted", board, topic))["createComment"] == []
    assert (await log(api)) == [("MUTE", muted, "flooding")]


async def test_a_mute_must_end_in_the_future(api):
    muted = await _member_id(api, "muted")
    answer = await _mute(api, muted, (clock.now() - timedelta(minutes=1)).isoformat())
    assert answer["member"] is None
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("INVALID", ["until"])]
    assert (await Member.get(mall_user_id="muted")).status == MemberStatus.ACTIVE


async def test_a_ban_rejects_the_members_held_content_and_survives_their_next_token(api, hold_word):
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="bob")
    held = await create_topic(api, board["id"], author="spammer", body="hold-me")
    spammer = held["author"]["id"]
    answer = await _ban(api, spammer)
    assert answer == {"member": {"id": spammer, "status": "BANNED"}, "errors": []}
    assert (await node(api, held["id"]))["status"] == "HIDDEN"
    assert await queue(api) == []
    [rejected] = await queue(api, "REJECTED")
    assert rejected["target"]["id"] == held["id"] and rejected["note"] == "scams"
    assert all(c == ["FORBIDDEN"] for c in (await _writes(api, "spammer", board, topic)).values())
    viewer = await api("{ viewer { status } }", as_="spammer")  # a fresh token
    assert viewer["viewer"]["status"] == "BANNED"
    assert (await log(api)) == [("BAN", spammer, "scams")]


async def test_restoring_a_member_lifts_a_ban_or_mute(api):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    bob = await _member_id(api, "bob")
    await _ban(api, bob)
    restored = (await api(RESTORE, {"id": bob, "note": "appeal granted"}, **MOD))["restoreMember"]
    assert restored == {"member": {"id": bob, "status": "ACTIVE"}, "errors": []}
    assert all(codes == [] for codes in (await _writes(api, "bob", board, topic)).values())
    await _mute(api, bob)
    await api(RESTORE, {"id": bob}, **MOD)
    member = await Member.get(mall_user_id="bob")
    assert member.status == MemberStatus.ACTIVE and member.muted_until is None
    assert [action for action, _, _ in await log(api)] == [
        "RESTORE_MEMBER",
        "MUTE",
        "RESTORE_MEMBER",
        "BAN",
    ]


async def test_nobody_mutes_or_bans_an_admin_or_themselves(api):
    admin = await _member_id(api, ADMIN, ("admin",))
    moderator = await _member_id(api, MODERATOR, ("moderator",))
    for target in (admin, moderator):
        assert [e["code"] for e in (await _mute(api, target))["errors"]] == ["FORBIDDEN"]
        assert [e["code"] for e in (await _ban(api, target))["errors"]] == ["FORBIDDEN"]
    assert await Member.filter(status=MemberStatus.ACTIVE).count() == 2
    assert await log(api) == []


async def test_only_moderators_mute_ban_and_restore(api):
    bob = await _member_id(api, "bob")
    for caller, code in ((None, "UNAUTHENTICATED"), ("alice", "FORBIDDEN")):
        who = {"as_": caller}
        assert [e["code"] for e in (await _mute(api, bob, **who))["errors"]] == [code]
        assert [e["code"] for e in (await _ban(api, bob, **who))["errors"]] == [code]
        restored = (await api(RESTORE, {"id": bob}, **who))["restoreMember"]
        assert [e["code"] for e in restored["errors"]] == [code]
    assert (await Member.get(mall_user_id="bob")).status == MemberStatus.ACTIVE
