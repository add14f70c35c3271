"""The mall's JWTs: who is calling, with which roles. This service keeps no passwords.

HS256 with `MALLFORUM_JWT_SECRET`, or RS256 with the PEM `MALLFORUM_JWT_PUBLIC_KEY` when
that is set. A request without a token is anonymous; a token that is malformed, badly
signed or expired is answered 401 before anything runs (on a WebSocket: closed with 4401).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from mallforum.settings import Settings

ROLES = frozenset({"moderator", "admin", "service"})


@dataclass(frozen=True)
class Principal:
    """The caller named by a valid token."""

    sub: str
    nickname: str | None
    avatar: str | None
    roles: frozenset[str]

    @property
    def is_service(self) -> bool:
        return "service" in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_moderator(self) -> bool:
        return self.is_admin or "moderator" in self.roles


class InvalidToken(Exception):
    pass


def decode_token(settings: Settings, token: str) -> Principal:
    if settings.jwt_public_key:
        key, algorithm = settings.jwt_public_key, "RS256"
    else:
        key, algorithm = settings.effective_jwt_secret, "HS256"
    try:
        claims = jwt.decode(
            token, key, algorithms=[algorithm], options={"require": ["sub"]}, leeway=30
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from error
    sub, roles = claims.get("sub"), claims.get("roles") or []
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 128:
        raise InvalidToken("sub must be a non-empty string of at most 128 characters")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidToken("roles must be a list of strings")
    nickname, avatar = claims.get("nickname"), claims.get("avatar")
    return Principal(
        sub=sub,
        nickname=nickname if isinstance(nickname, str) else None,
        avatar=avatar if isinstance(avatar, str) else None,
        roles=frozenset(roles) & ROLES,
    )


def mint_token(
    settings: Settings,
    sub: str,
    roles: list[str] | tuple[str, ...] = (),
    nickname: str | None = None,
    avatar: str | None = None,
    ttl_seconds: int = 24 * 3600,
) -> str:
    """A development token signed with the HS256 secret, as the mall would sign one."""
    claims: dict[str, object] = {
        "sub": sub,
        "roles": list(roles),
        "exp": int(time.time()) + ttl_seconds,
    }
    if nickname:
        claims["nickname"] = nickname
    if avatar:
        claims["avatar"] = avatar
    return jwt.encode(claims, settings.effective_jwt_secret, algorithm="HS256")


def bearer_principal(settings: Settings, value: object, scheme_optional: bool = False) -> Principal:
    """The caller named by `Bearer <token>` (or, where `scheme_optional`, a bare token)."""
    if not isinstance(value, str):
        raise InvalidToken("expected 'Bearer <token>'")
    scheme, _, token = value.strip().partition(" ")
    if scheme_optional and not token:
        scheme, token = "bearer", scheme
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("expected 'Authorization: Bearer <token>'")
    return decode_token(settings, token.strip())


class AuthMiddleware:
    """Reads `Authorization: Bearer` on /graphql into `scope["state"]["principal"]`.

    A bad token on HTTP is answered 401. On a WebSocket upgrade it is noted as
    `scope["state"]["auth_error"]`, and the connection is closed with 4401 once open
    (mallforum.websocket), as the subscription protocol says."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/graphql"):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1").strip()
        state = scope.setdefault("state", {})
        principal = None
        if header:
            try:
                principal = bearer_principal(self.settings, header)
            except InvalidToken as error:
                if scope["type"] == "websocket":
                    state["auth_error"] = str(error)
                else:
                    await _refuse(send, str(error))
                    return
        state["principal"] = principal
        await self.app(scope, receive, send)


async def _refuse(send: Send, reason: str) -> None:
    body = orjson.dumps(
        {
            "errors": [
                {"message": f"Invalid token: {reason}", "extensions": {"code": "UNAUTHENTICATED"}}
            ]
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", b'Bearer error="invalid_token"'),
                (b"cache-control", b"private, no-store"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
