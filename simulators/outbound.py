"""Requests the simulators make themselves: SIP gateway calls, BBB end callbacks,
terminal feedback posts.

One `httpx.AsyncClient` per event loop serves every device of a host (a client per device
would cost memory for nothing at fleet scale). `spawn()` runs a fire-and-forget coroutine
and keeps a reference to it until it finishes, so it is not garbage-collected mid-flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import httpx

log = logging.getLogger(__name__)

_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
_tasks: set[asyncio.Task[Any]] = set()

TIMEOUT = httpx.Timeout(10.0, pool=60.0)
LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64)


def client() -> httpx.AsyncClient:
    """The shared client of the running event loop."""
    loop = asyncio.get_running_loop()
    existing = _clients.get(loop)
    if existing is None or existing.is_closed:
        for old in [lp for lp in _clients if lp.is_closed()]:
            del _clients[old]
        # no certificate verification: simulators talk to loopback (and it saves 0.1 s)
        existing = httpx.AsyncClient(
            timeout=TIMEOUT, limits=LIMITS, trust_env=False, verify=False
        )
        _clients[loop] = existing
    return existing


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run a coroutine in the background of the running loop, logging its failure."""
    task = asyncio.get_running_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("background request failed: %r", task.exception())


async def fire(method: str, url: str, **kwargs: Any) -> int | None:
    """One request whose answer only matters as a status code; None when it cannot be sent."""
    try:
        response = await client().request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        log.info("%s %s failed: %s", method, url, exc)
        return None
    return response.status_code
