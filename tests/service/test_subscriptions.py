"""Subscriptions over a real WebSocket (`graphql-transport-ws`), fanned out through Redis:
what subscribers of a topic see as members comment and like and moderators act."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import websockets

from mallforum import clock
from tests.contests.steps import create_contest, submit, voted
from tests.forum import CREATE_COMMENT, LIKE, MODERATOR, create_board, create_topic
from tests.moderation.steps import moderate
from tests.servers import serving

TOPIC_ACTIVITY = """
subscription($id: ID!) {
  topicActivity(topicId: $id) { kind topic { id status commentCount likeCount } comment { body } }
}"""


class Subscriber:
    """One graphql-transport-ws connection with one subscription."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket

    async def next(self, within: float = 5.0) -> dict:
        """The next message of the subscription (`next`, `error` or `complete`)."""
        async with asyncio.timeout(within):
            while True:
                message = json.loads(await self.socket.recv())
                if message["type"] != "ping":
                    return message

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await self.next(seconds)
        except TimeoutError:
            return True
        return False


@pytest.fixture
async def subscribe(app, api) -> AsyncIterator:
    async with serving(app) as url:
        opened = []

        async def open_subscription(query: str, variables: dict, as_: str | None = None):
            headers = {"Authorization": f"Bearer {api.token(as_)}"} if as_ else {}
            socket = await websockets.connect(
                url.replace("http", "ws") + "/graphql",
                subprotocols=["graphql-transport-ws"],
                additional_headers=headers,
            )
            opened.append(socket)
            await socket.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            payload = {"query": query, "variables": variables}
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            await asyncio.sleep(0.2)  # the server subscribes to the Redis channel
            return Subscriber(socket)

        yield open_subscription
        for socket in opened:
            await socket.close()


async def comment(api, topic_id: str, body: str, as_: str = "bob") -> dict:
    variables = {"input": {"topicId": topic_id, "body": body}}
    return (await api(CREATE_COMMENT, variables, as_=as_))["createComment"]


async def test_subscribers_see_comments_and_likes_as_they_happen(api, subscribe):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    watcher = await subscribe(TOPIC_ACTIVITY, {"id": topic["id"]}, as_="carol")
    await comment(api, topic["id"], "同款，已下单")
    event = (await watcher.next())["payload"]["data"]["topicActivity"]
    assert event["kind"] == "COMMENT_ADDED"
    assert event["comment"] == {"body": "同款，已下单"}
    assert event["topic"]["commentCount"] == 1
    await api(LIKE, {"id": topic["id"]}, as_="dave")
    event = (await watcher.next())["payload"]["data"]["topicActivity"]
    assert (event["kind"], event["topic"]["likeCount"], event["comment"]) == ("LIKED", 1, None)


async def test_anonymous_readers_may_follow_a_public_topic(api, subscribe):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    watcher = await subscribe(TOPIC_ACTIVITY, {"id": topic["id"]})
    await comment(api, topic["id"], "Mine came today")
    event = (await watcher.next())["payload"]["data"]["topicActivity"]
    assert event["comment"]["body"] == "Mine came today"


async def test_a_comment_held_for_review_is_not_sent_until_approved(api, subscribe, hold_word):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    watcher = await subscribe(TOPIC_ACTIVITY, {"id": topic["id"]}, as_="carol")
    held = await comment(api, topic["id"], "please hold-me")
    assert held["comment"]["status"] == "PENDING_REVIEW"
    assert await watcher.nothing_within(0.5)
    await moderate(api, held["comment"]["id"], "APPROVE")
    event = (await watcher.next())["payload"]["data"]["topicActivity"]
    assert (event["kind"], event["comment"]["body"]) == ("COMMENT_ADDED", "please hold-me")


async def test_hiding_the_topic_ends_the_subscription_of_members(api, subscribe):
    board = await create_board(api)
    topic = await create_topic(api, board["id"])
    member = await subscribe(TOPIC_ACTIVITY, {"id": topic["id"]}, as_="carol")
    moderator = await subscribe(TOPIC_ACTIVITY, {"id": topic["id"]}, as_=MODERATOR)
    await moderate(api, topic["id"], "HIDE")
    event = (await member.next())["payload"]["data"]["topicActivity"]
    assert event["kind"] == "HIDDEN"
    assert (await member.next())["type"] == "complete"
    seen = (await moderator.next())["payload"]["data"]["topicActivity"]
    assert (seen["kind"], seen["topic"]["status"]) == ("HIDDEN", "HIDDEN")


async def test_an_unknown_topic_is_an_error(api, subscribe):
    watcher = await subscribe(TOPIC_ACTIVITY, {"id": "VG9waWM6OTk5OTk="}, as_="carol")
    message = await watcher.next()
    assert message["type"] == "next"  # an execution error, as graphql-transport-ws sends them
    assert [e["message"] for e in message["payload"]["errors"]] == ["No topic has that id."]
    assert (await watcher.next())["type"] == "complete"


CONTEST_RANKING = """
subscription($id: ID!) { contestRanking(contestId: $id, first: 2) { id voteCount rank } }"""


async def test_a_contest_ranking_is_sent_at_once_and_again_after_each_vote(api, subscribe):
    board = await create_board(api)
    contest = await create_contest(api, board["id"])
    clock.travel(timedelta(hours=2))  # open
    first = await submit(api, contest["id"], "ann")
    second = await submit(api, contest["id"], "ben")
    third = await submit(api, contest["id"], "cat")
    watcher = await subscribe(CONTEST_RANKING, {"id": contest["id"]})
    now = (await watcher.next())["payload"]["data"]["contestRanking"]
    assert [(e["id"], e["voteCount"], e["rank"]) for e in now] == [
        (first["id"], 0, 1),
        (second["id"], 0, 2),
    ]
    await voted(api, third["id"], "dan")
    now = (await watcher.next())["payload"]["data"]["contestRanking"]
    assert [(e["id"], e["voteCount"], e["rank"]) for e in now] == [
        (third["id"], 1, 1),
        (first["id"], 0, 2),
    ]
