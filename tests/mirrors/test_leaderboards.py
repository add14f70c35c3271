"""Leaderboards: every kind and period, in the community and in each board, equal the count
from the rows over random events; ties, hiding, bans and periods in focused cases."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta

import pytest

from mallforum import clock
from mallforum.clock import now
from mallforum.errors import UserFailure
from mallforum.ids import encode_id
from models import Member, PointReason, PointTransaction
from tests.clock_steps import local, pin_clock, set_clock
from tests.forum import MODERATOR, create_board, create_comment, create_topic, pk_of, promote
from tests.mirrors.leaderboard_steps import (
    BAN,
    DELETE_COMMENT,
    KINDS,
    LEADERBOARD,
    MOD,
    MODERATE,
    PERIODS,
    RESTORE_MEMBER,
    Community,
    Rows,
    assert_all_match,
    content_rows,
    ids_of,
    place,
    random_event,
    standing,
)
from tests.topics.like_steps import like, unlike

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar


# ---------------------------------------------------------------- tests


async def test_every_leaderboard_equals_the_count_from_the_rows_over_random_events(
    api, app, settings
):
    """A few thousand random posts, likes, unlikes, hides, restores, deletions, check-ins,
    bans and unbans over nine days crossing a month's end and a Monday, some at the same
    time: every leaderboard (kind × period × community and each board) and members' places,
    read through GraphQL, equal the count from the rows; keys expire at random meanwhile."""
    rng = random.Random(6)
    zone = settings.zone
    set_clock(local(api, date(2031, 1, 28), 21))  # a Tuesday; February starts on Saturday
    subs = [f"m{n:02d}" for n in range(14)]
    for sub in [*subs, MODERATOR]:
        await api("{ viewer { id } }", as_=sub, roles=("moderator",) if sub == MODERATOR else ())
    boards = [await create_board(api, slug) for slug in ("beauty", "digital", "outfits")]
    slugs = {pk_of(board["id"]): board["slug"] for board in boards}
    community = Community(app, settings, rng)
    community.ids = {m.mall_user_id: m.pk for m in await Member.all()}
    store = app.state.services["redis"]

    events, batch = 1600, 8
    for step in range(events // batch):
        clock.travel(timedelta(minutes=rng.expovariate(1 / 65)))
        rows = await content_rows()
        results = await asyncio.gather(
            *(random_event(community, subs, list(slugs), rows) for _ in range(batch)),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, UserFailure):
                raise result
        if step % 40 == 5:
            await assert_all_match(api, slugs, zone, viewers=rng.sample(subs, 2))
            # Let a few keys expire (be evicted) at random: the next read rebuilds them.
            keys = [k async for k in store.client.scan_iter(f"{store.keys.prefix}:lb:*}}")]
            for key in rng.sample(keys, min(4, len(keys))):
                await store.client.delete(key)
    await assert_all_match(api, slugs, zone, viewers=subs[:3])
    assert now() > local(api, date(2031, 2, 4), 0)  # past a month's end and a Monday
    rows = await Rows.read()
    assert len(rows.counted["LIKES_RECEIVED"]) > 200 and len(rows.counted["POSTS"]) > 200
    negative = await PointTransaction.filter(reason=PointReason.CONTENT_REMOVED).count()
    assert negative > 0


# ---------------------------------------------------------------- focused cases


async def test_likes_count_for_the_author_and_ties_go_to_who_got_there_first(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board = await create_board(api)
    first = await create_topic(api, board["id"], author="alice")
    second = await create_topic(api, board["id"], author="bob")
    alice, bob = await ids_of("alice", "bob")
    await like(api, second["id"], as_="carol")  # bob reaches 1 first
    await like(api, first["id"], as_="carol")
    await like(api, first["id"], as_="alice")  # a self-like counts for nothing
    assert await standing(api, "LIKES_RECEIVED", "DAILY") == [(bob, 1), (alice, 1)]
    assert await place(api, "alice", "LIKES_RECEIVED", "DAILY") == (2, 1)
    await like(api, first["id"], as_="dave")
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY", "beauty") == [(alice, 2), (bob, 1)]
    await unlike(api, first["id"], as_="dave")  # back to 1, reached when carol liked it
    assert await standing(api, "LIKES_RECEIVED", "MONTHLY") == [(bob, 1), (alice, 1)]
    await unlike(api, second["id"], as_="carol")
    assert await standing(api, "LIKES_RECEIVED", "ALL_TIME") == [(alice, 1)]
    assert await place(api, "bob", "LIKES_RECEIVED", "ALL_TIME") is None
    assert await place(api, "carol", "LIKES_RECEIVED", "ALL_TIME") is None


async def test_hidden_content_takes_its_post_and_likes_off_and_restoring_puts_them_back(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    comment = await create_comment(api, topic["id"], author="bob")
    await like(api, topic["id"], as_="bob")
    await like(api, comment["id"], as_="alice")
    alice, bob = await ids_of("alice", "bob")
    assert await standing(api, "POSTS", "DAILY") == [(alice, 1), (bob, 1)]
    await api(MODERATE, {"id": topic["id"], "action": "HIDE"}, **MOD)
    assert await standing(api, "POSTS", "DAILY") == [(bob, 1)]
    assert await standing(api, "LIKES_RECEIVED", "DAILY") == [(bob, 1)]
    await api(MODERATE, {"id": topic["id"], "action": "RESTORE"}, **MOD)
    # Back as it was: alice's topic and its like came before bob's comment and its like.
    assert await standing(api, "POSTS", "DAILY", "beauty") == [(alice, 1), (bob, 1)]
    assert await standing(api, "LIKES_RECEIVED", "DAILY") == [(alice, 1), (bob, 1)]
    await api(DELETE_COMMENT, {"id": comment["id"]}, as_="bob")
    assert await standing(api, "POSTS", "WEEKLY") == [(alice, 1)]
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY") == [(alice, 1)]


async def test_a_banned_member_drops_out_and_comes_back_with_what_the_rows_say(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board = await create_board(api)
    topic = await create_topic(api, board["id"], author="alice")
    await like(api, topic["id"], as_="bob")
    await api("{ viewer { id } }", **MOD)
    alice, bob = await ids_of("alice", "bob")
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY") == [(alice, 1)]
    banned = await api(BAN, {"id": encode_id("Member", alice)}, **MOD)
    assert banned["banMember"]["errors"] == []
    for kind in KINDS:
        assert alice not in dict(await standing(api, kind, "WEEKLY"))
    await like(api, topic["id"], as_="carol")  # while banned: not added
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY") == []
    assert await place(api, "alice", "LIKES_RECEIVED", "WEEKLY") is None
    await api(RESTORE_MEMBER, {"id": encode_id("Member", alice)}, **MOD)
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY", "beauty") == [(alice, 2)]
    assert await standing(api, "POSTS", "ALL_TIME") == [(alice, 1)]
    experience = await standing(api, "EXPERIENCE", "DAILY")
    assert dict(experience)[alice] == 10 + 10 + 2 * 2  # welcome, topic, two likes
    assert dict(experience)[bob] == 10


async def test_a_new_day_starts_an_empty_daily_leaderboard_and_a_monday_a_new_week(api):
    board = await create_board(api)
    set_clock(local(api, date(2031, 3, 30), 23, 50))  # a Sunday, the month's second-last day
    topic = await create_topic(api, board["id"], author="alice")
    await like(api, topic["id"], as_="bob")
    (alice,) = await ids_of("alice")
    for period in PERIODS:
        assert await standing(api, "POSTS", period) == [(alice, 1)], period
    set_clock(local(api, date(2031, 3, 31), 0, 5))  # Monday: a new day and a new week
    assert await standing(api, "POSTS", "DAILY") == []
    assert await standing(api, "POSTS", "WEEKLY") == []
    assert await standing(api, "POSTS", "MONTHLY") == [(alice, 1)]
    await like(api, topic["id"], as_="carol")
    assert await standing(api, "LIKES_RECEIVED", "DAILY") == [(alice, 1)]
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY", "beauty") == [(alice, 1)]
    assert await standing(api, "LIKES_RECEIVED", "MONTHLY") == [(alice, 2)]
    set_clock(local(api, date(2031, 4, 1), 9))  # April: a new month, the same week
    assert await standing(api, "LIKES_RECEIVED", "MONTHLY") == []
    assert await standing(api, "LIKES_RECEIVED", "WEEKLY") == [(alice, 1)]
    assert await standing(api, "LIKES_RECEIVED", "ALL_TIME") == [(alice, 2)]


async def test_period_keys_expire_a_day_after_their_period_and_all_time_ones_never(
    api, app, settings
):
    set_clock(local(api, date(2031, 5, 14), 18))  # a Wednesday
    board = await create_board(api)
    await create_topic(api, board["id"], author="alice")
    for period in PERIODS:
        await standing(api, "POSTS", period)
    store = app.state.services["redis"]
    ttl = {}
    for label in ("d2031-05-14", "w2031-W20", "m2031-05", "all"):
        ttl[label] = await store.client.ttl(store.keys.leaderboard("posts", "all", label))
    hour = 3600
    assert ttl["all"] == -1
    assert abs(ttl["d2031-05-14"] - (6 + 24) * hour) <= 2  # 18:00 on the day, then a day
    assert abs(ttl["w2031-W20"] - (6 + 4 * 24 + 24) * hour) <= 2  # a Wednesday
    assert abs(ttl["m2031-05"] - (6 + 17 * 24 + 24) * hour) <= 2  # the 14th of 31 days


async def test_first_is_capped_at_100_and_an_unknown_board_has_no_leaderboard(api):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    response = await api.post(LEADERBOARD, {"first": 101})
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID"
    board = await create_board(api)
    vip = await create_board(api, "vip-lounge", minLevelToView=3, minLevelToPost=3)
    await create_topic(api, board["id"], author="alice")
    await promote(api, "carol", 3)
    await create_topic(api, vip["id"], author="carol")
    assert await standing(api, "POSTS", "DAILY", "beauty") != []
    assert await standing(api, "POSTS", "DAILY", "vip-lounge", as_="carol") != []
    for slug in ("nowhere", "vip-lounge"):  # not there; not for alice's level
        answer = await api(LEADERBOARD, {"kind": "POSTS", "board": slug}, as_="alice")
        assert answer == {"leaderboard": []}
        assert await place(api, "alice", "POSTS", "DAILY", slug) is None
    anonymous = await api("{ leaderboard { rank } viewerRank { rank } }")
    assert anonymous == {"leaderboard": [{"rank": 1}, {"rank": 2}, {"rank": 3}], "viewerRank": None}
