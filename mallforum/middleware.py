"""The HTTP conventions every answer follows, as ASGI middleware around the routes.

- `RequestIds`: every answer, whatever refused it (a 401, a 405, a CORS refusal, /healthz),
  carries `X-Request-ID`: the client's own when it sent a sensible one, else a new one. It
  also merges repeated `Vary` names and counts answers and WebSocket connections.
- `ConditionalGet`: a `GET` answer that caches may keep (`Cache-Control: public`) gets a
  weak `ETag`, and `If-None-Match` with it is answered `304 Not Modified`, without a body.
  Weak, because compression (outside this) changes the bytes but not the meaning.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mallforum import metrics

REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,64}")
ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")
METHODS = frozenset({"GET", "POST", "OPTIONS", "HEAD"})
#: Headers a 304 repeats from the answer it stands for (RFC 9110, 15.4.5), and ours.
KEPT_BY_304 = ("cache-control", "etag", "vary", "x-request-id", "expires", "content-location")


def request_id(scope: Scope) -> str:
    """The request's id: set by `RequestIds` (a fresh one where it did not run)."""
    return scope.get("state", {}).get("request_id") or uuid.uuid4().hex


def _route(path: str) -> str:
    if path.startswith("/console/"):
        return "/console"
    return path if path in ROUTES else "other"


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get("x-request-id", "")
        identifier = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = identifier
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, identifier)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = identifier
                names = [n.strip() for v in headers.getlist("vary") for n in v.split(",")]
                if len(names) > 1:
                    unique = list({n.lower(): n for n in reversed(names) if n}.values())
                    headers["Vary"] = ", ".join(reversed(unique))
                method = scope["method"] if scope["method"] in METHODS else "other"
                route = _route(scope["path"])
                metrics.HTTP_RESPONSES.labels(route, method, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, stamped)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, identifier: str) -> None:
        accepted = False
        closed_with = "none"

        async def stamped(message: Message) -> None:
            nonlocal accepted, closed_with
            if message["type"] == "websocket.accept":
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", identifier.encode()))
                message = {**message, "headers": headers}
                accepted = True
                metrics.WEBSOCKET_CONNECTIONS.inc()
            elif message["type"] == "websocket.close":
                closed_with = str(message.get("code", 1000))
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            if accepted:
                metrics.WEBSOCKET_CONNECTIONS.dec()
                metrics.WEBSOCKET_CLOSES.labels(closed_with).inc()


def weak_etag(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of `If-None-Match` (a list, or *) with an entity tag."""
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


class ConditionalGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def conditional(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                cacheable = "public" in headers.get("cache-control", "")
                if message["status"] == 200 and cacheable and "etag" not in headers:
                    start = message  # held until the whole body is known
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await self._answer(scope, send, start, b"".join(chunks))
                return
            await send(message)

        await self.app(scope, receive, conditional)

    async def _answer(self, scope: Scope, send: Send, start: Message, body: bytes) -> None:
        etag = weak_etag(body)
        MutableHeaders(scope=start)["ETag"] = etag
        if _matches(Headers(scope=scope).get("if-none-match", ""), etag):
            kept = [(k, v) for k, v in start["headers"] if k.decode().lower() in KEPT_BY_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(start)
        await send({"type": "http.response.body", "body": body})
