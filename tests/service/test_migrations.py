"""The models and the migrations agree: the schema is only ever created by migrations."""

from __future__ import annotations

import subprocess
import sys

from tortoise import Tortoise

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


async def test_every_check_constraint_a_model_declares_is_in_the_database():
    """CreateModel records CHECK constraints without creating them; a migration must."""
    declared = {
        constraint.name
        for model in Tortoise.apps["mallforum"].values()
        for constraint in getattr(model.Meta, "constraints", [])
    }
    _, rows = await Tortoise.get_connection("default").execute_query(
        "SELECT conname FROM pg_constraint WHERE contype = 'c'"
    )
    assert declared and declared <= {row["conname"] for row in rows}
