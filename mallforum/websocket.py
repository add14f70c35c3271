"""`WS /graphql`: subscriptions over graphql-transport-ws, as browsers and the mall's apps
speak it.

Browsers cannot set headers on a WebSocket, so a connection signs in with the token in its
`connection_init` payload (`{"authorization": "Bearer <token>"}`, or `Authorization`, as
graphql-ws, Apollo, GraphiQL and Python gql send their connection params), else with the
upgrade request's `Authorization` header. Close codes are the protocol's:

- 4401 Unauthorized: a token (in the payload or the header) that is malformed, badly signed
  or expired; or a `subscribe` before `connection_ack`.
- 4403 Forbidden: a page on an origin not in `MALLFORUM_CORS_ORIGINS` (accepted, then closed
  before reading anything, so the page sees why).
- 4400 Bad request: a message that is not the protocol's.

The legacy subscriptions-transport-ws protocol (`graphql-ws`) is not offered: it has no
place for these codes, and every client named above speaks graphql-transport-ws.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from mallforum import metrics
from mallforum.persisted import PersistedQueryError

UNAUTHORIZED = 4401
FORBIDDEN = 4403


class Unauthorized(Exception):
    """The connection's token is not valid: closed with 4401."""


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, None]):
    """Strawberry's graphql-transport-ws handler, signing the connection in on
    `connection_init` and resolving persisted documents on `subscribe`. Its context is the
    request context of resolvers/context.py, which the app (above this shell) builds."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)  # calls view.on_ws_connect
        except Unauthorized as refusal:
            await self.websocket.close(UNAUTHORIZED, f"Unauthorized: {refusal}"[:120])

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: Any = message.get("payload")
        if self.connection_acknowledged and isinstance(payload, dict):
            try:
                payload["query"] = await self.view.subscription_text(  # type: ignore[attr-defined]
                    self.context, payload.get("query"), payload.get("extensions")
                )
            except PersistedQueryError as refused:
                error = GraphQLError(refused.message, extensions={"code": refused.code})
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Any, None]) -> None:
        metrics.SUBSCRIPTIONS_STARTED.labels(
            metrics.operation_label(operation.operation_name)
        ).inc()
        metrics.SUBSCRIPTIONS.inc()
        try:
            await super().run_operation(operation)
        finally:
            metrics.SUBSCRIPTIONS.dec()
