"""HTTP to conference servers and their gateways: one shared client, every failure a domain error.

Every conference API call we make is safe to repeat (BBB `create` answers a repeat with
`duplicateWarning`, reads are reads, `end` of an ended meeting is `notFound`), so a failed
request — refused, reset, timed out, or answered with a 5xx — is retried a bounded number of
times with a short pause, and then reported as `DeviceUnreachable` (no answer) or
`DeviceProtocolError` (an answer we cannot use).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from booking.errors import DeviceProtocolError, DeviceUnreachable

DEFAULT_TIMEOUT_S = 5.0
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30)


def new_client(timeout_s: float = DEFAULT_TIMEOUT_S, verify_tls: bool = True) -> httpx.AsyncClient:
    """The client one process shares across its conference servers (connection pooling)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
        limits=LIMITS,
        verify=verify_tls,
        trust_env=False,
        follow_redirects=False,
    )


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 2  # total tries, the first included
    pause_s: float = 0.2


@dataclass(frozen=True)
class Answer:
    response: httpx.Response
    round_trip_ms: float


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    device: str,
    retry: RetryPolicy = RetryPolicy(),
    timeout_s: float | None = None,
    **kwargs: Any,
) -> Answer:
    """Send an idempotent request; retry on transport errors and 5xx; map what is left."""
    last: Exception | None = None
    answer: Answer | None = None
    for attempt in range(max(1, retry.attempts)):
        if attempt:
            await asyncio.sleep(retry.pause_s)
        started = time.perf_counter()
        try:
            response = await client.request(
                method,
                url,
                timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
                **kwargs,
            )
        except httpx.TimeoutException as exc:
            last = DeviceUnreachable(
                f"{device}: no answer in time ({type(exc).__name__})", device=device
            )
            continue
        except httpx.TransportError as exc:
            last = DeviceUnreachable(f"{device}: {_describe(exc)}", device=device)
            continue
        answer = Answer(response, (time.perf_counter() - started) * 1000)
        if response.status_code >= 500:
            last = DeviceProtocolError(
                f"{device}: HTTP {response.status_code} from the server",
                device=device,
                status=response.status_code,
            )
            continue
        return answer
    assert last is not None
    raise last


def _describe(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})" if str(exc) else "connection refused"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "connection reset or closed without an answer"
    return f"{type(exc).__name__}: {exc}"
