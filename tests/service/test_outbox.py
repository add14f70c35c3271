"""The outbox worker: signed JSON events POSTed to the mall's webhook (a real local receiver),
retried with backoff on the service clock, sent once by several workers at once, oldest first,
and run in the background only when a webhook URL is set."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mallforum import clock, outbox
from mallforum.outbox import OutboxWorker, retry_delay
from models import OutboxEvent
from tests.growth.steps import create_item, redeem
from tests.servers import free_port, serving

SECRET = "s3cret"


# ---------------------------------------------------------------- the mall's receiver


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A local webhook that records each request and answers the statuses of `script` in
    turn, then 200."""

    url: str
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    #: Runs before each answer, e.g. to make the mall slow on the service clock.
    before_answer: Callable[[], Awaitable[None]] | None = None

    @property
    def event_ids(self) -> list[int]:
        return [r.json["id"] for r in self.requests]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    received = Receiver(url=f"http://127.0.0.1:{port}/hook")

    async def hook(request: Request) -> Response:
        body = await request.body()
        received.requests.append(Received(dict(request.headers), body))
        if received.before_answer is not None:
            await received.before_answer()
        status = received.script.pop(0) if received.script else 200
        received.arrived.set()
        return Response(f"answered {status}", status_code=status)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    async with serving(app, port):
        yield received


@pytest.fixture
async def worker_for(settings, receiver) -> AsyncIterator[Callable[..., OutboxWorker]]:
    """Makes workers sending to the receiver (or to `url`), closed at the end of the test."""
    made: list[OutboxWorker] = []

    def make(url: str | None = None, secret: str = SECRET) -> OutboxWorker:
        configured = settings.model_copy(
            update={"webhook_url": url or receiver.url, "webhook_secret": secret}
        )
        made.append(OutboxWorker(configured))
        return made[-1]

    yield make
    for worker in made:
        await worker.close()


def verifies(secret: str, request: Received) -> bool:
    """Whether the request's signature is the mall's own HMAC of its timestamp and body."""
    timestamp = request.headers["x-mallforum-timestamp"]
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    return hmac.compare_digest(
        request.headers["x-mallforum-signature"], "sha256=" + digest.hexdigest()
    )


async def row(event: OutboxEvent) -> OutboxEvent:
    return await OutboxEvent.get(id=event.pk)


def close_to(moment: datetime, expected: datetime, slack=timedelta(seconds=2)) -> bool:
    return abs(moment - expected) <= slack


# ---------------------------------------------------------------- delivery


async def test_an_event_is_posted_as_signed_json_and_marked_delivered(receiver, worker_for):
    event = await outbox.emit("member.level_reached", {"mallUserId": "alice", "level": 2})
    assert await worker_for().deliver_due() == 1

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    stored = await row(event)
    assert request.json == {
        "id": event.pk,
        "kind": "member.level_reached",
        "createdAt": request.json["createdAt"],
        "data": {"mallUserId": "alice", "level": 2},
    }
    assert datetime.fromisoformat(request.json["createdAt"]) == stored.created_at
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-mallforum-event-id"] == str(event.pk)
    timestamp = int(request.headers["x-mallforum-timestamp"])
    assert abs(timestamp - clock.now().timestamp()) < 5
    assert request.headers["x-mallforum-signature"].startswith("sha256=")
    assert verifies(SECRET, request)
    assert not verifies("wrong-secret", request)

    assert stored.delivered_at is not None and close_to(stored.delivered_at, clock.now())
    assert (stored.attempts, stored.last_error) == (1, None)


async def test_a_tampered_body_does_not_verify(receiver, worker_for):
    await outbox.emit("member.level_reached", {"mallUserId": "alice", "level": 2})
    await worker_for().deliver_due()
    request = receiver.requests[0]
    forged = Received(request.headers, request.body.replace(b'"level":2', b'"level":8'))
    assert forged.body != request.body
    assert verifies(SECRET, request) and not verifies(SECRET, forged)


async def test_a_redemption_reaches_the_mall_as_a_redemption_created_event(
    api, receiver, worker_for
):
    item = await create_item(api, costPoints=20, mallRewardCode="CPN-20")
    redemption = (await redeem(api, item["id"]))["redemption"]

    assert await worker_for().deliver_due() == 1
    [request] = receiver.requests
    assert request.json["kind"] == "redemption.created"
    data = request.json["data"]
    assert {key: data[key] for key in ("redemptionId", "mallUserId", "mallRewardCode")} == {
        "redemptionId": redemption["id"],
        "mallUserId": "alice",
        "mallRewardCode": "CPN-20",
    }
    assert data["costPoints"] == 20
    assert verifies(SECRET, request)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_answer_delivers_the_event(receiver, worker_for, status):
    receiver.script = [status]
    event = await outbox.emit("test.event", {"n": 1})
    assert await worker_for().deliver_due() == 1
    stored = await row(event)
    assert stored.delivered_at is not None and stored.attempts == 1


@pytest.mark.parametrize("status", [302, 400, 404, 500, 503])
async def test_an_answer_other_than_2xx_is_a_failed_attempt(receiver, worker_for, status):
    receiver.script = [status]
    event = await outbox.emit("test.event", {"n": 1})
    assert await worker_for().deliver_due() == 0
    stored = await row(event)
    assert stored.delivered_at is None and stored.attempts == 1
    assert str(status) in (stored.last_error or "")


# ---------------------------------------------------------------- retries


async def test_a_failed_send_is_retried_after_the_backoff_and_then_never_again(
    receiver, worker_for
):
    receiver.script = [500, 200]
    worker = worker_for()
    event = await outbox.emit("test.event", {"n": 1})

    before = clock.now()
    assert await worker.deliver_due() == 0
    stored = await row(event)
    assert stored.delivered_at is None
    assert stored.attempts == 1
    assert "500" in (stored.last_error or "")
    assert before + timedelta(seconds=10) <= stored.next_attempt_at
    assert stored.next_attempt_at <= clock.now() + timedelta(seconds=10)

    assert await worker.deliver_due() == 0  # not due yet
    assert len(receiver.requests) == 1

    clock.travel(stored.next_attempt_at - clock.now() + timedelta(seconds=1))
    assert await worker.deliver_due() == 1
    stored = await row(event)
    assert stored.delivered_at is not None
    assert (stored.attempts, stored.last_error) == (2, None)

    for hours in (1, 24):
        clock.travel(timedelta(hours=hours))
        assert await worker.deliver_due() == 0
    assert receiver.event_ids == [event.pk, event.pk]


def test_the_backoff_doubles_from_ten_seconds_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in range(1, 11)] == [
        10,
        20,
        40,
        80,
        160,
        320,
        640,
        1280,
        2560,
        3600,
    ]
    assert retry_delay(50) == timedelta(hours=1)


async def test_a_receiver_that_keeps_failing_waits_twice_as_long_each_time(receiver, worker_for):
    receiver.script = [500, 503, 500, 200]
    worker = worker_for()
    event = await outbox.emit("test.event", {"n": 1})
    for attempts, delay in ((1, 10), (2, 20), (3, 40)):
        assert await worker.deliver_due() == 0
        stored = await row(event)
        assert stored.attempts == attempts
        assert close_to(stored.next_attempt_at, clock.now() + timedelta(seconds=delay))
        clock.travel(timedelta(seconds=delay - 2))
        assert await worker.deliver_due() == 0  # still waiting
        assert len(receiver.requests) == attempts
        clock.travel(timedelta(seconds=3))
    assert await worker.deliver_due() == 1
    assert (await row(event)).attempts == 4


async def test_a_receiver_that_is_down_counts_as_a_failure(receiver, worker_for):
    down = worker_for(url=f"http://127.0.0.1:{free_port()}/hook")
    event = await outbox.emit("test.event", {"n": 1})
    assert await down.deliver_due() == 0
    stored = await row(event)
    assert stored.delivered_at is None and stored.attempts == 1
    assert "Connect" in (stored.last_error or "")
    assert close_to(stored.next_attempt_at, clock.now() + timedelta(seconds=10))

    clock.travel(timedelta(seconds=11))
    assert await worker_for().deliver_due() == 1  # the mall is back
    stored = await row(event)
    assert stored.delivered_at is not None and stored.attempts == 2
    assert receiver.event_ids == [event.pk]


async def test_an_event_leased_by_a_worker_that_died_is_sent_once_the_lease_runs_out(
    receiver, worker_for
):
    event = await outbox.emit("test.event", {"n": 1})
    died = worker_for()
    leased, _ = await died._lease()
    assert [e.pk for e in leased] == [event.pk]  # leased, never sent
    assert await worker_for().deliver_due() == 0
    clock.travel(outbox.LEASE + timedelta(seconds=1))
    assert await worker_for().deliver_due() == 1
    assert receiver.event_ids == [event.pk]


# ---------------------------------------------------------------- several workers, order


async def test_two_workers_at_once_send_each_event_exactly_once(receiver, worker_for):
    events = [await outbox.emit("test.event", {"n": n}) for n in range(30)]
    first, second = worker_for(), worker_for()
    sent = await asyncio.gather(first.deliver_due(), second.deliver_due())
    assert sum(sent) == 30
    assert sorted(receiver.event_ids) == [e.pk for e in events]
    assert await OutboxEvent.filter(delivered_at=None).count() == 0
    assert await OutboxEvent.exclude(attempts=1).count() == 0


async def test_a_slow_mall_gets_each_event_once_while_another_worker_polls(receiver, worker_for):
    """Each answer takes 11 s of the service clock (the send timeout is 10 s), so one batch
    of 10 outlasts the 60 s lease; a second worker polling meanwhile must not send again
    what the first still holds."""
    events = [await outbox.emit("test.event", {"n": n}) for n in range(10)]
    halfway = asyncio.Event()

    async def slow_answer() -> None:
        clock.travel(timedelta(seconds=11))
        if len(receiver.requests) == 7:
            halfway.set()

    receiver.before_answer = slow_answer

    async def another_worker_polls() -> int:
        await halfway.wait()
        return await worker_for().deliver_due()

    await asyncio.gather(worker_for().deliver_due(), another_worker_polls())
    sent_twice = sorted(pk for pk, n in Counter(receiver.event_ids).items() if n > 1)
    assert sent_twice == []
    assert sorted(receiver.event_ids) == [e.pk for e in events]


async def test_due_events_are_sent_oldest_first(receiver, worker_for):
    clock.travel(timedelta(minutes=-10))
    a = await outbox.emit("test.event", {"n": "a"})
    clock.travel(timedelta(minutes=5))
    b = await outbox.emit("test.event", {"n": "b"})
    clock.travel(timedelta(minutes=-3))
    c = await outbox.emit("test.event", {"n": "c"})  # after b in id, before it in time
    clock.reset()
    assert await worker_for().deliver_due() == 3
    assert receiver.event_ids == [a.pk, c.pk, b.pk]


async def test_one_round_sends_one_batch_and_the_next_round_the_rest(receiver, worker_for):
    count = outbox.BATCH + 5
    events = [await outbox.emit("test.event", {"n": n}) for n in range(count)]
    worker = worker_for()
    assert await worker.deliver_due() == outbox.BATCH
    assert await worker.deliver_due() == 5
    assert receiver.event_ids == [e.pk for e in events]


# ---------------------------------------------------------------- the background worker


async def test_running_worker_is_none_without_a_webhook_url(settings):
    async with outbox.running_worker(settings.model_copy(update={"webhook_url": None})) as w:
        assert w is None


async def test_running_worker_delivers_in_the_background_until_the_block_ends(settings, receiver):
    event = await outbox.emit("test.event", {"n": 1})
    configured = settings.model_copy(update={"webhook_url": receiver.url, "webhook_secret": SECRET})
    async with outbox.running_worker(configured) as worker:
        assert isinstance(worker, OutboxWorker)
        async with asyncio.timeout(10):
            await receiver.arrived.wait()
    assert worker.client.is_closed
    assert receiver.event_ids == [event.pk]
    assert verifies(SECRET, receiver.requests[0])
