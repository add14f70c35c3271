"""Events for the mall: written to the outbox in the transaction of the change, then POSTed
to `MALLFORUM_WEBHOOK_URL` by a background worker until the mall answers 2xx.

Each request carries the JSON event `{"id", "kind", "createdAt", "data"}` and the headers
`X-Mallforum-Event-Id`, `X-Mallforum-Timestamp` (Unix seconds) and
`X-Mallforum-Signature: sha256=<hex>`, the HMAC-SHA256 with `MALLFORUM_WEBHOOK_SECRET` of
`"<timestamp>.<body>"`. The mall should refuse a timestamp more than five minutes old and
may use the event id to ignore a repeat (a worker that dies between the 2xx and recording
it sends again; after a recorded 2xx, never).

Failed sends are retried with exponential backoff: 10 s, 20 s, 40 s ... capped at an hour.
Several processes can run workers: each leases a batch of events by moving their
`next_attempt_at` forward in a `FOR UPDATE SKIP LOCKED` transaction, and renews the lease of
each event just before sending it, so an event whose lease ran out while an earlier send
was slow is left to the worker that took it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from tortoise.transactions import in_transaction

from mallforum.clock import now
from mallforum.settings import Settings
from models import OutboxEvent

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(seconds=60)
FIRST_RETRY_SECONDS = 10
MAX_RETRY_SECONDS = 3600
SEND_TIMEOUT_SECONDS = 10


async def emit(kind: str, data: dict[str, Any]) -> OutboxEvent:
    """Queue an event for the mall; call inside the transaction of the change it reports."""
    created = now()
    return await OutboxEvent.create(
        kind=kind, payload=data, created_at=created, next_attempt_at=created
    )


async def backlog() -> tuple[int, timedelta | None]:
    """How many events wait for delivery, and how long the oldest has waited."""
    waiting = OutboxEvent.filter(delivered_at=None)
    count = await waiting.count()
    if not count:
        return 0, None
    oldest = await waiting.order_by("created_at").first()
    return count, (now() - oldest.created_at) if oldest else None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed send."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


class OutboxWorker:
    """Delivers due events; `run` loops until cancelled, `deliver_due` sends one batch."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        if not settings.webhook_url:
            raise ValueError("the outbox worker needs MALLFORUM_WEBHOOK_URL")
        self.settings = settings
        self.url = settings.webhook_url
        self.secret = settings.effective_webhook_secret
        self.client = client or httpx.AsyncClient(timeout=SEND_TIMEOUT_SECONDS)

    async def close(self) -> None:
        await self.client.aclose()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except Exception:  # the database may be restarting: try again later
                log.exception("outbox: delivery round failed")
                sent = 0
            if sent < BATCH:
                await asyncio.sleep(self.settings.outbox_poll_seconds)

    async def deliver_due(self) -> int:
        """Send every due event of one leased batch; how many were delivered."""
        events, lease = await self._lease()
        delivered = 0
        for event in events:
            if await self._renew(event, lease):
                delivered += await self._send(event)
        return delivered

    async def _lease(self) -> tuple[list[OutboxEvent], datetime]:
        """Take up to a batch of due events, marking them as this worker's until `lease`."""
        moment = now()
        lease = moment + LEASE
        async with in_transaction():
            events = (
                await OutboxEvent.filter(delivered_at=None, next_attempt_at__lte=moment)
                .order_by("next_attempt_at", "id")
                .limit(BATCH)
                .select_for_update(skip_locked=True)
            )
            if events:
                await OutboxEvent.filter(id__in=[e.pk for e in events]).update(
                    next_attempt_at=lease
                )
        return events, lease

    async def _renew(self, event: OutboxEvent, lease: datetime) -> bool:
        """Extend this worker's lease of the event just before sending it; False when the
        lease ran out meanwhile (a slow mall) and another worker has taken the event."""
        renewed = await OutboxEvent.filter(
            id=event.pk, delivered_at=None, next_attempt_at=lease
        ).update(next_attempt_at=now() + LEASE)
        return renewed == 1

    async def _send(self, event: OutboxEvent) -> int:
        body = orjson.dumps(
            {
                "id": event.pk,
                "kind": event.kind,
                "createdAt": event.created_at.isoformat(),
                "data": event.payload,
            }
        )
        timestamp = str(int(now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Mallforum-Event-Id": str(event.pk),
            "X-Mallforum-Timestamp": timestamp,
            "X-Mallforum-Signature": signature(self.secret, timestamp, body),
        }
        error: str | None = None
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
            if not response.is_success:
                error = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        attempts = event.attempts + 1
        if error is None:
            await OutboxEvent.filter(id=event.pk).update(
                attempts=attempts, delivered_at=now(), last_error=None
            )
            return 1
        log.warning("outbox: event %s (%s) not delivered: %s", event.pk, event.kind, error)
        await OutboxEvent.filter(id=event.pk).update(
            attempts=attempts, next_attempt_at=now() + retry_delay(attempts), last_error=error
        )
        return 0


@contextlib.asynccontextmanager
async def running_worker(settings: Settings):
    """Run a worker in the background while the block runs; none without a webhook URL."""
    if not settings.webhook_url:
        yield None
        return
    worker = OutboxWorker(settings)
    task = asyncio.create_task(worker.run(), name="outbox-worker")
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.close()
