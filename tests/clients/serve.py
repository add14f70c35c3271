"""Runs a command against a live mallforum server of its own, for the independent clients.

`python -m tests.clients.serve COMMAND...` creates a scratch PostgreSQL database and Redis
prefix (as the test harness does), serves the app on a free loopback port, and runs
COMMAND with `MALLFORUM_URL` (the server's base URL) and `MALLFORUM_TOKENS` (a JSON object
of development tokens: `admin`, `moderator`, `alice`, `bob`) in its environment. It exits
with the command's status and drops the database and keys afterwards.
"""

from __future__ import annotations

import asyncio
import os
import sys

import orjson
from asgi_lifespan import LifespanManager

from mallforum.app import create_app
from mallforum.auth import mint_token
from tests.servers import serving
from tests.stores import scratch_settings

SECRET = "mallforum-client-checks-secret-0123456789"

#: Who the clients may act as: sub → roles.
CALLERS = {"admin": ["admin"], "moderator": ["moderator"], "alice": [], "bob": []}


async def run(command: list[str]) -> int:
    async with scratch_settings("clients", jwt_secret=SECRET) as settings:
        app = create_app(settings)
        async with LifespanManager(app), serving(app) as url:
            tokens = {
                sub: mint_token(settings, sub, roles, nickname=sub)
                for sub, roles in CALLERS.items()
            }
            env = {**os.environ, "MALLFORUM_URL": url}
            env["MALLFORUM_TOKENS"] = orjson.dumps(tokens).decode()
            process = await asyncio.create_subprocess_exec(*command, env=env)
            return await process.wait()


def main() -> None:
    command = sys.argv[1:]
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        sys.exit("usage: python -m tests.clients.serve COMMAND...")
    sys.exit(asyncio.run(run(command)))


if __name__ == "__main__":
    main()
