"""Redis follows only what PostgreSQL committed: `after_commit` inside `atomic()`."""

from __future__ import annotations

import pytest

from mallforum import missed_writes
from mallforum.transactions import after_commit, atomic
from models import Board, BoardKind


class Refused(Exception):
    pass


@pytest.fixture
def redis(app):
    return app.state.services["redis"]


def marking(redis, name: str):
    """A Redis write mirroring a database write: sets `name` under the run's prefix."""

    async def write() -> None:
        await redis.client.set(f"{redis.keys.prefix}:test:{name}", 1)

    return write


async def marked(redis) -> set[str]:
    found = await redis.client.keys(f"{redis.keys.prefix}:test:*")
    return {key.decode().rsplit(":", 1)[1] for key in found}


async def new_board(slug: str) -> None:
    await Board.create(slug=slug, name=slug, kind=BoardKind.INTEREST)


async def test_redis_is_written_once_the_transaction_commits(redis):
    async with atomic():
        await new_board("beauty")
        await after_commit(marking(redis, "beauty"))
        assert await marked(redis) == set()
    assert await marked(redis) == {"beauty"}
    assert await Board.exists(slug="beauty")


async def test_a_rolled_back_transaction_writes_nothing_to_redis(redis):
    with pytest.raises(Refused):
        async with atomic():
            await new_board("beauty")
            await after_commit(marking(redis, "beauty"))
            raise Refused
    assert await marked(redis) == set()
    assert not await Board.exists(slug="beauty")


async def test_a_savepoint_rolled_back_drops_only_its_own_writes(redis):
    async with atomic():
        await new_board("beauty")
        await after_commit(marking(redis, "beauty"))
        with pytest.raises(Refused):
            async with atomic():
                await new_board("digital")
                await after_commit(marking(redis, "digital"))
                raise Refused
        async with atomic():
            await new_board("home")
            await after_commit(marking(redis, "home"))
        assert await marked(redis) == set()
    assert await marked(redis) == {"beauty", "home"}
    assert set(await Board.all().values_list("slug", flat=True)) == {"beauty", "home"}


async def test_outside_a_transaction_the_write_happens_at_once(redis):
    await after_commit(marking(redis, "now"))
    assert await marked(redis) == {"now"}


async def test_a_redis_write_that_fails_is_noted_for_the_reconcile(redis, redis_down):
    async with redis_down(), atomic():
        await new_board("beauty")
        await after_commit(marking(redis, "beauty"))
    assert await Board.exists(slug="beauty")  # the write stands
    assert missed_writes.pending()
