"""A signed JSON webhook: one POST per notice to a configured URL, listing the recipients
so the receiver (a messenger bot, a ticket system) can route it.

    POST <url>
    Content-Type: application/json
    X-VKS-Event: health.alert.opened
    X-VKS-Timestamp: 1788652800
    X-VKS-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

The same signature scheme as the automation's event webhook, so one receiver verifies
both. The timestamp is signed too: a receiver can refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence

import httpx

from adapters.notify.channel import Delivery, Notice, Recipient

SIGNATURE_HEADER = "X-VKS-Signature"
TIMESTAMP_HEADER = "X-VKS-Timestamp"
EVENT_HEADER = "X-VKS-Event"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """Check a delivery as a receiver would: signature and freshness."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered[TIMESTAMP_HEADER.lower()])
        given = lowered[SIGNATURE_HEADER.lower()]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(given, sign(secret, timestamp, body))


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str = "", *, timeout_s: float = 5.0) -> None:
        self.url = url
        self.secret = secret
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False)

    async def send(self, notice: Notice, recipients: Sequence[Recipient]) -> list[Delivery]:
        body = json.dumps(
            {
                "event": notice.event_name,
                "subject": notice.subject,
                "text": notice.text,
                "recipients": [
                    {"org_id": r.org_id, "role": r.role, "email": r.email, "name": r.name}
                    for r in recipients
                ],
                "data": dict(notice.data),
            },
            ensure_ascii=False,
            default=str,
        ).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            EVENT_HEADER: notice.event_name,
            TIMESTAMP_HEADER: str(timestamp),
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, timestamp, body)
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return [Delivery(self.name, self.url, False, f"{type(exc).__name__}: {exc}")]
        if response.is_success:
            return [Delivery(self.name, self.url, True)]
        return [Delivery(self.name, self.url, False, f"HTTP {response.status_code}")]

    async def aclose(self) -> None:
        await self._client.aclose()
