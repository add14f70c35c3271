"""Independent clients against a real server socket: Python `gql` over HTTP and over its
WebSocket transport (graphql-transport-ws), and a raw WebSocket for what the protocol says
about frames, tokens, origins and close codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import jwt
import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.conftest import MALL_ORIGIN, TEST_SECRET
from tests.forum import CREATE_TOPIC, MODERATOR, create_board
from tests.servers import serving

TOPIC_ACTIVITY = """
subscription Follow($id: ID!) {
  topicActivity(topicId: $id) {
    kind topic { id commentCount } comment { body author { nickname } }
  }
}"""
COMMENT = """
mutation Comment($input: CreateCommentInput!) {
  createComment(input: $input) { comment { id body } errors { code message } }
}"""
VIEWER = "query Me { viewer { nickname role } }"


@pytest.fixture
async def server(app) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


def http_client(url: str, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(transport=HTTPXAsyncTransport(url=f"{url}/graphql", headers=headers))


def websocket_client(url: str, init_payload: dict | None = None, **options) -> Client:
    transport = WebsocketsTransport(
        url=url.replace("http", "ws") + "/graphql", init_payload=init_payload or {}, **options
    )
    return Client(transport=transport)


async def restricted_topic(api) -> dict:
    """A topic on a board only level-3 members and moderators see."""
    board = await create_board(api, "insiders", minLevelToView=3, minLevelToPost=3)
    topic_input = {"boardId": board["id"], "title": "Staff only", "body": "Pinned notes"}
    data = await api(CREATE_TOPIC, {"input": topic_input}, as_=MODERATOR, roles=("moderator",))
    assert data["createTopic"]["errors"] == []
    return data["createTopic"]["topic"]


async def test_gql_over_http_reads_and_writes_as_its_token_says(api, server):
    async with http_client(server, api.token("alice")) as session:
        me = await session.execute(GraphQLRequest(VIEWER))
    assert me == {"viewer": {"nickname": "alice", "role": "MEMBER"}}
    async with http_client(server) as anonymous:
        assert await anonymous.execute(GraphQLRequest(VIEWER)) == {"viewer": None}
        with pytest.raises(TransportQueryError, match="slugg"):
            await anonymous.execute(GraphQLRequest("{ boards { slugg } }"))


async def test_a_gql_subscriber_signed_in_by_connection_params_sees_another_clients_comment(
    api, server
):
    topic = await restricted_topic(api)
    moderator = api.token(MODERATOR, "moderator")
    follow = GraphQLRequest(TOPIC_ACTIVITY, variable_values={"id": topic["id"]})
    received: list[dict] = []

    async with websocket_client(server, {"authorization": f"Bearer {moderator}"}) as watcher:

        async def watch() -> None:
            async for event in watcher.subscribe(follow):
                received.append(event["topicActivity"])
                return

        watching = asyncio.create_task(watch())
        await asyncio.sleep(0.3)  # subscribed to the topic's channel
        other_moderator = api.token("mod-2", "moderator")
        async with http_client(server, other_moderator) as writer:
            written = await writer.execute(
                GraphQLRequest(
                    COMMENT, variable_values={"input": {"topicId": topic["id"], "body": "已置顶"}}
                )
            )
        assert written["createComment"]["errors"] == []
        await asyncio.wait_for(watching, 5)
    assert received == [
        {
            "kind": "COMMENT_ADDED",
            "topic": {"id": topic["id"], "commentCount": 1},
            "comment": {"body": "已置顶", "author": {"nickname": "mod-2"}},
        }
    ]


async def test_without_a_token_the_restricted_topic_is_not_found_over_gql(api, server):
    topic = await restricted_topic(api)
    follow = GraphQLRequest(TOPIC_ACTIVITY, variable_values={"id": topic["id"]})
    async with websocket_client(server) as anonymous:
        with pytest.raises(TransportQueryError, match="No topic has that id"):
            async for _ in anonymous.subscribe(follow):
                pass


# ---------------------------------------------------------------- the protocol itself


async def connect(url: str, **options):
    return await websockets.connect(
        url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"], **options
    )


async def test_messages_are_text_frames(api, server):
    async with await connect(server) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        ack = await socket.recv()
        assert isinstance(ack, str) and json.loads(ack) == {"type": "connection_ack"}
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv()) == {"type": "pong"}
        payload = {"query": 'subscription { topicActivity(topicId: "VG9waWM6MQ==") { kind } }'}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message = await socket.recv()
        assert isinstance(message, str) and json.loads(message)["type"] in ("next", "error")


async def test_the_token_may_come_as_authorization_in_connection_params(api, server):
    topic = await restricted_topic(api)
    for key, value in (
        ("Authorization", f"Bearer {api.token(MODERATOR, 'moderator')}"),
        ("authorization", api.token(MODERATOR, "moderator")),  # a bare token too
    ):
        async with await connect(server) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {key: value}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            payload = {"query": TOPIC_ACTIVITY, "variables": {"id": topic["id"]}}
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            with pytest.raises(TimeoutError):  # following, not refused
                async with asyncio.timeout(0.5):
                    await socket.recv()


async def closed_with(socket) -> tuple[int, str]:
    with pytest.raises(websockets.ConnectionClosed):
        async with asyncio.timeout(5):
            while True:
                await socket.recv()
    assert socket.close_code is not None
    return socket.close_code, socket.close_reason or ""


async def test_a_bad_token_in_connection_params_closes_with_4401(api, server):
    expired = jwt.encode({"sub": "x", "exp": 1}, TEST_SECRET)
    for token in ("Bearer not-a-jwt", f"Bearer {expired}", 42):
        async with await connect(server) as socket:
            await socket.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": token}})
            )
            code, reason = await closed_with(socket)
            assert (code, reason.split(":")[0]) == (4401, "Unauthorized"), token


async def test_a_bad_token_in_the_upgrade_header_is_accepted_then_closed_with_4401(server):
    async with await connect(server, additional_headers={"Authorization": "Bearer nope"}) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        code, reason = await closed_with(socket)
    assert code == 4401 and reason.startswith("Unauthorized")


async def test_subscribing_before_connection_ack_closes_with_4401(server):
    async with await connect(server) as socket:
        payload = {"query": 'subscription { contestRanking(contestId: "x") { id } }'}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        assert (await closed_with(socket))[0] == 4401


async def test_a_message_outside_the_protocol_closes_with_4400(server):
    async with await connect(server) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        await socket.recv()
        await socket.send(json.dumps({"type": "start", "id": "1"}))
        assert (await closed_with(socket))[0] == 4400


async def test_pages_on_other_origins_are_closed_with_4403_and_the_malls_are_served(server):
    async with await connect(server, origin="https://evil.example") as socket:
        code, reason = await closed_with(socket)
    assert code == 4403 and reason.startswith("Forbidden")
    async with await connect(server, origin=MALL_ORIGIN) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
    host = server.removeprefix("http://")
    async with await connect(server, origin=f"http://{host}") as socket:  # the console's page
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}


async def test_the_legacy_subscriptions_transport_ws_protocol_is_not_offered(server):
    async with websockets.connect(
        server.replace("http", "ws") + "/graphql", subprotocols=["graphql-ws"]
    ) as socket:
        assert socket.subprotocol is None
        code, _ = await closed_with(socket)
    assert code == 4406
