"""Configuration from `MALLFORUM_*` environment variables (see the README's table)."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

from mallforum import clock
from mallforum.growth_rules import (
    DEFAULT_EARNINGS,
    DEFAULT_LEVELS,
    EARNED_REASONS,
    CheckInRule,
    Earning,
    Levels,
)
from models import PointReason

log = logging.getLogger(__name__)

DEVELOPMENT_JWT_SECRET = "mallforum-development-secret-do-not-use-in-production"
DEVELOPMENT_WEBHOOK_SECRET = "mallforum-development-webhook-secret"
EMBEDDED_DATA_DIR = Path(".mallforum")


class HookSpec(BaseModel):
    """One moderation hook as configured: a shipped hook's name or the mall's own as a
    dotted path (`package.module:factory`), its options, time limit and fail policy."""

    hook: str
    options: dict[str, Any] = {}
    timeout_ms: int | None = Field(default=500, gt=0)
    on_failure: Literal["allow", "review"] = "allow"


#: Flooding first, so a flood is refused before any other work.
DEFAULT_HOOKS = [
    HookSpec(hook=name) for name in ("flooding", "sensitive_words", "contact_info", "duplicates")
]


class Settings(BaseSettings):
    """Every setting the service reads; names match `../shared/api/README.md`."""

    model_config = SettingsConfigDict(env_prefix="MALLFORUM_", extra="ignore")

    env: str = "development"
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = Field(
        default="mf", description="Prefix of every Redis key this service writes."
    )
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    outbox_poll_seconds: float = 1.0
    timezone: str = "Asia/Shanghai"
    data_dir: Path = EMBEDDED_DATA_DIR
    db_pool_size: int = 10
    levels: Levels = Levels(levels=DEFAULT_LEVELS)
    earnings: dict[PointReason, Earning] = {}
    check_in: CheckInRule = CheckInRule()
    mall_domains: list[str] = []
    badges_file: Path | None = None
    #: A reported item is hidden once its open case's report weights reach this sum.
    report_hide_threshold: float = Field(default=3.0, gt=0)
    #: A report weighs `base + per_level × reporter's level`, then × `rejected_factor` for
    #: each earlier report of the reporter that moderators found wrong, never below `floor`.
    report_weight_base: float = Field(default=1.0, gt=0)
    report_weight_per_level: float = Field(default=0.5, ge=0)
    report_rejected_factor: float = Field(default=0.5, gt=0, le=1)
    report_weight_floor: float = Field(default=0.1, gt=0)
    #: How often a process that missed Redis writes (Redis was down) checks whether Redis
    #: answers again, to rebuild it from PostgreSQL; 0 never checks.
    reconcile_check_seconds: float = Field(default=2.0, ge=0)
    #: How often each process adds the topic views counted in Redis to the topics' rows (one
    #: UPDATE per 500 topics); 0 never does (the tests flush when they mean to).
    view_flush_seconds: float = Field(default=5.0, ge=0)
    #: The moderation pipeline, in order (`MALLFORUM_MODERATION_HOOKS`, a JSON list).
    moderation_hooks: list[HookSpec] = DEFAULT_HOOKS
    #: Origins of the mall's web apps that may call the API from a browser (CORS) and open
    #: its WebSocket (`MALLFORUM_CORS_ORIGINS`, a JSON list such as `["https://m.mall.cn"]`).
    cors_origins: list[str] = []
    #: Whether those origins may send credentials (cookies); tokens travel in a header.
    cors_credentials: bool = False
    #: Trusted documents: a manifest (JSON) or a directory of `.graphql` files. When set, only
    #: those documents run, by hash or by text; moderators', admins' and service tokens may
    #: send any document (the console).
    trusted_documents: Path | None = None
    #: Automatic persisted queries kept in Redis: the least recently used beyond this many are
    #: dropped (0 turns APQ off); texts longer than `apq_max_bytes` are not kept.
    apq_max_entries: int = Field(default=2000, ge=0)
    apq_max_bytes: int = Field(default=16384, gt=0)
    #: Answers at least this large are compressed (zstd, brotli or gzip, as the client accepts).
    compress_min_bytes: int = Field(default=1024, ge=0)

    @field_validator("levels", mode="before")
    @classmethod
    def _level_list(cls, value: object) -> object:
        return {"levels": value} if isinstance(value, list) else value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        """Written as browsers send `Origin` (lower case, no default port); "*" allows any."""
        return sorted(normalize_allowed_origins(value))

    @field_validator("earnings")
    @classmethod
    def _earned_reasons(cls, value: dict[PointReason, Earning]) -> dict[PointReason, Earning]:
        unknown = set(value) - EARNED_REASONS
        if unknown:
            raise ValueError(f"no configurable earning for {sorted(unknown)}")
        return value

    def earning(self, reason: PointReason) -> Earning:
        """What an action earns: the configured amounts, else the defaults."""
        return self.earnings.get(reason) or DEFAULT_EARNINGS[reason]

    def report_weight(self, level: int, wrong_reports: int) -> float:
        """How much a report by a member of `level` weighs, who made `wrong_reports` before."""
        weight = self.report_weight_base + self.report_weight_per_level * level
        weight *= self.report_rejected_factor**wrong_reports
        return max(weight, self.report_weight_floor)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'mallforum.sqlite3').resolve()}"

    @property
    def effective_jwt_secret(self) -> str:
        return self.jwt_secret or DEVELOPMENT_JWT_SECRET

    @property
    def effective_webhook_secret(self) -> str:
        return self.webhook_secret or DEVELOPMENT_WEBHOOK_SECRET

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def check(self) -> None:
        """Refuse what production must not run with; warn about development defaults."""
        if self.is_production:
            missing = []
            if not self.jwt_secret and not self.jwt_public_key:
                missing.append("MALLFORUM_JWT_SECRET (or MALLFORUM_JWT_PUBLIC_KEY)")
            if self.jwt_secret == DEVELOPMENT_JWT_SECRET:
                missing.append("a MALLFORUM_JWT_SECRET other than the development one")
            if self.uses_embedded_database:
                missing.append("MALLFORUM_DATABASE_URL")
            if self.uses_embedded_redis:
                missing.append("MALLFORUM_REDIS_URL")
            if os.environ.get(clock.OFFSET_VARIABLE):
                missing.append(f"no {clock.OFFSET_VARIABLE} (it moves the clock, for tests)")
            if self.webhook_url and not self.webhook_secret:
                missing.append("MALLFORUM_WEBHOOK_SECRET (to sign MALLFORUM_WEBHOOK_URL's events)")
            if "*" in self.cors_origins:
                missing.append("MALLFORUM_CORS_ORIGINS naming the mall's origins, not '*'")
            if missing:
                raise RuntimeError("MALLFORUM_ENV=production needs " + ", ".join(missing))
        if self.cors_credentials and "*" in self.cors_origins:
            raise RuntimeError("MALLFORUM_CORS_CREDENTIALS needs origins named, not '*'")
        if not self.is_production and not self.jwt_secret and not self.jwt_public_key:
            log.warning("MALLFORUM_JWT_SECRET is not set: using the development secret")


@lru_cache
def get_settings() -> Settings:
    return Settings()
