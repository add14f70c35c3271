"""The ASGI application: GraphQL over HTTP and WebSocket, the console, health and readiness."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from mallforum import database, outbox
from mallforum.auth import AuthMiddleware, Principal
from mallforum.events import EventHub
from mallforum.redis_store import RedisStore
from mallforum.settings import Settings, get_settings
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


class GraphQLView(GraphQL):
    """Strawberry's ASGI view with the request context this service resolves against."""

    def __init__(self, settings: Settings, state: dict, **kwargs) -> None:
        super().__init__(build_schema(mask_errors=settings.env != "development"), **kwargs)
        self.settings = settings
        self.state = state

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
        request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        if isinstance(request, Request):
            cacheable = request.method == "GET" and principal is None
            response.headers["Cache-Control"] = PUBLIC_CACHE if cacheable else NO_STORE
            response.headers["X-Request-ID"] = request_id
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
            request_id=request_id,
            events=self.state["events"],
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def create_response(self, response_data, sub_response):
        # An answer with errors is never cached: the next reader should try again.
        if isinstance(response_data, dict) and response_data.get("errors"):
            sub_response.headers["Cache-Control"] = NO_STORE
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["Content-Type"] = GRAPHQL_RESPONSE
        return response


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    settings.check()
    state: dict = {}

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

    view = GraphQLView(settings, state)
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[Middleware(AuthMiddleware, settings=settings)],
        lifespan=lifespan,
    )
    app.state.services = state  # Redis, the word rules and the pipeline, once started
    return app
