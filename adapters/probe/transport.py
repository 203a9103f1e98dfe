"""One request of a probe: the round trip timed, transport failures as domain errors."""

from __future__ import annotations

import time
from typing import Any

import httpx

from booking.errors import DeviceAuthFailed, DeviceProtocolError, DeviceUnreachable


async def send(
    client: httpx.AsyncClient, method: str, url: str, *, device: str, **kwargs: Any
) -> tuple[httpx.Response, float]:
    """The response and its round trip in ms; `DeviceUnreachable` when there is none."""
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise DeviceUnreachable("no answer in time", device=device) from None
    except httpx.ConnectError:
        raise DeviceUnreachable("connection refused", device=device) from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        raise DeviceUnreachable("connection reset", device=device) from None
    except httpx.HTTPError as exc:
        raise DeviceUnreachable(f"{type(exc).__name__}: {exc}", device=device) from None
    return response, (time.perf_counter() - started) * 1000.0


def check_status(response: httpx.Response, device: str) -> None:
    """401/403 → credentials refused; any other non-2xx → the device erring."""
    status = response.status_code
    if status in (401, 403):
        raise DeviceAuthFailed("credentials refused", device=device, status=status)
    if not 200 <= status < 300:
        raise DeviceProtocolError(f"HTTP {status}", device=device, status=status)
