"""Plain HTTP/1.1 for probes: one request over a fresh connection, nothing pooled.

Why not httpx here: a monitor talks to ten thousand *different* origins (a port or a host
per device), each once per interval — longer than devices keep idle connections — so a
connection pool has nothing to reuse, and httpcore's pool costs time in proportion to the
connections it tracks. Measured on the 2-core benchmark machine against the simulator
fleet: a shared `httpx.AsyncClient` spent 12–30 ms of CPU per request with a few hundred
origins in its pool, a bare asyncio connection well under 1 ms. The conference servers (a
handful, polled through their adapters) keep using httpx.

A `Target` is prepared once per device (address, TLS, request line and fixed headers);
`HttpProbeClient.send` opens the connection, writes the request with `Connection: close`,
reads until the response is complete (Content-Length, chunked, or close) and hangs up.
The whole exchange — connect included — is bounded by one timer. Failures are the
domain's: refused, reset or timed out → `DeviceUnreachable`; an answer we cannot parse →
`DeviceProtocolError`.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from booking.errors import DeviceAuthFailed, DeviceProtocolError, DeviceUnreachable

MAX_RESPONSE_BYTES = 1 << 20
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED_ENCODING = re.compile(rb"\r\ntransfer-encoding:[^\r]*chunked", re.IGNORECASE)
_CHUNKED = -1
_UNTIL_CLOSE = -2


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    tls: bool
    head: bytes
    """`METHOD /path HTTP/1.1` and every fixed header, without the blank line."""

    def request(self, body: bytes = b"", extra_headers: str = "") -> bytes:
        length = f"Content-Length: {len(body)}\r\n" if body else ""
        return self.head + (extra_headers + length + "\r\n").encode() + body


def target(method: str, url: str, path: str, headers: dict[str, str] | None = None) -> Target:
    """Prepare a request to `path` on the origin of `url` (a device's base URL)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    base = parts.path.rstrip("/")
    host_header = parts.netloc.rsplit("@", 1)[-1]
    lines = [f"{method} {base}{path} HTTP/1.1", f"Host: {host_header}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return Target(parts.hostname, port, tls, ("\r\n".join(lines) + "\r\n").encode())


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    head: bytes  # the status line and headers, as received
    body: bytes
    rtt_ms: float

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; repeated headers joined with ", " (parsed when asked: most
        probes only need the status and the body)."""
        headers: dict[str, str] = {}
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    @property
    def cookies(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in self.headers.get("set-cookie", "").split(","):
            name, _, rest = part.strip().partition("=")
            if name and rest:
                out[name] = rest.split(";", 1)[0]
        return out


class _Exchange(asyncio.Protocol):
    """One request and its response; `done` resolves when the response is complete, the
    peer hangs up, or the timer expires."""

    __slots__ = (
        "_buffer",
        "_length",
        "_request",
        "_transport",
        "body_at",
        "done",
        "expired",
        "head",
        "status",
    )

    def __init__(self, request: bytes, done: asyncio.Future[None]) -> None:
        self._request = request
        self._buffer = bytearray()
        self._length = _UNTIL_CLOSE
        self._transport: asyncio.Transport | None = None
        self.done = done
        self.expired = False
        self.status = 0  # 0 until the head is in
        self.head = b""
        self.body_at = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if len(buffer) > MAX_RESPONSE_BYTES:
            self._finish(DeviceProtocolError("response too large"))
            return
        if not self.status:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                self._head(bytes(buffer[:end]))
            except (ValueError, IndexError):
                self._finish(DeviceProtocolError("not an HTTP answer"))
                return
            self.body_at = end + 4
        if self._complete():
            self._finish(None)

    def _head(self, head: bytes) -> None:
        if not head.startswith(b"HTTP/"):
            raise ValueError("no status line")
        self.head = head
        self.status = int(head[9:12])
        length = _CONTENT_LENGTH.search(head)
        if length is not None:
            self._length = int(length.group(1))
        elif _CHUNKED_ENCODING.search(head) is not None:
            self._length = _CHUNKED
        elif self.status in (204, 304) or self.status < 200:
            self._length = 0

    def _complete(self) -> bool:
        length = self._length
        if length >= 0:
            return len(self._buffer) - self.body_at >= length
        if length == _CHUNKED:
            return self._buffer.endswith(b"0\r\n\r\n")
        return False

    def body(self) -> bytes:
        data = bytes(self._buffer[self.body_at :])
        if self._length >= 0:
            return data[: self._length]
        if self._length == _CHUNKED:
            return _dechunk(data)
        return data

    def _finish(self, error: Exception | None) -> None:
        if not self.done.done():
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done.done():
            return
        if self.status and (self._length == _UNTIL_CLOSE or self._complete()):
            self.done.set_result(None)
        else:
            self.done.set_exception(DeviceUnreachable("connection reset"))

    def expire(self, task: asyncio.Task[object] | None) -> None:
        """The timer ran out: abort the exchange, or the connect if still under way."""
        self.expired = True
        if self._transport is None:
            if task is not None:
                task.cancel()
            return
        self._transport.abort()
        if not self.done.done():
            self.done.set_exception(DeviceUnreachable("no answer in time"))

    def release(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    position = 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            raise DeviceProtocolError("truncated chunked answer")
        try:
            size = int(data[position:end].split(b";", 1)[0], 16)
        except ValueError:
            raise DeviceProtocolError("bad chunk size") from None
        if size == 0:
            return bytes(out)
        out += data[end + 2 : end + 2 + size]
        position = end + 2 + size + 2


class HttpProbeClient:
    """Sends prepared requests; one connection each. Safe to share across all probes."""

    def __init__(self, *, timeout_s: float = 5.0, verify_tls: bool = False) -> None:
        self.timeout_s = timeout_s
        context = ssl.create_default_context()
        if not verify_tls:  # room systems and cameras present self-signed certificates
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self._tls = context

    async def send(self, to: Target, request: bytes, *, device: str) -> Reply:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        exchange = _Exchange(request, done)
        started = time.perf_counter()
        timer = loop.call_later(self.timeout_s, exchange.expire, asyncio.current_task())
        try:
            await loop.create_connection(
                lambda: exchange,
                to.host,
                to.port,
                ssl=self._tls if to.tls else None,
                server_hostname=to.host if to.tls else None,
            )
            await done
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if exchange.expired and task is not None and task.uncancel() == 0:
                raise DeviceUnreachable("no answer in time", device=device) from None
            raise
        except DeviceUnreachable as exc:
            raise DeviceUnreachable(exc.message, device=device) from None
        except DeviceProtocolError as exc:
            raise DeviceProtocolError(exc.message, device=device) from None
        except ConnectionRefusedError:
            raise DeviceUnreachable("connection refused", device=device) from None
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            raise DeviceUnreachable("connection reset", device=device) from None
        except ssl.SSLError as exc:
            raise DeviceUnreachable(f"TLS failed: {exc.reason}", device=device) from None
        except OSError as exc:
            raise DeviceUnreachable(exc.strerror or str(exc), device=device) from None
        finally:
            timer.cancel()
            exchange.release()
        rtt_ms = (time.perf_counter() - started) * 1000.0
        return Reply(exchange.status, exchange.head, exchange.body(), rtt_ms)


def check_status(reply: Reply, device: str) -> None:
    """401/403 → credentials refused; any other non-2xx → the device erring."""
    if reply.status in (401, 403):
        raise DeviceAuthFailed("credentials refused", device=device, status=reply.status)
    if not 200 <= reply.status < 300:
        raise DeviceProtocolError(f"HTTP {reply.status}", device=device, status=reply.status)
