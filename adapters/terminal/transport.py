"""HTTP to terminals: one client per process, and retries only where they are safe.

The health monitor polls thousands of terminals, so they share one `httpx.AsyncClient` (per
event loop): one connection pool, kept-alive connections per terminal, no client object per
device. Its cookie jar refuses every cookie — many terminals sit on the same host name
(cookies ignore ports), so session cookies are handled per terminal by the dialects.

Retry rules:
- the request never left (connection refused, connect timeout, no pooled connection): always
  safe to retry;
- it may have arrived (read timeout, reset after sending, 5xx): retried only for requests
  that are safe to repeat (`idempotent=True`: status reads). A Dial is not: a timed-out
  Dial raises `MaybeSent` and the dialect looks at the call status instead of dialling
  again (never a double dial).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from booking.errors import DeviceAuthFailed, DeviceProtocolError, DeviceUnreachable

DEFAULT_TIMEOUT_S = 5.0
LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=512, keepalive_expiry=20)
POOL_WAIT_S = 120.0

_clients: dict[tuple[asyncio.AbstractEventLoop, bool], httpx.AsyncClient] = {}


class MaybeSent(DeviceUnreachable):
    """The connection failed after the request may have reached the terminal."""


def new_client(verify_tls: bool = False) -> httpx.AsyncClient:
    """Terminals use self-signed certificates as shipped; `verify_tls` where they do not."""
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        timeout=httpx.Timeout(DEFAULT_TIMEOUT_S, pool=POOL_WAIT_S),
        limits=LIMITS,
        verify=verify_tls,
        trust_env=False,
        follow_redirects=False,
        cookies=jar,
    )


def shared_client(verify_tls: bool = False) -> httpx.AsyncClient:
    """The process's client for the running event loop."""
    loop = asyncio.get_running_loop()
    for key in [k for k, c in _clients.items() if k[0].is_closed() or c.is_closed]:
        del _clients[key]
    client = _clients.get((loop, verify_tls))
    if client is None:
        client = _clients[(loop, verify_tls)] = new_client(verify_tls)
    return client


@dataclass(frozen=True)
class Exchange:
    response: httpx.Response
    round_trip_ms: float


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    device: str,
    timeout_s: float,
    idempotent: bool,
    attempts: int = 2,
    pause_s: float = 0.2,
    **kwargs: Any,
) -> Exchange:
    """One request with the retry rules above. 401/403 raise `DeviceAuthFailed`; a 5xx left
    after retries raises `DeviceProtocolError`; other answers are the caller's to read."""
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0), pool=POOL_WAIT_S)
    last: DeviceUnreachable | DeviceProtocolError | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            await asyncio.sleep(pause_s)
        started = time.perf_counter()
        try:
            response = await client.request(method, url, timeout=timeout, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            last = DeviceUnreachable(f"{device}: cannot connect ({_name(exc)})", device=device)
            continue  # nothing was sent: retrying is safe
        except httpx.PoolTimeout:
            last = DeviceUnreachable(
                f"{device}: no free connection in the local pool", device=device
            )
            continue
        except httpx.TransportError as exc:
            last = MaybeSent(
                f"{device}: connection lost after sending ({_name(exc)})", device=device
            )
            if idempotent:
                continue
            raise last from exc
        round_trip = (time.perf_counter() - started) * 1000
        if response.status_code in (401, 403):
            raise DeviceAuthFailed(
                f"{device}: credentials refused (HTTP {response.status_code})", device=device
            )
        if response.status_code >= 500:
            last = DeviceProtocolError(
                f"{device}: HTTP {response.status_code}",
                device=device,
                status=response.status_code,
            )
            if idempotent:
                continue
            raise last
        return Exchange(response, round_trip)
    assert last is not None
    raise last


def _name(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
