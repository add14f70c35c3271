"""The ASGI application: GraphQL over HTTP and WebSocket, the console, health, readiness and
metrics, behind the conventions every answer follows (mallforum.middleware): request ids,
CORS for the mall's origins, compression, and conditional GETs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from starlette_compress import CompressMiddleware, add_compress_type
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.types import HTTPMethod
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from mallforum import console, database, metrics, outbox
from mallforum.auth import AuthMiddleware, InvalidToken, Principal, bearer_principal
from mallforum.events import EventHub
from mallforum.middleware import ConditionalGet, RequestIds, request_id
from mallforum.persisted import PersistedQueries, PersistedQueryError, load_trusted_documents
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings, get_settings
from mallforum.websocket import FORBIDDEN, TransportWSHandler, Unauthorized
from mirrors import reconcile, views
from moderation.hooks import HookServices, build_pipeline
from moderation.rule_store import WordRuleStore
from resolvers import badges
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.members import provision_member
from schema.schema import build_schema

log = logging.getLogger(__name__)

PUBLIC_CACHE = "public, max-age=30"
NO_STORE = "private, no-store"
GRAPHQL_RESPONSE = "application/graphql-response+json"
#: What a GraphQL answer depends on besides its URL and body (compression adds its own).
VARY = "Accept, Authorization"
#: Headers the mall's web apps may send cross-origin, besides the CORS-safelisted ones.
CORS_HEADERS = (
    "Authorization",
    "X-Request-ID",
    "apollographql-client-name",
    "apollographql-client-version",
)

add_compress_type(GRAPHQL_RESPONSE)


class Refused(Exception):
    """An HTTP request refused before executing, answered `status` with a GraphQL error."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def failed_before_execution(result: ExecutionResult) -> bool:
    """Parsing, validation or the variables failed: the spec's "request error", whose answer
    has no `data` entry (and, as application/graphql-response+json, a 4xx status)."""
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class GraphQLView(GraphQL):
    """Strawberry's ASGI view with the request context this service resolves against."""

    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, settings: Settings, state: dict) -> None:
        super().__init__(
            build_schema(mask_errors=settings.env != "development"),
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.cors_origins,
        )
        self.settings = settings
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            response = self._refusal(request, Refused(error.status_code, error.reason))
        except Refused as refused:
            response = self._refusal(request, refused)
        await response(scope, receive, send)

    def _refusal(self, request: Request, refused: Refused) -> Response:
        accept = request.headers.get("accept", "")
        return Response(
            orjson.dumps({"errors": [{"message": refused.message}]}),
            status_code=refused.status,
            media_type=GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json",
            headers={"Cache-Control": NO_STORE, "Vary": VARY, **refused.headers},
        )

    async def get_context(  # type: ignore[override]
        self, request: Request | WebSocket, response: Response
    ) -> Context:
        principal: Principal | None = request.scope.get("state", {}).get("principal")
        redis = self.state["redis"]
        viewer = (
            await provision_member(self.settings, redis, principal, self.state["moderation"])
            if principal
            else None
        )
        if isinstance(request, Request):
            cacheable = request.method == "GET" and principal is None
            response.headers["Cache-Control"] = PUBLIC_CACHE if cacheable else NO_STORE
            response.headers["Vary"] = VARY
            accept = request.headers.get("accept", "")
            response.media_type = (
                GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"
            )
        return Context(
            settings=self.settings,
            redis=redis,
            principal=principal,
            viewer=viewer,
            loaders=Loaders(viewer.pk if viewer else None, redis),
            moderation=self.state["moderation"],
            word_rules=self.state["word_rules"],
            request=request,
            response=response,
            request_id=request_id(request.scope),
            events=self.state["events"],
        )

    async def on_ws_connect(self, context: Context) -> UnsetType:  # type: ignore[override]
        """Sign the connection in with the token of `connection_init` (else the upgrade
        header's); a bad token anywhere is Unauthorized (4401)."""
        assert context.request is not None
        header_error = context.request.scope.get("state", {}).get("auth_error")
        if header_error:
            raise Unauthorized(header_error)
        params = context.connection_params or {}
        token = params.get("authorization", params.get("Authorization"))
        if token is not None:
            try:
                principal = bearer_principal(self.settings, token, scheme_optional=True)
            except InvalidToken as error:
                raise Unauthorized(str(error)) from None
            redis, pipeline = self.state["redis"], self.state["moderation"]
            viewer = await provision_member(self.settings, redis, principal, pipeline)
            context.principal, context.viewer = principal, viewer
            context.loaders = Loaders(viewer.pk if viewer else None, redis)
        return UNSET

    async def reject_websocket(self, request: WebSocket) -> WebSocket:
        """A page on another origin: accepted, then closed with 4403, so it can tell why."""
        await request.accept(subprotocol=await self.pick_websocket_subprotocol(request))
        await request.close(FORBIDDEN, "Forbidden: this origin may not open the WebSocket")
        return request

    async def subscription_text(
        self, context: Context, query: str | None, extensions: dict[str, Any] | None
    ) -> str | None:
        """The text a `subscribe` message runs (persisted queries and trusted documents)."""
        text, _ = await self.state["persisted"].text_to_run(
            self.state["redis"], query, extensions, _staff(context.principal)
        )
        return text

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming a persisted query has no `query` either, and is no browser's page.
        return super().should_render_graphql_ide(request) and not request.query_params.get(
            "extensions"
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return console.page()

    async def execute_single(  # type: ignore[override]
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        started = time.perf_counter()
        name = request_data.operation_name or metrics.operation_name_in(request_data.query)
        operation = metrics.operation_label(name)
        outcome = "invalid"
        try:
            result = await self._execute(request_adapter.method, context, root_value, request_data)
            if not failed_before_execution(result):
                outcome = "error" if result.errors else "ok"
            return result
        finally:
            metrics.GRAPHQL_REQUESTS.labels(operation, outcome).inc()
            metrics.GRAPHQL_DURATION.labels(operation).observe(time.perf_counter() - started)

    async def _execute(
        self,
        method: HTTPMethod,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        redis, persisted = self.state["redis"], self.state["persisted"]
        try:
            text, to_register = await persisted.text_to_run(
                redis, request_data.query, request_data.extensions, _staff(context.principal)
            )
        except PersistedQueryError as refused:
            assert context.response is not None
            context.response.status_code = refused.status
            error = GraphQLError(refused.message, extensions={"code": refused.code})
            return PreExecutionError(data=None, errors=[error])
        try:
            result = await self.schema.execute(
                text,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=OperationType.from_http(method),
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            # Mutations only over POST: 405 with Allow, as the GraphQL-over-HTTP spec says.
            status, headers = (405, {"Allow": "POST"}) if method == "GET" else (400, {})
            raise Refused(status, error.as_http_error_reason(method), headers) from None
        except CannotGetOperationTypeError as error:
            raise Refused(400, error.as_http_error_reason()) from None
        except MissingQueryError:
            raise Refused(400, "No GraphQL query found in the request") from None
        if to_register and text is not None and not failed_before_execution(result):
            await persisted.register(redis, to_register, text)
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        answer = process_result(result)
        if failed_before_execution(result):
            answer.pop("data", None)
        return answer

    def encode_json(self, data: object) -> str:
        # Text, so that WebSocket messages go out as text frames, as clients require.
        return orjson.dumps(data).decode()

    def create_response(self, response_data, sub_response):
        if isinstance(response_data, dict):
            # An answer with errors is never cached: the next reader should try again.
            if response_data.get("errors"):
                sub_response.headers["Cache-Control"] = NO_STORE
            # A request error (no data entry) is a 400 for clients that can tell.
            graphql_response = sub_response.media_type == GRAPHQL_RESPONSE
            if "data" not in response_data and graphql_response and not sub_response.status_code:
                sub_response.status_code = 400
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["Content-Type"] = GRAPHQL_RESPONSE
        return response


def _staff(principal: Principal | None) -> bool:
    """Who may send documents outside the trusted ones: moderators, admins, the mall."""
    return principal is not None and (principal.is_moderator or principal.is_service)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    settings.check()
    state: dict = {}
    trusted = None
    if settings.trusted_documents is not None:
        try:
            trusted = load_trusted_documents(settings.trusted_documents)
        except (OSError, ValueError) as error:
            raise RuntimeError(f"MALLFORUM_TRUSTED_DOCUMENTS: {error}") from error
    state["persisted"] = PersistedQueries(settings.apq_max_entries, settings.apq_max_bytes, trusted)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await database.open_database(settings)
        await badges.sync_catalogue(settings)
        state["redis"] = RedisStore.from_settings(settings)
        state["events"] = EventHub(state["redis"])
        word_rules = state["word_rules"] = WordRuleStore(state["redis"])
        await word_rules.refresh()
        services = HookServices(settings, state["redis"], word_matcher=word_rules.matcher)
        state["moderation"] = build_pipeline(services)
        tasks = [
            asyncio.create_task(word_rules.follow(), name="word-rules"),
            asyncio.create_task(reconcile.watch(settings, state["redis"]), name="reconcile"),
            asyncio.create_task(views.flushing_views(settings, state["redis"]), name="views"),
            asyncio.create_task(metrics.sampling_pool(database.pool_sizes), name="metrics"),
        ]
        try:
            async with outbox.running_worker(settings):
                yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await views.flush_views_logged(state["redis"])  # what this process counted last
            await state["events"].close()
            await state["redis"].close()
            await database.close_database()
            metrics.process_exited()

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        failing = []
        if not await database.database_answers():
            failing.append("database")
        if not await state["redis"].answers():
            failing.append("redis")
        if failing:
            return JSONResponse({"ready": False, "failing": failing}, status_code=503)
        return JSONResponse({"ready": True, "failing": []})

    async def prometheus(request: Request) -> Response:
        metrics.sample_pool(database.pool_sizes)
        try:
            metrics.sample_outbox(*await outbox.backlog())
        except Exception:  # the database is down: the other metrics still answer
            log.exception("metrics: the outbox backlog could not be read")
        body, content_type = metrics.render()
        return Response(body, media_type=content_type, headers={"Cache-Control": NO_STORE})

    async def internal_error(request: Request, error: Exception) -> Response:
        # Outside every middleware, so it names the request id itself.
        identifier = request_id(request.scope)
        log.error("request %s failed", identifier, exc_info=error)
        return JSONResponse(
            {"errors": [{"message": "Internal server error."}]},
            status_code=500,
            headers={"X-Request-ID": identifier, "Cache-Control": NO_STORE},
        )

    view = GraphQLView(settings, state)
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Mount("/console", app=console.files(), name="console"),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", prometheus),
        ],
        middleware=[
            Middleware(RequestIds),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=CORS_HEADERS,
                allow_credentials=settings.cors_credentials,
                expose_headers=["X-Request-ID"],
                max_age=600,
            ),
            Middleware(CompressMiddleware, minimum_size=settings.compress_min_bytes),
            Middleware(ConditionalGet),
            Middleware(AuthMiddleware, settings=settings),
        ],
        exception_handlers={500: internal_error},
        lifespan=lifespan,
    )
    app.state.services = state  # persisted queries; Redis, word rules, pipeline once started
    return app
