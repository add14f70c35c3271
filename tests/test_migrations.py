"""The models and the migrations agree: the schema is only ever created by migrations."""

from __future__ import annotations

import subprocess
import sys

PENDING_CHANGES = """
import asyncio
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from mallforum.database import tortoise_config
from mallforum.settings import Settings

async def main():
    config = tortoise_config(Settings(database_url="sqlite://:memory:"))
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
        print([operation for writer in writers for operation in writer.operations])

asyncio.run(main())
"""


def test_the_migrations_hold_every_model_change():
    result = subprocess.run(
        [sys.executable, "-c", PENDING_CHANGES], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", (
        "models changed without a migration: run `tortoise makemigrations` "
        f"(see the README)\n{result.stdout}"
    )
