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
reads until the response is complete and hangs up. The transport is ours (a bare asyncio
protocol); the answer is parsed by `h11` (the sans-I/O HTTP/1.1 parser httpcore and uvicorn
use): Content-Length, chunked (split anywhere, trailers included), close-delimited bodies,
interim 1xx answers and bare line feeds are its business, not ours. The whole exchange —
connect included — is bounded by one timer. Failures are the domain's: refused, reset or
timed out → `DeviceUnreachable`; an answer we cannot parse → `DeviceProtocolError`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import h11

from booking.errors import DeviceAuthFailed, DeviceProtocolError, DeviceUnreachable

MAX_RESPONSE_BYTES = 1 << 20
MAX_HEAD_BYTES = 64 << 10

Fields = tuple[tuple[bytes, bytes], ...]
_SENT_WHOLE = h11.EndOfMessage()  # immutable: one for every exchange


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    tls: bool
    head: bytes
    """`METHOD /path HTTP/1.1` and every fixed header, without the blank line."""
    sent: h11.Request = field(compare=False)
    """What the parser must know of the request to frame the answer (its method, and that
    we close); built once, as the bytes on the wire are."""

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
    sent = h11.Request(
        method=method,
        target=f"{base}{path}",
        headers=[("Host", host_header), ("Connection", "close")],
    )
    return Target(parts.hostname, port, tls, ("\r\n".join(lines) + "\r\n").encode(), sent)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    fields: Fields
    """The header fields in order, names in lower case (h11's normalisation)."""
    body: bytes
    rtt_ms: float

    @property
    def headers(self) -> dict[str, str]:
        """Repeated headers joined with ", " (built when asked: most probes only need the
        status and the body). Use `cookies` for Set-Cookie, which cannot be joined."""
        headers: dict[str, str] = {}
        for name, raw in self.fields:
            key, value = name.decode("latin-1"), raw.decode("latin-1")
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    @property
    def cookies(self) -> dict[str, str]:
        """Name → value of every `Set-Cookie` field, one cookie per field (an `Expires`
        date has a comma in it: splitting a joined header on commas would invent cookies)."""
        out: dict[str, str] = {}
        for name, raw in self.fields:
            if name != b"set-cookie":
                continue
            pair = raw.decode("latin-1").split(";", 1)[0]
            key, equals, value = pair.partition("=")
            if equals and key.strip():
                out[key.strip()] = value.strip()
        return out


class _Exchange(asyncio.Protocol):
    """One request and its response; `done` resolves when the response is complete, the
    peer hangs up, or the timer expires."""

    __slots__ = (
        "_body",
        "_hung_up",
        "_parser",
        "_request",
        "_transport",
        "done",
        "expired",
        "fields",
        "status",
    )

    def __init__(self, request: bytes, sent: h11.Request, done: asyncio.Future[None]) -> None:
        self._request = request
        self._parser = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._parser.send(sent)
        self._parser.send(_SENT_WHOLE)
        self._body = bytearray()
        self._transport: asyncio.Transport | None = None
        self.done = done
        self.expired = False
        self._hung_up = False
        self.status = 0  # 0 until the final head is in
        self.fields: Fields = ()

    @property
    def body(self) -> bytes:
        return bytes(self._body)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        self._parser.receive_data(data)
        self._read()

    def eof_received(self) -> bool | None:
        self._hang_up()
        return None  # let the transport close

    def _hang_up(self) -> None:
        """The peer closed: tell the parser (it ends a close-delimited body)."""
        if not self._hung_up and not self.done.done():
            self._hung_up = True
            self._parser.receive_data(b"")
            self._read()

    def _read(self) -> None:
        """Take every complete event h11 has; finish on the end of the answer or an error."""
        parser = self._parser
        try:
            while True:
                event = parser.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    return
                if isinstance(event, h11.Data):
                    self._body += event.data
                    if len(self._body) > MAX_RESPONSE_BYTES:
                        self._finish(DeviceProtocolError("response too large"))
                        return
                elif isinstance(event, h11.Response):
                    self.status = event.status_code
                    self.fields = tuple(event.headers)
                elif isinstance(event, h11.EndOfMessage):
                    self._finish(None)
                    return
                elif isinstance(event, h11.ConnectionClosed):
                    self._finish(DeviceUnreachable("connection reset"))
                    return
                # h11.InformationalResponse (100 Continue, 102 Processing…): the answer follows
        except h11.RemoteProtocolError:
            if self._hung_up:  # an answer cut short (or no answer) before the peer closed
                self._finish(DeviceUnreachable("connection reset"))
            else:
                self._finish(DeviceProtocolError("not an HTTP answer"))

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
        if exc is None:  # a clean close the parser has not seen yet (no eof_received)
            self._hang_up()
        if not self.done.done():
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
        exchange = _Exchange(request, to.sent, done)
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
        return Reply(exchange.status, exchange.fields, exchange.body, rtt_ms)


def check_status(reply: Reply, device: str) -> None:
    """401/403 → credentials refused; any other non-2xx → the device erring."""
    if reply.status in (401, 403):
        raise DeviceAuthFailed("credentials refused", device=device, status=reply.status)
    if not 200 <= reply.status < 300:
        raise DeviceProtocolError(f"HTTP {reply.status}", device=device, status=reply.status)
