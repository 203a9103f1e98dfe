"""Run simulated devices as real servers on loopback sockets.

One `SimHost` is one process-worth of simulators: one HTTP server (aiohttp's low-level
`aiohttp.web.Server`, a public protocol factory for `loop.create_server`) listening on one
socket per device, so each virtual device has its own port (clients such as the ONVIF
libraries hard-code paths like `/onvif/device_service`, so devices cannot share a port
behind path prefixes). Requests reach the devices as ASGI calls (`scope`, `receive`,
`send`): the device code is plain ASGI and does not depend on the server under it.

- `host.add(device, port=0)` binds a listener and returns the port.
- A device whose `faults.offline` is set has its listener closed (connection refused);
  while it is flapping-down or rebooting, new connections are reset on accept and the open
  ones are cut.
- Every device port also serves the control API under `/_sim/` (see `control.py`);
  an optional dedicated control port serves it too, and stays up when devices go offline.

Everything here uses public interfaces only (asyncio's `Protocol`/`Transport` and
`create_server`, aiohttp's `web.Server`, `BaseRequest` and responses), so a server upgrade
cannot silently change how faults behave. Ten thousand listeners cost one `asyncio.Server`
each and nothing per idle device.

Tests use `SimHost` as a context manager (a background thread with its own event loop);
the `vks-sim` command runs it in the foreground.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol, cast
from urllib.parse import unquote

from aiohttp import HttpVersion11, web

from simulators.faults import Faults

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 0.25
KEEP_ALIVE_S = 30.0
BACKLOG = 2048
_ASGI = {"version": "3.0", "spec_version": "2.3"}


class SimDevice(Protocol):
    """A simulated device or server: an ASGI app with an identity and a fault state."""

    id: str
    kind: str
    faults: Faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    def describe(self) -> dict[str, Any]:
        """Extra facts for the listing endpoint (model, SIP address, rooms…)."""
        ...


class _Gate(asyncio.Protocol):
    """Stands between a device's listener and the HTTP protocol: resets a connection on
    accept while the device is unreachable (rebooting, flapping down), and keeps the open
    connections of each port so that a fault can cut them."""

    __slots__ = ("_host", "_http", "_port", "_transport")

    def __init__(self, host: SimHost, port: int) -> None:
        self._host = host
        self._port = port
        self._http: asyncio.Protocol | None = None
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        device = self._host.device_on_port(self._port)
        if device is not None and device.faults.unreachable():
            # uvloop's transports are not asyncio.Transport subclasses: no isinstance here
            cast(asyncio.Transport, transport).abort()
            return
        self._transport = transport
        self._host._opened(self._port, transport)
        self._http = self._host._http_protocol()
        self._http.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._http is None:
            return
        self._host._closed(self._port, self._transport)
        self._http.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._http is not None:
            self._http.data_received(data)

    def eof_received(self) -> bool | None:
        return self._http.eof_received() if self._http is not None else None

    def pause_writing(self) -> None:
        if self._http is not None:
            self._http.pause_writing()

    def resume_writing(self) -> None:
        if self._http is not None:
            self._http.resume_writing()


def bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY on accepted sockets only when proto is TCP;
    # without it every kept-alive answer waits ~40 ms for the delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


class SimHost:
    """Hosts many simulated devices, each on its own loopback port."""

    def __init__(self, bind_host: str = "127.0.0.1", control_port: int | None = None) -> None:
        self.bind_host = bind_host
        self._devices: dict[str, SimDevice] = {}
        self._ports: dict[str, int] = {}
        self._by_port: dict[int, SimDevice] = {}
        self._control_port_request = control_port
        self.control_port: int | None = None
        self._http: web.Server | None = None
        self._listeners: dict[int, asyncio.AbstractServer] = {}
        self._opening: set[int] = set()
        self._connections: dict[int, set[asyncio.BaseTransport]] = {}
        self._port_of: dict[asyncio.BaseTransport, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._pending: list[tuple[SimDevice, socket.socket]] = []
        self._tasks: set[asyncio.Future[None]] = set()

    # --- registry -----------------------------------------------------------------
    def device_on_port(self, port: int) -> SimDevice | None:
        return self._by_port.get(port)

    def device(self, device_id: str) -> SimDevice:
        return self._devices[device_id]

    def devices(self) -> list[SimDevice]:
        return list(self._devices.values())

    def port_of(self, device_id: str) -> int:
        return self._ports[device_id]

    def url_of(self, device_id: str) -> str:
        return f"http://{self.bind_host}:{self._ports[device_id]}"

    def add(self, device: SimDevice, port: int = 0) -> int:
        """Bind a listener for the device and return its port (works before or after start)."""
        if device.id in self._devices:
            raise ValueError(f"device {device.id!r} already hosted")
        if port in self._by_port:
            raise ValueError(f"port {port} is {self._by_port[port].id!r}'s")
        sock = bind(self.bind_host, port)
        # An offline device keeps its port with its listener closed, so the system may offer
        # that port again: given to another device, the offline one's sync would close the
        # newcomer's listener. Hold such sockets until another port comes.
        held: list[socket.socket] = []
        while sock.getsockname()[1] in self._by_port:
            held.append(sock)
            sock = bind(self.bind_host, 0)
        for taken in held:
            taken.close()
        real_port = sock.getsockname()[1]
        self._devices[device.id] = device
        self._ports[device.id] = real_port
        self._by_port[real_port] = device
        if hasattr(device, "attach"):
            device.attach(self)
        if self._http is None or self._loop is None:
            self._pending.append((device, sock))
        elif self._in_loop_thread():
            self._track(asyncio.ensure_future(self._open_listener(sock)))
        else:
            asyncio.run_coroutine_threadsafe(self._open_listener(sock), self._loop).result()
        return real_port

    def _in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    # --- listeners and connections -------------------------------------------------
    async def _open_listener(self, sock: socket.socket) -> None:
        port = sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        self._opening.add(port)  # not to be reopened by a sync meanwhile
        try:
            self._listeners[port] = await loop.create_server(
                lambda: _Gate(self, port), sock=sock, backlog=BACKLOG
            )
        finally:
            self._opening.discard(port)

    def _close_listener(self, port: int) -> None:
        listener = self._listeners.pop(port, None)
        if listener is None:
            return
        listener.close()
        self._drop(port)

    def _http_protocol(self) -> asyncio.Protocol:
        assert self._http is not None
        return cast(asyncio.Protocol, self._http())

    def _opened(self, port: int, transport: asyncio.BaseTransport) -> None:
        self._connections.setdefault(port, set()).add(transport)
        self._port_of[transport] = port

    def _closed(self, port: int, transport: asyncio.BaseTransport | None) -> None:
        self._port_of.pop(cast(asyncio.BaseTransport, transport), None)
        open_here = self._connections.get(port)
        if open_here is not None:
            open_here.discard(cast(asyncio.BaseTransport, transport))
            if not open_here:
                del self._connections[port]

    def _drop(self, port: int) -> None:
        for transport in list(self._connections.get(port, ())):
            cast(asyncio.Transport, transport).abort()

    def drop_connections(self, device_id: str) -> None:
        """Reset the device's open connections, as a reboot or a link flap does (call from the
        host's event loop, e.g. from a device handling a request)."""
        self._drop(self._ports[device_id])

    # --- requests: aiohttp in, ASGI to the devices ----------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        port = self._port_of.get(request.transport)  # type: ignore[arg-type]
        raw_path, _, query = request.raw_path.partition("?")
        version = request.version
        scope: Scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1" if version == HttpVersion11 else f"{version[0]}.{version[1]}",
            "method": request.method,
            "scheme": "http",
            "path": unquote(raw_path) if "%" in raw_path else raw_path,
            "raw_path": raw_path.encode("utf-8", "surrogateescape"),
            "query_string": query.encode("utf-8", "surrogateescape"),
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.raw_headers],
            "server": (self.bind_host, port) if port is not None else None,
            "client": None,  # no device needs it: one system call per request saved
        }
        exchange = _AsgiExchange(request)
        await self.app(scope, exchange.receive, exchange.send)
        return await exchange.response()

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point: the control API, or the device listening on the port."""
        if scope["type"] != "http":
            return
        port = scope["server"][1] if scope.get("server") else None
        path: str = scope["path"]
        device = self._by_port.get(port) if port is not None else None
        if path.startswith("/_sim/") or path == "/_sim" or device is None:
            from simulators.control import handle_control

            await handle_control(self, device, scope, receive, send)
            return
        await device.faults.delay()
        await device(scope, receive, send)

    # --- offline faults: close and reopen listeners ----------------------------------
    async def _sync_listeners(self) -> None:
        while True:
            self.sync_listeners_once()
            await asyncio.sleep(SYNC_INTERVAL_S)

    def sync_listeners_once(self) -> None:
        if self._http is None:
            return
        for device_id, device in self._devices.items():
            port = self._ports[device_id]
            is_open = port in self._listeners or port in self._opening
            if device.faults.offline and is_open:
                self._close_listener(port)
            elif is_open and device.faults.unreachable():
                self._drop(port)  # rebooting or flapping: cut kept-alive connections
            elif not device.faults.offline and not is_open and not self._is_pending(device):
                try:
                    sock = bind(self.bind_host, port)
                except OSError as exc:  # port taken meanwhile: try again next round
                    log.warning("cannot reopen port %s for %s: %s", port, device_id, exc)
                    continue
                self._track(asyncio.ensure_future(self._open_listener(sock)))

    def _track(self, task: asyncio.Future[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _is_pending(self, device: SimDevice) -> bool:
        return any(d is device for d, _ in self._pending)

    # --- running ------------------------------------------------------------------
    async def serve(self) -> None:
        """Run until stopped: `stop()`, or SIGINT/SIGTERM in the foreground (`vks-sim`)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopping = asyncio.Event()
        self._http = web.Server(self._handle, keepalive_timeout=KEEP_ALIVE_S, access_log=None)
        if self._control_port_request is not None:
            sock = bind(self.bind_host, self._control_port_request)
            self.control_port = sock.getsockname()[1]
            await self._open_listener(sock)
        pending, self._pending = self._pending, []
        for _device, sock in pending:
            await self._open_listener(sock)
        sync = asyncio.ensure_future(self._sync_listeners())
        foreground = threading.current_thread() is threading.main_thread()
        if foreground:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._stopping.set)
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            if foreground:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            sync.cancel()
            for port in list(self._listeners):
                self._close_listener(port)
            await self._http.shutdown(timeout=1.0)

    def start(self, loop_factory: LoopFactory | None = None) -> SimHost:
        """Start in a background thread (on a loop from `loop_factory`, asyncio's by default);
        returns once every listener accepts, or raises what kept it from starting (a control
        port already taken: OSError)."""
        failed: list[Exception] = []

        def run() -> None:
            try:
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    runner.run(self.serve())
            except Exception as exc:  # handed to the thread that started the host
                failed.append(exc)
                self._started.set()

        self._thread = threading.Thread(target=run, name="sim-host", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout=10):
            raise RuntimeError("simulator host did not start")
        if failed:
            self._thread.join()
            self._thread = None
            raise failed[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Run a function in the host's event loop (thread-safe)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    def __enter__(self) -> SimHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _AsgiExchange:
    """One request as an ASGI `receive`/`send` pair over aiohttp: the body is read whole
    (device requests are small), the answer is buffered into one `web.Response` unless the
    device streams it (`more_body`), and an answer never started becomes a 500, as under any
    ASGI server."""

    __slots__ = ("_body", "_headers", "_read", "_request", "_status", "_streamed")

    def __init__(self, request: web.BaseRequest) -> None:
        self._request = request
        self._read = False
        self._status = 0
        self._headers: list[tuple[str, str]] = []  # repeated names kept, in order
        self._streamed: web.StreamResponse | None = None
        self._body = bytearray()

    async def receive(self) -> Message:
        if self._read:
            return {"type": "http.disconnect"}
        self._read = True
        return {"type": "http.request", "body": await self._request.read(), "more_body": False}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = int(message["status"])
            for name, value in message.get("headers", ()):
                self._headers.append(
                    (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                )
            return
        if message["type"] != "http.response.body":
            return
        body = bytes(message.get("body", b""))
        if message.get("more_body") and self._streamed is None:
            headers, close = self._headers_and_close()
            self._streamed = web.StreamResponse(status=self._status, headers=headers)
            if close:
                self._streamed.force_close()
            await self._streamed.prepare(self._request)
        if self._streamed is not None:
            await self._streamed.write(body)
            if not message.get("more_body"):
                await self._streamed.write_eof()
            return
        self._body += body

    def _headers_and_close(self) -> tuple[list[tuple[str, str]], bool]:
        """The device's headers, and whether it asked to close the connection (aiohttp writes
        `Connection` itself from `force_close()`)."""
        connection = [v.lower() for k, v in self._headers if k.lower() == "connection"]
        close = "close" in connection
        if close:
            return [(k, v) for k, v in self._headers if k.lower() != "connection"], True
        return self._headers, False

    async def response(self) -> web.StreamResponse:
        if self._streamed is not None:
            return self._streamed
        if not self._status:
            return web.Response(status=500, text="Internal Server Error")
        headers, close = self._headers_and_close()
        response = web.Response(status=self._status, body=bytes(self._body), headers=headers)
        if close:
            response.force_close()
        return response


async def read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def respond(
    send: Send,
    status: int,
    body: bytes | str,
    content_type: str = "text/plain; charset=utf-8",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    data = body.encode() if isinstance(body, str) else body
    all_headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(data)).encode()),
    ]
    all_headers.extend(headers or [])
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": data})


async def respond_json(send: Send, status: int, payload: Any) -> None:
    await respond(send, status, json.dumps(payload, ensure_ascii=False), "application/json")
