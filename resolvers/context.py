"""The request context every resolver receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from mallforum.auth import Principal
from mallforum.clock import now
from mallforum.errors import ErrorCode, UserFailure
from mallforum.events import EventHub
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings
from models import Member, MemberStatus
from moderation import Pipeline
from moderation.rule_store import WordRuleStore
from resolvers.loaders import Loaders


@dataclass
class Context:
    settings: Settings
    redis: RedisStore
    principal: Principal | None
    viewer: Member | None
    loaders: Loaders
    moderation: Pipeline
    word_rules: WordRuleStore
    request: Request | WebSocket | None = None
    response: Response | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: This process's subscriptions to live events; None where nothing subscribes (the seed).
    events: EventHub | None = None
    #: A WebSocket's `connection_init` payload (its token signs the connection in).
    connection_params: dict | None = None

    @property
    def is_moderator(self) -> bool:
        return self.principal is not None and self.principal.is_moderator

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.is_admin

    @property
    def is_service(self) -> bool:
        return self.principal is not None and self.principal.is_service

    @property
    def viewer_level(self) -> int:
        """The level whose content the viewer may see; moderators see everything."""
        if self.is_moderator:
            return 1_000_000
        return self.viewer.level if self.viewer else 0

    @property
    def anonymous_key(self) -> str:
        """Who an anonymous reader is, for once-a-day counting: the client's address."""
        client = self.request.client if self.request else None
        return f"anon:{client.host if client else 'unknown'}"

    def require_member(self) -> Member:
        """The signed-in member, or UNAUTHENTICATED."""
        if self.viewer is None:
            raise UserFailure.of(ErrorCode.UNAUTHENTICATED, "Sign in to do that.")
        return self.viewer

    def require_unbanned_member(self) -> Member:
        """A signed-in member who is not banned: muted members may still like and follow."""
        member = self.require_member()
        if member.status == MemberStatus.BANNED:
            raise UserFailure.of(ErrorCode.FORBIDDEN, "Your account is banned from the community.")
        return member

    def require_active_member(self) -> Member:
        """A signed-in member who may post: neither banned nor muted, or the reason why not."""
        member = self.require_unbanned_member()
        if member.status == MemberStatus.MUTED:
            until = member.muted_until
            if until is None or until > now():
                when = f" until {until.isoformat()}" if until else ""
                raise UserFailure.of(ErrorCode.FORBIDDEN, f"You are muted{when}.")
        return member

    def require_admin(self) -> None:
        if self.principal is None:
            raise UserFailure.of(ErrorCode.UNAUTHENTICATED, "Sign in to do that.")
        if not self.is_admin:
            raise UserFailure.of(ErrorCode.FORBIDDEN, "Only admins may do that.")

    def require_service(self) -> None:
        if self.principal is None:
            raise UserFailure.of(ErrorCode.UNAUTHENTICATED, "A service token is required.")
        if not self.is_service:
            raise UserFailure.of(ErrorCode.FORBIDDEN, "Only the mall's backend may do that.")
