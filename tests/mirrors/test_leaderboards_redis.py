"""Leaderboards when Redis forgets or is gone: rebuilt from the rows, answered from them
meanwhile, one rebuild for many readers, and exact under concurrent writes."""

from __future__ import annotations

import random
from datetime import date

import pytest

from mallforum import missed_writes
from mallforum.clock import now
from mallforum.redis_store import RedisStore
from mirrors import reconcile
from mirrors.leaderboards import build
from mirrors.leaderboards.periods import ranked_member
from models import Member, PointReason, PointTransaction
from tests import stores
from tests.clock_steps import local, pin_clock, set_clock
from tests.forum import MODERATOR, concurrently, create_board, create_topic, pk_of
from tests.mirrors.leaderboard_steps import (
    FLUSHED_DB,
    LEADERBOARD,
    MOD,
    MODERATE,
    Rows,
    as_standing,
    assert_all_match,
    community_with_boards,
    ids_of,
    some_activity,
)
from tests.topics.like_steps import LIKE, UNLIKE

#: Days, weeks, months and time zones: `.ci/run` runs these again at other instants.
pytestmark = pytest.mark.calendar


# ---------------------------------------------------------------- Redis forgets, or is gone


async def test_every_leaderboard_is_right_again_after_redis_loses_its_data(api, app, settings):
    services = app.state.services
    working = services["redis"]
    flushed = RedisStore.connect(
        stores.REDIS_URL.rsplit("/", 1)[0] + f"/{FLUSHED_DB}", settings.redis_prefix
    )
    assert await flushed.client.dbsize() == 0, f"Redis database {FLUSHED_DB} is not free"
    services["redis"] = flushed
    try:
        rng = random.Random(13)
        set_clock(local(api, date(2031, 6, 29), 20))  # a Sunday, the month's last but one
        board_ids, slugs = await community_with_boards(api)
        await some_activity(api, board_ids, rng, 40)
        await assert_all_match(api, slugs, settings.zone, viewers=["alice"])
        assert await flushed.client.exists(flushed.keys.leaderboard("posts", "all", "all"))
        await flushed.client.flushdb()  # Redis restarted empty, say
        await some_activity(api, board_ids, rng, 25)  # updates find no keys: they skip them
        await assert_all_match(api, slugs, settings.zone, viewers=["bob", "carol"])
        assert await flushed.client.exists(flushed.keys.leaderboard("posts", "all", "all"))
    finally:
        services["redis"] = working
        await flushed.client.flushdb()
        await flushed.close()


async def test_leaderboards_answer_from_the_rows_while_redis_is_down(
    api, app, settings, redis_down
):
    rng = random.Random(21)
    set_clock(local(api, date(2031, 8, 31), 22))  # a Sunday, the month's last day
    board_ids, slugs = await community_with_boards(api)
    await some_activity(api, board_ids, rng, 30)
    await assert_all_match(api, slugs, settings.zone)  # the keys are built
    async with redis_down():
        await some_activity(api, board_ids, rng, 20)  # writes succeed
        await assert_all_match(api, slugs, settings.zone, viewers=["alice", "dave"])
        assert missed_writes.pending()  # the keys missed those writes
    assert await reconcile.reconcile(settings, app.state.services["redis"])
    await assert_all_match(api, slugs, settings.zone, viewers=["erin"])


async def test_a_cold_leaderboard_is_rebuilt_once_for_50_readers_at_once(api, app, sql_statements):
    pin_clock(api, date(2031, 6, 2), 0, 30)  # a Monday: the activity stays within its week
    board_ids, _ = await community_with_boards(api)
    await some_activity(api, board_ids, random.Random(50), 40)
    store = app.state.services["redis"]
    expected = (await Rows.read()).standing(
        "LIKES_RECEIVED", "WEEKLY", None, now(), api.settings.zone
    )
    assert len(expected) >= 3
    keys = [k async for k in store.client.scan_iter(f"{store.keys.prefix}:lb:*")]
    if keys:
        await store.client.delete(*keys)
    variables = {"kind": "LIKES_RECEIVED", "period": "WEEKLY", "first": 100}
    with sql_statements as counter:
        answers = await concurrently(api.post(LEADERBOARD, variables) for _ in range(50))
    rebuilds = [s for s in counter.statements if "pg_current_snapshot" in s]
    assert len(rebuilds) == 1
    assert all(as_standing(a["leaderboard"]) == expected for a in answers)


async def test_the_top_20_costs_the_same_statements_for_20_members_as_for_100(
    api, redis_down, sql_statements
):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    small, large = await create_board(api, "small"), await create_board(api, "large")
    joined = now()
    await Member.bulk_create(
        [Member(mall_user_id=f"s{n}", nickname=f"s{n}", joined_at=joined) for n in range(100)]
    )
    members = await Member.filter(mall_user_id__startswith="s").order_by("id")
    rows = [
        PointTransaction(
            member_id=member.pk,
            delta=0,
            experience=n + 1,
            reason=PointReason.ADMIN_ADJUSTMENT,
            idempotency_key=f"seed:{member.pk}:{board['id']}",
            balance_after=0,
            day=joined.date(),
            created_at=joined,
            board_id=pk_of(board["id"]),
        )
        for board, count in ((small, 20), (large, 100))
        for n, member in enumerate(members[:count])
    ]
    await PointTransaction.bulk_create(rows)
    top = [(m.pk, 100 - n) for n, m in enumerate(reversed(members))][:20]

    async def cost(slug: str) -> int:
        variables = {"kind": "EXPERIENCE", "period": "DAILY", "board": slug, "first": 20}
        with sql_statements as counter:
            data = await api(LEADERBOARD, variables)
        assert len(data["leaderboard"]) == 20
        if slug == "large":
            assert as_standing(data["leaderboard"]) == top
        return len(counter.statements)

    cold = {slug: await cost(slug) for slug in ("small", "large")}  # rebuilt from the rows
    warm = {slug: await cost(slug) for slug in ("small", "large")}  # from Redis
    async with redis_down():
        down = {slug: await cost(slug) for slug in ("small", "large")}  # from the rows
    assert cold["small"] == cold["large"]
    assert warm["small"] == warm["large"] == 2  # the board, then the 20 members at once
    assert down["small"] == down["large"] == 3  # the board, the ranking, the members


async def test_rebuild_all_writes_every_current_leaderboard_from_the_rows(api, app, settings):
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board_ids, slugs = await community_with_boards(api)
    await some_activity(api, board_ids, random.Random(36), 30)
    await assert_all_match(api, slugs, settings.zone)
    store = app.state.services["redis"]
    wrong = store.keys.leaderboard("posts", "all", "all")
    (alice,) = await ids_of("alice")
    await store.client.zadd(wrong, {ranked_member(alice): -1000 * 2**31})
    written = await build.rebuild_all(settings, store)
    assert written == 3 * 4 * (1 + len(slugs))  # kinds × periods × (community, boards)
    await assert_all_match(api, slugs, settings.zone, viewers=["alice"])


async def test_likes_unlikes_and_hiding_at_once_leave_every_leaderboard_right(
    api, settings, no_rate_limits
):
    """Members like and unlike one author's topics all at once, over HTTP, while a moderator
    hides and restores one of them: the updates reach Redis in whatever order, and every
    leaderboard still equals the rows."""
    pin_clock(api, date(2031, 5, 14), 10)  # a Wednesday morning: one day, week and month
    board = await create_board(api)
    texts = ["Serum review", "Best sunscreen for summer", "My skin care routine"]
    topics_ = [
        await create_topic(api, board["id"], author="alice", title=text, body=f"All about: {text}")
        for text in texts
    ]
    await create_topic(api, board["id"], author="bob", title="Lipstick", body="Which shade?")
    likers = [f"fan{n}" for n in range(16)]
    await concurrently(api.post("{ viewer { id } }", as_=sub) for sub in [*likers, MODERATOR])
    slugs = {pk_of(board["id"]): board["slug"]}
    await assert_all_match(api, slugs, settings.zone)  # built, so what follows updates it
    rng = random.Random(16)
    for round_ in range(3):
        requests = [
            api.post(
                LIKE if rng.random() < 0.7 else UNLIKE, {"id": rng.choice(topics_)["id"]}, as_=sub
            )
            for sub in likers
        ]
        action = "HIDE" if round_ % 2 == 0 else "RESTORE"
        requests.append(api.post(MODERATE, {"id": topics_[0]["id"], "action": action}, **MOD))
        await concurrently(requests)
        await assert_all_match(api, slugs, settings.zone, viewers=["alice"])
