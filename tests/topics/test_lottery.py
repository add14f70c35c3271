"""Comment lotteries (评论区抽奖): moderators draw distinct commenters, reproducibly from a
seed that anyone can re-run, and fairly across seeds."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import Counter

import pytest

from mallforum.ids import encode_id
from models import Member, MemberStatus, ModerationLog
from resolvers.lottery import draw
from tests.forum import MODERATOR, create_board, create_comment, create_topic, pk_of

DRAW = """
mutation($topicId: ID!, $winners: Int!, $seed: String) {
  drawLottery(topicId: $topicId, winners: $winners, seed: $seed) {
    winners { id nickname }
    seed
    errors { field code message }
  }
}"""
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) { deletedId errors { code } } }"
VIEWER_ID = "{ viewer { id } }"

MOD = {"as_": MODERATOR, "roles": ("moderator",)}
OWNER = "shop-owner"
#: The 0.999 quantile of the chi-square distribution with 9 degrees of freedom.
CHI_SQUARE_9_DOF_999 = 27.877


def expected_winners(seed: str, member_ids: list[str], winners: int) -> list[str]:
    """The draw as the README documents it, written out again: key each member's global ID
    by HMAC-SHA256(key=seed, message=ID) in hex, sort by (key, ID), take the first ones."""
    keys = {
        member: hmac.new(seed.encode("utf-8"), member.encode("utf-8"), hashlib.sha256).hexdigest()
        for member in member_ids
    }
    return sorted(member_ids, key=lambda member: (keys[member], member))[:winners]


@pytest.fixture
async def topic(api):
    board = await create_board(api)
    return await create_topic(api, board["id"], OWNER, title="评论区抽奖: win a coat")


async def member_id(api, sub: str) -> str:
    return (await api(VIEWER_ID, as_=sub))["viewer"]["id"]


async def commenters(api, topic: dict, count: int, prefix: str = "fan") -> list[str]:
    """`count` members who commented on the topic, as their global IDs."""
    subs = [f"{prefix}-{n}" for n in range(count)]
    for sub in subs:
        await create_comment(api, topic["id"], sub, f"Count me in! ({sub})")
    return [await member_id(api, sub) for sub in subs]


async def lottery(api, topic_id: str, winners: int, seed: str | None = None, **caller) -> dict:
    variables = {"topicId": topic_id, "winners": winners, "seed": seed}
    return (await api(DRAW, variables, **(caller or MOD)))["drawLottery"]


def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def winner_ids(payload: dict) -> list[str]:
    return [winner["id"] for winner in payload["winners"]]


async def test_the_same_seed_and_commenters_draw_the_same_winners(api, topic):
    fans = await commenters(api, topic, 8)
    first = await lottery(api, topic["id"], 3, "spring-sale-2025")
    assert first["errors"] == [] and first["seed"] == "spring-sale-2025"
    assert winner_ids(first) == expected_winners("spring-sale-2025", fans, 3)
    again = await lottery(api, topic["id"], 3, "spring-sale-2025")
    assert winner_ids(again) == winner_ids(first)
    names = {await member_id(api, f"fan-{n}"): f"fan-{n}" for n in range(8)}
    assert [w["nickname"] for w in first["winners"]] == [names[i] for i in winner_ids(first)]
    other_draws = {
        tuple(winner_ids(await lottery(api, topic["id"], 3, f"other-seed-{n}"))) for n in range(5)
    }
    assert other_draws == {tuple(expected_winners(f"other-seed-{n}", fans, 3)) for n in range(5)}
    assert len(other_draws | {tuple(winner_ids(first))}) > 1  # the seed decides


async def test_without_a_seed_the_server_picks_one_that_reproduces_the_draw(api, topic):
    fans = await commenters(api, topic, 6)
    drawn = await lottery(api, topic["id"], 2)
    assert drawn["errors"] == []
    assert re.fullmatch(r"[0-9a-f]{32}", drawn["seed"])
    assert winner_ids(drawn) == expected_winners(drawn["seed"], fans, 2)
    assert winner_ids(await lottery(api, topic["id"], 2, drawn["seed"])) == winner_ids(drawn)
    assert (await lottery(api, topic["id"], 2))["seed"] != drawn["seed"]


async def test_each_draw_is_written_to_the_moderation_log_with_its_seed_and_winners(api, topic):
    await commenters(api, topic, 4)
    drawn = await lottery(api, topic["id"], 2, "log-me")
    [entry] = await ModerationLog.filter(action="DRAW_LOTTERY")
    assert entry.target_id == topic["id"]
    assert entry.actor_id == (await Member.get(mall_user_id=MODERATOR)).pk
    assert json.loads(entry.note) == {"seed": "log-me", "winners": winner_ids(drawn)}


async def test_the_author_banned_members_and_deleted_comments_do_not_take_part(api, topic):
    fans = await commenters(api, topic, 3)
    await create_comment(api, topic["id"], OWNER, "Thanks all!")  # the topic's author
    banned = await create_comment(api, topic["id"], "spammer", "me me me")
    await Member.filter(mall_user_id="spammer").update(status=MemberStatus.BANNED)
    assert banned["id"]
    gone = await create_comment(api, topic["id"], "regretful", "Never mind")
    deleted = await api(DELETE_COMMENT, {"id": gone["id"]}, as_="regretful")
    assert deleted["deleteComment"]["errors"] == []
    second_try = await create_comment(api, topic["id"], "changed-mind", "first")
    await api(DELETE_COMMENT, {"id": second_try["id"]}, as_="changed-mind")
    back = await create_comment(api, topic["id"], "changed-mind", "in after all")
    await create_comment(api, topic["id"], "replier", "me too", parent_id=back["id"])
    eligible = [*fans, await member_id(api, "changed-mind"), await member_id(api, "replier")]
    drawn = await lottery(api, topic["id"], 100, "everyone")
    assert drawn["errors"] == []
    assert winner_ids(drawn) == expected_winners("everyone", eligible, 100)
    assert len(set(winner_ids(drawn))) == len(eligible) == 5


async def test_fewer_commenters_than_winners_all_win_in_draw_order(api, topic):
    fans = await commenters(api, topic, 3)
    drawn = await lottery(api, topic["id"], 10, "few")
    assert drawn["errors"] == []
    assert winner_ids(drawn) == expected_winners("few", fans, 3)
    assert sorted(winner_ids(drawn)) == sorted(fans)


async def test_a_topic_without_commenters_draws_nobody(api, topic):
    drawn = await lottery(api, topic["id"], 1, "empty")
    assert drawn == {"winners": [], "seed": "empty", "errors": []}


async def test_only_moderators_draw(api, topic):
    await commenters(api, topic, 2)
    anonymous = await api(DRAW, {"topicId": topic["id"], "winners": 1})
    assert codes(anonymous["drawLottery"]) == [("UNAUTHENTICATED", None)]
    member = await lottery(api, topic["id"], 1, as_=OWNER)
    assert codes(member) == [("FORBIDDEN", None)] and member["winners"] == []
    assert member["seed"] is None
    assert await ModerationLog.all().count() == 0


@pytest.mark.parametrize(
    ("winners", "seed", "field"),
    [(0, "s", "winners"), (1001, "s", "winners"), (1, "", "seed"), (1, "x" * 129, "seed")],
)
async def test_winners_and_seed_out_of_bounds_are_invalid(api, topic, winners, seed, field):
    refused = await lottery(api, topic["id"], winners, seed)
    assert codes(refused) == [("INVALID", [field])]
    assert await ModerationLog.all().count() == 0


async def test_the_bounds_themselves_are_allowed(api, topic):
    fans = await commenters(api, topic, 2)
    drawn = await lottery(api, topic["id"], 1000, "y" * 128)
    assert sorted(winner_ids(drawn)) == sorted(fans)


async def test_an_unknown_or_deleted_topic_is_not_found(api, topic):
    missing = await lottery(api, encode_id("Topic", 9999), 1, "s")
    assert codes(missing) == [("NOT_FOUND", ["topicId"])]
    not_a_topic = await lottery(api, encode_id("Member", pk_of(topic["author"]["id"])), 1, "s")
    assert codes(not_a_topic) == [("NOT_FOUND", ["topicId"])]
    delete = "mutation($id: ID!) { deleteTopic(id: $id) { errors { code } } }"
    assert (await api(delete, {"id": topic["id"]}, as_=OWNER))["deleteTopic"]["errors"] == []
    assert codes(await lottery(api, topic["id"], 1, "s")) == [("NOT_FOUND", ["topicId"])]


# ---------------------------------------------------------------- the drawing function


def test_the_draw_does_not_depend_on_the_order_of_the_candidates():
    members = [encode_id("Member", n) for n in range(1, 30)]
    assert draw("order", members, 5) == draw("order", list(reversed(members)), 5)
    assert draw("order", members, 5) == expected_winners("order", members, 5)
    assert draw("order", members + members, 50) == expected_winners("order", members, 50)


def test_different_seeds_spread_the_wins_fairly():
    """2,000 seeded draws of 1 winner among 10 commenters: each should win about 200 times.
    The chi-square statistic stays below the 0.999 quantile for 9 degrees of freedom."""
    members = [encode_id("Member", n) for n in range(101, 111)]
    wins = Counter(draw(f"seed-{n}", members, 1)[0] for n in range(2000))
    expected = 2000 / len(members)
    statistic = sum((wins[member] - expected) ** 2 / expected for member in members)
    assert statistic < CHI_SQUARE_9_DOF_999, (statistic, wins)


def test_every_place_of_a_three_winner_draw_spreads_fairly():
    members = [encode_id("Member", n) for n in range(1, 11)]
    places: list[Counter[str]] = [Counter(), Counter(), Counter()]
    for n in range(2000):
        for place, member in enumerate(draw(f"prize-{n}", members, 3)):
            places[place][member] += 1
    for counted in places:
        statistic = sum((counted[m] - 200) ** 2 / 200 for m in members)
        assert statistic < CHI_SQUARE_9_DOF_999, (statistic, counted)


async def test_the_api_draws_with_the_documented_function(api, topic):
    fans = await commenters(api, topic, 10)
    for n in range(5):
        drawn = await lottery(api, topic["id"], 1, f"api-seed-{n}")
        assert winner_ids(drawn) == draw(f"api-seed-{n}", fans, 1)
