"""Requests the simulators make themselves: SIP gateway calls, BBB end callbacks,
terminal feedback posts.

A thousand terminals dialling at the bell must not queue behind a client's connection
pool (httpx's pool does work proportional to its size on every request), so plain
`http://` requests go over a fresh asyncio connection each (`Connection: close`; on
loopback that costs well under a millisecond), at most `MAX_IN_FLIGHT` at a time.
Anything else (https) falls back to one shared httpx client per event loop.

`spawn()` runs a fire-and-forget coroutine and keeps a reference to it until it finishes,
so it is not garbage-collected mid-flight.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 256

_tasks: set[asyncio.Task[Any]] = set()
_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
_gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


class OutboundError(Exception):
    """The request could not be sent or got no well-formed answer."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body or b"null")


async def request(
    method: str,
    url: str,
    *,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    content: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """Send one request and read the whole answer; raises OutboundError."""
    all_headers = dict(headers or {})
    if isinstance(content, str):
        content = content.encode()
    if json is not None:
        content = jsonlib.dumps(json, ensure_ascii=False).encode()
        all_headers.setdefault("Content-Type", "application/json")
    elif data is not None:
        content = urlencode(data).encode()
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return await _via_httpx(method, url, content, all_headers)
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(MAX_IN_FLIGHT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    port = parts.port or 80
    async with gate:
        try:
            return await asyncio.wait_for(
                _exchange(parts.hostname, port, method, target, content, all_headers), TIMEOUT_S
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            raise OutboundError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc


async def _exchange(
    host: str,
    port: int,
    method: str,
    target: str,
    content: bytes | None,
    headers: Mapping[str, str],
) -> Answer:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(content or b'')}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (content or b""))
        raw = await reader.read()  # the server closes after answering (Connection: close)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/"):
        raise ValueError("no HTTP status line in the answer")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return Answer(int(status_line[1]), body)


def _unchunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";", 1)[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return bytes(out)


async def _via_httpx(
    method: str, url: str, content: bytes | None, headers: Mapping[str, str]
) -> Answer:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        for old in [lp for lp in _clients if lp.is_closed()]:
            del _clients[old]
        # no certificate verification: simulated devices talk to test services
        client = _clients[loop] = httpx.AsyncClient(
            timeout=TIMEOUT_S, trust_env=False, verify=False
        )
    try:
        response = await client.request(method, url, content=content, headers=headers)
    except httpx.HTTPError as exc:
        raise OutboundError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
    return Answer(response.status_code, response.content)


async def fire(method: str, url: str, **kwargs: Any) -> int | None:
    """One request whose answer only matters as a status code; None when it cannot be sent."""
    try:
        return (await request(method, url, **kwargs)).status
    except OutboundError as exc:
        log.info("%s", exc)
        return None


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
