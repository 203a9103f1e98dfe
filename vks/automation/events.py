"""Events for the outside world: every lifecycle transition (and at-risk flags, backup
switches) is POSTed to `VKS_WEBHOOK_URL`, signed with `VKS_WEBHOOK_SECRET`.

The events are rows of an outbox written in the same transaction as the change they
report, so none is lost and none is sent for a change that was rolled back. Delivery is
at least once (a receiver dedupes by `id`); `seq` orders them.

    POST <webhook_url>
    Content-Type: application/json
    X-VKS-Event: occurrence.state_changed
    X-VKS-Event-Id: 1b4e28ba-2fa1-11d2-883f-0016d3cca427
    X-VKS-Timestamp: 1788652800
    X-VKS-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

    {"id": "...", "seq": 42, "type": "occurrence.state_changed", "created_at": "...",
     "data": {"occurrence_id": "...", "booking_id": "...", "from": "preparing", "to": "live",
              "at": "...", "cause": "start", "reason": "", "details": {...}}}

The timestamp is part of what is signed, so a receiver can refuse old replays. The event
types are the domain's (`booking.automation_store`: `STATE_CHANGED`, `AT_RISK`,
`TERMINAL_SWITCHED`, `SERVER_SWITCHED`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta

import httpx

from adapters.notify.webhook import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from booking.automation_store import EventRecord, TransitionStore
from booking.lifecycle import backoff

log = logging.getLogger(__name__)

EVENT_ID_HEADER = "X-VKS-Event-Id"

HOLD = timedelta(seconds=60)  # a claimed event is ours this long (then another may retry)
RETRY_FIRST = timedelta(seconds=10)
RETRY_MAX = timedelta(minutes=10)


def envelope(event: EventRecord) -> bytes:
    return json.dumps(
        {
            "id": event.event_id,
            "seq": event.id,
            "type": event.type,
            "created_at": event.created_at.isoformat(),
            "data": event.payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def retry_delay(attempts: int, first: timedelta = RETRY_FIRST) -> timedelta:
    """The pause before delivering an event again after its `attempts`-th failed try."""
    return backoff(attempts, first, RETRY_MAX)


class WebhookDeliverer:
    """Sends due outbox events to the webhook; several processes may run one each."""

    def __init__(
        self,
        store: TransitionStore,
        url: str,
        secret: str,
        *,
        timeout_s: float = 5.0,
        concurrency: int = 20,
        retry_first: timedelta = RETRY_FIRST,
    ) -> None:
        self.retry_first = retry_first
        self.store = store
        self.url = url
        self.secret = secret
        self.timeout_s = timeout_s
        self.concurrency = concurrency

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    async def deliver_due(self, now: datetime, limit: int = 200) -> int:
        """Deliver what is due; returns how many were delivered."""
        if not self.enabled:
            return 0
        events = await asyncio.to_thread(self.store.claim_events, now, HOLD, limit)
        if not events:
            return 0
        gate = asyncio.Semaphore(self.concurrency)
        delivered: list[int] = []
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:

            async def one(event: EventRecord) -> None:
                async with gate:
                    error = await self._post(client, event)
                if error is None:
                    delivered.append(event.id)
                else:
                    log.warning("webhook delivery of %s failed: %s", event.event_id, error)
                    await asyncio.to_thread(
                        self.store.delivery_failed,
                        event.id,
                        now + retry_delay(event.attempts, self.retry_first),
                        error,
                    )

            await asyncio.gather(*(one(e) for e in events))
        await asyncio.to_thread(self.store.delivered, delivered, now)
        return len(delivered)

    async def _post(self, client: httpx.AsyncClient, event: EventRecord) -> str | None:
        body = envelope(event)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event.type,
            EVENT_ID_HEADER: event.event_id,
            TIMESTAMP_HEADER: str(timestamp),
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, timestamp, body)
        try:
            response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code >= 300:
            return f"HTTP {response.status_code}"
        return None
