"""The reconcile after an outage: one rebuild covers every process whose Redis writes
failed before it began; a miss after it needs another."""

from __future__ import annotations

import time

import pytest

from mallforum import missed_writes
from mirrors import reconcile
from tests.forum import create_board, create_topic


@pytest.fixture
def redis(app):
    return app.state.services["redis"]


async def leaderboard_keys(redis) -> list[bytes]:
    return [key async for key in redis.client.scan_iter(match=f"{redis.keys.prefix}:lb:*")]


async def test_a_miss_is_reconciled_by_rebuilding_once_redis_answers(api, settings, redis):
    board = await create_board(api)
    await create_topic(api, board["id"])
    missed_writes.note()

    assert await reconcile.reconcile(settings, redis)

    assert not missed_writes.pending()
    assert await leaderboard_keys(redis), "the rebuild wrote the leaderboards"
    assert float(await redis.client.get(redis.keys.reconciled_at())) <= time.time()
    assert not await redis.client.exists(redis.keys.reconcile_lock())


async def test_a_rebuild_begun_after_the_miss_covers_it_without_another(settings, redis):
    missed_writes.note()
    await redis.client.set(redis.keys.reconciled_at(), repr(time.time() + 1))  # another process

    assert await reconcile.reconcile(settings, redis)

    assert not missed_writes.pending()
    assert await leaderboard_keys(redis) == [], "nothing was rebuilt again"


async def test_a_rebuild_begun_before_the_miss_does_not_cover_it(settings, redis):
    await redis.client.set(redis.keys.reconciled_at(), repr(time.time() - 60))
    missed_writes.note()

    assert await reconcile.reconcile(settings, redis)

    assert float(await redis.client.get(redis.keys.reconciled_at())) > time.time() - 60
    assert await leaderboard_keys(redis), "rebuilt: even empty leaderboards are marked built"


async def test_while_another_process_rebuilds_the_miss_waits_for_it(settings, redis):
    missed_writes.note()
    await redis.client.set(redis.keys.reconcile_lock(), "another process")

    assert not await reconcile.reconcile(settings, redis)
    assert missed_writes.pending()


async def test_nothing_is_reconciled_while_redis_is_still_down(settings, redis, redis_down):
    missed_writes.note()
    async with redis_down():
        assert not await reconcile.reconcile(settings, redis)
    assert missed_writes.pending()
