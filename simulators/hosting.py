"""Run simulated devices as real servers on loopback sockets.

One `SimHost` is one process-worth of simulators: a uvicorn server whose ASGI entry point
dispatches by the *local port* of the connection, so each virtual device has its own
port (clients such as the ONVIF libraries hard-code paths like `/onvif/device_service`,
so devices cannot share a port behind path prefixes).

- `host.add(device, port=0)` binds a listener and returns the port.
- A device whose `faults.offline` is set has its listener closed (connection refused);
  while it is flapping-down or rebooting, new connections are reset on accept.
- Every device port also serves the control API under `/_sim/` (see `control.py`);
  an optional dedicated control port serves it too, and stays up when devices go offline.

Tests use `SimHost` as a context manager (a background thread with its own event loop);
the `vks-sim` command runs it in the foreground.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import uvicorn

from simulators.faults import Faults

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 0.25


class SimDevice(Protocol):
    """A simulated device or server: an ASGI app with an identity and a fault state."""

    id: str
    kind: str
    faults: Faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    def describe(self) -> dict[str, Any]:
        """Extra facts for the listing endpoint (model, SIP address, rooms…)."""
        ...


class _Server(uvicorn.Server):
    """A uvicorn server that can open and close listeners while it runs."""

    def __init__(self, config: uvicorn.Config, host: SimHost) -> None:
        super().__init__(config)
        self.sim_host = host
        self.listeners: dict[int, asyncio.base_events.Server] = {}

    def install_signal_handlers(self) -> None:  # signals belong to the caller
        # uvicorn >= 0.29 has no install_signal_handlers(): SIGINT/SIGTERM end the server
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.handle_exit)

    def _protocol_factory(self) -> Callable[[], asyncio.Protocol]:
        config = self.config
        state = self.server_state
        sim_host = self.sim_host

        def create() -> asyncio.Protocol:
            protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=state, app_state=self.lifespan.state
            )
            original = protocol.connection_made

            def connection_made(transport: asyncio.BaseTransport) -> None:
                port = transport.get_extra_info("sockname")[1]
                device = sim_host.device_on_port(port)
                if device is not None and device.faults.unreachable():
                    protocol.connection_lost = lambda exc: None  # type: ignore[method-assign]
                    assert isinstance(transport, asyncio.Transport)
                    transport.abort()  # connection reset: rebooting or flapping down
                    return
                original(transport)

            protocol.connection_made = connection_made  # type: ignore[method-assign]
            return protocol

        return create

    async def open_listener(self, sock: socket.socket) -> None:
        port = sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self._protocol_factory(), sock=sock, backlog=2048)
        self.listeners[port] = server

    def close_listener(self, port: int) -> None:
        server = self.listeners.pop(port, None)
        if server is None:
            return
        server.close()
        self.drop_connections(port)

    def drop_connections(self, port: int) -> None:
        """Reset every open connection to this port (kept-alive ones included)."""
        for protocol in list(self.server_state.connections):
            transport = getattr(protocol, "transport", None)
            if transport is not None and transport.get_extra_info("sockname")[1] == port:
                transport.abort()


def bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY on accepted sockets only when proto is TCP;
    # without it every kept-alive answer waits ~40 ms for the delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
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
        self._server: _Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
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
        sock = bind(self.bind_host, port)
        real_port = sock.getsockname()[1]
        self._devices[device.id] = device
        self._ports[device.id] = real_port
        self._by_port[real_port] = device
        if hasattr(device, "attach"):
            device.attach(self)
        if self._server is None or self._loop is None:
            self._pending.append((device, sock))
        elif self._in_loop_thread():
            self._track(asyncio.ensure_future(self._server.open_listener(sock)))
        else:
            asyncio.run_coroutine_threadsafe(self._server.open_listener(sock), self._loop).result()
        return real_port

    def _in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def drop_connections(self, device_id: str) -> None:
        """Reset the device's open connections, as a reboot or a link flap does (call from the
        host's event loop, e.g. from a device handling a request)."""
        if self._server is not None:
            self._server.drop_connections(self._ports[device_id])

    # --- the ASGI entry point ------------------------------------------------------
    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
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
        assert self._server is not None
        while not self._server.should_exit:
            self.sync_listeners_once()
            await asyncio.sleep(SYNC_INTERVAL_S)

    def sync_listeners_once(self) -> None:
        server = self._server
        if server is None:
            return
        for device_id, device in self._devices.items():
            port = self._ports[device_id]
            is_open = port in server.listeners
            if device.faults.offline and is_open:
                server.close_listener(port)
            elif is_open and device.faults.unreachable():
                server.drop_connections(port)  # rebooting or flapping: cut kept-alive connections
            elif not device.faults.offline and not is_open and not self._is_pending(device):
                try:
                    sock = bind(self.bind_host, port)
                except OSError as exc:  # port taken meanwhile: try again next round
                    log.warning("cannot reopen port %s for %s: %s", port, device_id, exc)
                    continue
                self._track(asyncio.ensure_future(server.open_listener(sock)))

    def _track(self, task: asyncio.Future[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _is_pending(self, device: SimDevice) -> bool:
        return any(d is device for d, _ in self._pending)

    # --- running ------------------------------------------------------------------
    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            lifespan="on",
            interface="asgi3",
            proxy_headers=False,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
            limit_concurrency=None,
        )

    async def serve(self) -> None:
        """Run until stopped (foreground use: the `vks-sim` command)."""
        self._loop = asyncio.get_running_loop()
        server = _Server(self._config(), self)
        self._server = server
        server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)
        await server.lifespan.startup()
        if self._control_port_request is not None:
            sock = bind(self.bind_host, self._control_port_request)
            self.control_port = sock.getsockname()[1]
            await server.open_listener(sock)
        pending, self._pending = self._pending, []
        for _device, sock in pending:
            await server.open_listener(sock)
        sync = asyncio.ensure_future(self._sync_listeners())
        self._started.set()
        if threading.current_thread() is threading.main_thread():
            server.install_signal_handlers()
        try:
            while not server.should_exit:
                await asyncio.sleep(0.1)
        finally:
            sync.cancel()
            for port in list(server.listeners):
                server.close_listener(port)
            await server.lifespan.shutdown()

    def start(self) -> SimHost:
        """Start in a background thread; returns once every listener accepts."""

        def run() -> None:
            asyncio.run(self.serve())

        self._thread = threading.Thread(target=run, name="sim-host", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout=10):
            raise RuntimeError("simulator host did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
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


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


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
