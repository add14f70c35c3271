"""`mallforum`: serve, migrate, seed-demo, rebuild-redis, token, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path

from mallforum import database
from mallforum.auth import ROLES, mint_token
from mallforum.settings import get_settings


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = get_settings()
    settings.check()
    if settings.uses_embedded_database:
        asyncio.run(database.migrate(settings))
        if args.workers > 1:
            sys.exit("The embedded database serves one process; set MALLFORUM_DATABASE_URL.")
    if args.workers > 1:
        _share_metrics()
    if args.demo:
        _seed(args)
    host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    print(f"mallforum: the GraphQL console is at http://{host}:{args.port}/graphql", flush=True)
    if settings.uses_embedded_database:
        print(f"  embedded database: {settings.effective_database_url}", flush=True)
    if settings.uses_embedded_redis:
        print("  embedded Redis stand-in: in-process, nothing kept", flush=True)
    print(
        "  to sign in, mint a token with `.venv/bin/mallforum token --sub alice` and put "
        '{"Authorization": "Bearer <token>"} in the console\'s headers',
        flush=True,
    )
    uvicorn.run(
        "mallforum.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )


#: Where prometheus_client's multiprocess mode keeps each worker's values (mallforum.metrics).
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


def _share_metrics() -> None:
    """Several workers: prometheus_client's multiprocess mode, so that /metrics adds up every
    worker's. Its files go to PROMETHEUS_MULTIPROC_DIR (emptied of an earlier run's), or to
    a fresh temporary directory. Set before prometheus_client is first imported."""
    directory = os.environ.get(MULTIPROCESS_DIRECTORY)
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
    else:
        os.environ[MULTIPROCESS_DIRECTORY] = tempfile.mkdtemp(prefix="mallforum-metrics-")


def _migrate(args: argparse.Namespace) -> None:
    asyncio.run(database.migrate(get_settings()))
    print("mallforum: migrations applied")


def _seed(args: argparse.Namespace) -> None:
    from mallforum.demo import seed_demo
    from mallforum.redis_store import RedisStore

    async def run() -> bool:
        settings = get_settings()
        await database.migrate(settings)
        await database.open_database(settings)
        redis = RedisStore.from_settings(settings)
        try:
            return await seed_demo(settings, redis)
        finally:
            await redis.close()
            await database.close_database()

    seeded = asyncio.run(run())
    print("mallforum: demo community seeded" if seeded else "mallforum: already has boards")


def _rebuild_redis(args: argparse.Namespace) -> None:
    from mallforum.redis_store import RedisStore
    from mirrors.reconcile import rebuild_all

    settings = get_settings()
    if settings.uses_embedded_redis:
        sys.exit("The embedded Redis stand-in lives inside the server; set MALLFORUM_REDIS_URL.")

    async def run() -> int:
        await database.open_database(settings)
        redis = RedisStore.from_settings(settings)
        try:
            return await rebuild_all(settings, redis)
        finally:
            await redis.close()
            await database.close_database()

    written = asyncio.run(run())
    print(f"mallforum: Redis rebuilt from PostgreSQL ({written} keys)")


def _token(args: argparse.Namespace) -> None:
    roles = [r for r in args.role]
    print(mint_token(get_settings(), args.sub, roles, args.nickname, ttl_seconds=args.ttl))


def _export_schema(args: argparse.Namespace) -> None:
    from schema.schema import SDL_PATH, export_sdl

    target = args.output or str(SDL_PATH)
    with open(target, "w", encoding="utf-8") as out:
        out.write(export_sdl())
    print(f"mallforum: schema written to {target}")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="mallforum", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes to serve with")
    serve.add_argument("--demo", action="store_true", help="seed a demo community first")
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="apply the migrations").set_defaults(run=_migrate)
    commands.add_parser(
        "seed-demo", help="fill an empty database with a demo community"
    ).set_defaults(run=_seed)

    commands.add_parser(
        "rebuild-redis", help="rebuild the leaderboards and rankings in Redis from PostgreSQL"
    ).set_defaults(run=_rebuild_redis)

    token = commands.add_parser("token", help="mint a development token")
    token.add_argument("--sub", required=True, help="the mall's user id")
    token.add_argument("--role", action="append", default=[], choices=sorted(ROLES))
    token.add_argument("--nickname")
    token.add_argument("--ttl", type=int, default=24 * 3600, help="seconds until it expires")
    token.set_defaults(run=_token)

    export = commands.add_parser("export-schema", help="write the SDL (schema/schema.graphql)")
    export.add_argument("--output")
    export.set_defaults(run=_export_schema)

    args = parser.parse_args(argv)
    args.run(args)
