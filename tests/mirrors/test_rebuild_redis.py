"""`mallforum rebuild-redis`: Redis forgets everything, the command puts back every
leaderboard, HOT ranking and day of active members from PostgreSQL. (Copies of like and
comment counts are read through: a missing copy is read from its row when asked for.)"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import Any

from mallforum import clock
from tests.forum import LIKE, create_board, create_comment, create_topic
from tests.growth.steps import check_in
from tests.stores import delete_keys

#: The keys that hold data rebuilt from the rows (not locks, drafts or markers).
REBUILT = re.compile(r":(lb:\{[^}]*\}|hot:\{b\d+\}|active:\{active\}:[\d-]+)$")

LEADERBOARDS = """{
  posts: leaderboard(kind: POSTS, period: DAILY) { rank score member { id } }
  likes: leaderboard(kind: LIKES_RECEIVED, period: ALL_TIME, boardSlug: "beauty") {
    rank score member { id }
  }
  experience: leaderboard { rank score member { id } }
  board(slug: "beauty") { topics(sort: HOT) { edges { node { id } } } }
}"""


async def snapshot(redis) -> dict[str, Any]:
    """Every rebuilt key of this run and what it holds: for a leaderboard, who is on it."""
    client, held = redis.client, {}
    async for raw in client.scan_iter(match=f"{redis.keys.prefix}:*", count=1000):
        key = raw.decode()
        if not REBUILT.search(key):
            continue
        kind = (await client.type(key)).decode()
        if kind == "zset":
            scores = {m.decode(): s for m, s in await client.zrange(key, 0, -1, withscores=True)}
            if ":lb:" in key:  # scores and ranks are compared as the API shows them
                held[key] = {m for m in scores if not m.startswith("~")}
            else:
                held[key] = scores
        else:
            held[key] = await client.pfcount(key)
    return held


async def rebuild_redis(settings) -> str:
    environment = {
        **os.environ,
        "MALLFORUM_DATABASE_URL": settings.database_url,
        "MALLFORUM_REDIS_URL": settings.redis_url,
        "MALLFORUM_REDIS_PREFIX": settings.redis_prefix,
        "MALLFORUM_TIMEZONE": settings.timezone,
        "MALLFORUM_JWT_SECRET": settings.jwt_secret,
        **clock.environment(),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mallforum",
        "rebuild-redis",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_rebuild_redis_puts_back_what_redis_forgot(api, app, settings, no_rate_limits):
    board = await create_board(api, "beauty")
    topics = [await create_topic(api, board["id"], author) for author in ("alice", "bob")]
    comment = await create_comment(api, topics[0]["id"], "carol")
    for liker in ("bob", "carol", "dave"):
        await api(LIKE, {"id": topics[0]["id"]}, as_=liker)
    await api(LIKE, {"id": comment["id"]}, as_="alice")
    await check_in(api, "alice")
    answers = await api(LEADERBOARDS)  # the reads build what is missing
    redis = app.state.services["redis"]
    before = await snapshot(redis)
    assert any(":lb:" in key for key in before) and any(":hot:" in key for key in before)

    await delete_keys(settings)  # Redis forgets: everything under this run's prefix
    assert await snapshot(redis) == {}
    output = await rebuild_redis(settings)

    assert re.search(r"Redis rebuilt from PostgreSQL \(\d+ keys\)", output), output
    after = await snapshot(redis)
    assert {key: after.get(key) for key in before} == before
    assert await api(LEADERBOARDS) == answers
