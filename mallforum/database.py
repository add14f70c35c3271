"""The Tortoise ORM configuration, start-up, shut-down and migrations."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from mallforum.settings import Settings

APP_LABEL = "mallforum"


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """One app whose models live in `models/` and whose migrations live in `migrations/`."""
    url = settings.effective_database_url
    if url.startswith(("postgres://", "postgresql://")):
        connection: dict[str, Any] | str = {
            "engine": "tortoise.backends.asyncpg",
            "credentials": _postgres_credentials(url, settings.db_pool_size),
        }
    else:
        connection = url
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": ["models"],
                "migrations": "migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _postgres_credentials(url: str, pool_size: int) -> dict[str, Any]:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password or ""),
        "database": parsed.path.lstrip("/") or "postgres",
        "minsize": 1,
        "maxsize": pool_size,
    }


def __getattr__(name: str) -> Any:
    """`TORTOISE_ORM`, for Tortoise's own CLI (`tortoise makemigrations`, `tortoise history`)."""
    if name == "TORTOISE_ORM":
        from mallforum.settings import get_settings

        return tortoise_config(get_settings())
    raise AttributeError(name)


def _prepare(settings: Settings) -> None:
    if settings.uses_embedded_database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)


async def migrate(settings: Settings) -> None:
    """Apply every migration in `migrations/` to the configured database."""
    _prepare(settings)
    await run_migrations(config=tortoise_config(settings))
    await Tortoise.close_connections()


async def open_database(settings: Settings) -> None:
    _prepare(settings)
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


def on_postgres() -> bool:
    """Whether the open database is PostgreSQL (not the embedded SQLite file)."""
    return bool(Tortoise.get_connection("default").capabilities.dialect == "postgres")


async def database_answers() -> bool:
    """True when a trivial statement succeeds (for /readyz)."""
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True


def pool_sizes() -> tuple[int, int, int] | None:
    """The PostgreSQL pool's connections (in use, idle, its maximum); None without a pool
    (the embedded database, or before start-up)."""
    try:
        pool = getattr(Tortoise.get_connection("default"), "_pool", None)
    except Exception:
        return None
    if pool is None:
        return None
    size, idle = pool.get_size(), pool.get_idle_size()
    return size - idle, idle, pool.get_max_size()
