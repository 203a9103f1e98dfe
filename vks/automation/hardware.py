"""`Devices` over the real adapters: the conference pool (rooms on BBB and Jitsi, placed
by headroom, registered in the database), the terminal dialects and ONVIF cameras.

Device clients are built once per device (and rebuilt when its record changes) and kept:
an ONVIF session costs several SOAP calls to open, terminals share one HTTP client per
event loop. Credentials are resolved from their references (`env:NAME`, `inline:VALUE`)
when a client is built.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from adapters.camera.camera import Camera as CameraClient
from adapters.camera.onvif import OnvifCameraClient, preload_wsdl
from adapters.conference import BbbOptions, JitsiOptions, platform_for
from adapters.conference.gateway import GatewayStatus, SipVideoGateway
from adapters.conference.platform import Room, RoomLoad, RoomSpec, ServerLoad
from adapters.conference.pool import ConferencePool
from adapters.conference.room_registry import RoomRegistry
from adapters.conference.sip import normalise, same_address
from adapters.conference.transport import RetryPolicy, new_client
from adapters.terminal import terminal_for
from adapters.terminal.terminal import Terminal as TerminalClient
from booking.automation_store import RoomRecord, SessionRecord
from booking.errors import DeviceProtocolError
from booking.resources import Camera, ConferenceServer, Terminal
from vks import secrets
from vks.automation.devices import RoomGrant, TerminalCheck
from vks.automation.quiet import undo_onvif_logging_setup
from vks.automation.rooms import StoredRoomRegistry, record_of, room_of

TerminalFactory = Callable[[Terminal, str, httpx.AsyncClient], TerminalClient]

undo_onvif_logging_setup()

SHARED_STATUS_S = 0.1
"""Presence asks the server's SIP video gateway which terminals it has connected; one
answer serves every room of that server asking within this window (a bell storm polls a
thousand rooms: one status call per server and poll instead of one per room)."""


class GatewayPresence:
    """Which terminals each room has, from its server's gateway, shared across rooms."""

    def __init__(self, window_s: float = SHARED_STATUS_S) -> None:
        self.window_s = window_s
        self._asked: dict[str, tuple[float, asyncio.Future[GatewayStatus]]] = {}
        self._by_room: dict[str, tuple[GatewayStatus, dict[str, set[str]]]] = {}

    async def status(self, server_id: str, gateway: SipVideoGateway) -> GatewayStatus:
        now = time.monotonic()
        known = self._asked.get(server_id)
        if known is not None and now - known[0] < self.window_s:
            return await asyncio.shield(known[1])
        future: asyncio.Future[GatewayStatus] = asyncio.ensure_future(gateway.status())
        self._asked[server_id] = (now, future)
        return await asyncio.shield(future)

    async def callers(self, platform: Any, room: Room) -> frozenset[str] | None:
        """Normalised SIP addresses of the terminals in the room; None when the platform
        has no gateway (ask the platform itself then)."""
        gateway = getattr(platform, "gateway", None)
        if not isinstance(gateway, SipVideoGateway) or not gateway.configured:
            return None
        status = await self.status(room.server_id, gateway)
        by_room = self._callers_by_room(room.server_id, status)
        keys = {k.lower() for k in (room.room_id, *room.details.values()) if k}
        return frozenset(caller for key in keys for caller in by_room.get(key, ()))

    def _callers_by_room(self, server_id: str, status: GatewayStatus) -> dict[str, set[str]]:
        """The status's calls by room, indexed once per answer (`GatewayStatus.callers_in`
        scans every call of the server: a thousand rooms polling it scan it a thousand
        times)."""
        known = self._by_room.get(server_id)
        if known is not None and known[0] is status:
            return known[1]
        by_room: dict[str, set[str]] = {}
        for call in status.calls:
            by_room.setdefault(call.room, set()).add(call.caller)
        self._by_room[server_id] = (status, by_room)
        return by_room


CAMERA_CONCURRENCY = 32
"""ONVIF is CPU-heavy on the client (zeep parses every SOAP answer; a first call opens a
session with four of them): at a bell, cameras are moved this many at a time, so each call
finishes within its timeout instead of all of them timing out together."""


@functools.cache
def _unverified_tls() -> ssl.SSLContext:
    """One TLS context (self-signed certificates accepted) for every terminal's client:
    httpx builds a new one per client otherwise (~0.3 ms each, 2,000 clients at a bell)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def terminal_http_client() -> httpx.AsyncClient:
    """An HTTP client for one terminal. httpcore's connection pool does work proportional
    to its number of connections on every request, so one client shared by two thousand
    terminals dialling at the bell spends its time scanning its own pool (measured: 37 of
    46 s for 400 dials). A small client per terminal keeps that cost constant. Settings as
    the terminal transport's (`adapters.terminal.transport.new_client`): self-signed TLS
    accepted, no proxies from the environment, no redirects, no cookies kept (the
    dialects handle their session cookies themselves)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(5.0, pool=30.0),
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=2, keepalive_expiry=20),
        verify=_unverified_tls(),
        trust_env=False,
        follow_redirects=False,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )


def default_terminal_factory(timeout_s: float) -> TerminalFactory:
    def build(terminal: Terminal, password: str, client: httpx.AsyncClient) -> TerminalClient:
        return terminal_for(
            terminal.vendor,
            terminal.control_url,
            terminal.username,
            password,
            timeout_s,
            device_id=terminal.id,
            client=client,
        )

    return build


def build_pool(
    servers: Iterable[ConferenceServer],
    registry: RoomRegistry,
    client_for: Callable[[ConferenceServer], httpx.AsyncClient] | None = None,
    now: Callable[[], datetime] | None = None,
    retry: RetryPolicy | None = None,
) -> ConferencePool:
    """The pool over these servers, each with an HTTP client of its own: at a bell a
    thousand rooms are created and polled at once, and one shared connection pool would
    make every request queue behind (and scan) all the others'. A server whose secret
    reference cannot be resolved is in the pool as unusable, with the reason: the service
    runs on the others. `now` is the pool's clock (its servers' health and load ages,
    its reservations' ends): the automation's, when that is not the system's; `retry` how
    a server's requests are retried (the adapters' default policy without it)."""
    make = client_for or (lambda _server: new_client())
    servers = list(servers)
    unusable = {s.id: why for s in servers if (why := secrets.unresolved(s.secret_ref))}
    platforms = [
        platform_for(
            server,
            "" if server.id in unusable else secrets.resolve(server.secret_ref),
            make(server),
            bbb=None if retry is None else BbbOptions(retry=retry),
            jitsi=None if retry is None else JitsiOptions(retry=retry),
        )
        for server in servers
    ]
    if now is None:
        return ConferencePool(platforms, registry, unusable=unusable)
    return ConferencePool(platforms, registry, unusable=unusable, now=now)


@functools.lru_cache(maxsize=65536)
def _normalised(sip_address: str) -> str:
    """`sip.normalise`, remembered: presence compares every terminal's address on every
    poll."""
    return normalise(sip_address)


class HardwareDevices:
    def __init__(
        self,
        pool: ConferencePool,
        registry: StoredRoomRegistry,
        *,
        terminal_factory: TerminalFactory | None = None,
        timeout_s: float = 5.0,
        attempts: int = 2,
        camera_concurrency: int = CAMERA_CONCURRENCY,
    ) -> None:
        self.pool = pool
        self.registry = registry
        self.timeout_s = timeout_s
        self._terminal_factory = terminal_factory or default_terminal_factory(timeout_s)
        self.gateway_presence = GatewayPresence()
        self._rooms_loaded: dict[str, tuple[ServerLoad, dict[str, RoomLoad]]] = {}  # by server
        self.camera_gate = asyncio.Semaphore(camera_concurrency)
        self._terminals: dict[str, tuple[int, str, TerminalClient]] = {}
        self._http: dict[str, httpx.AsyncClient] = {}
        self._cameras: dict[str, tuple[int, str, CameraClient]] = {}

    # --- clients ---------------------------------------------------------------------------
    def terminal(self, terminal: Terminal) -> TerminalClient:
        known = self._terminals.get(terminal.id)
        if known is not None and known[:2] == (terminal.version, terminal.control_url):
            return known[2]
        http = self._http.get(terminal.id)
        if http is None:
            http = self._http[terminal.id] = terminal_http_client()
        client = self._terminal_factory(
            terminal, secrets.for_device(terminal.credentials_ref, terminal.id), http
        )
        self._terminals[terminal.id] = (terminal.version, terminal.control_url, client)
        return client

    def camera(self, camera: Camera) -> CameraClient:
        known = self._cameras.get(camera.id)
        if known is not None and known[:2] == (camera.version, camera.onvif_url):
            return known[2]
        client = OnvifCameraClient(
            camera.onvif_url,
            camera.username,
            secrets.for_device(camera.credentials_ref, camera.id),
            self.timeout_s,
            device_id=camera.id,
        )
        self._cameras[camera.id] = (camera.version, camera.onvif_url, client)
        return client

    # --- rooms -----------------------------------------------------------------------------
    @staticmethod
    def spec(session: SessionRecord) -> RoomSpec:
        sites = {t.site_id for t in session.terminals.values()}
        sites |= {p.school_id for p in session.participants}
        return RoomSpec(
            occurrence_id=session.occurrence_id,
            booking_id=session.booking_id,
            title=session.title,
            starts_at=session.start,
            ends_at=session.end,
            setup_starts_at=min(session.setup_start, session.start),
            school_ids=tuple(sorted(sites)),
            expected_participants=max(1, session.expected_participants),
            terminals=len(session.terminal_ids),
            teacher_name=session.teacher,
        )

    async def ensure_room(self, session: SessionRecord) -> RoomGrant:
        if session.room is None:  # read with the step's lease: the pool need not ask again
            self.registry.unclaimed(session.occurrence_id)
        try:
            room = await self.pool.open_room(self.spec(session), session.platform)
        finally:
            self.registry.forget_unclaimed(session.occurrence_id)
        record = record_of(room, created_at=room.opens_at)
        known = session.room
        if known is None or (known.server_id, known.room_id, known.sip_address) != (
            record.server_id,
            record.room_id,
            record.sip_address,
        ):
            await self.registry.record(room)
        return RoomGrant(record, created=room.created)

    async def presence(self, room: RoomRecord, session: SessionRecord) -> set[str]:
        platform_room = room_of(room)
        if platform_room is None:
            return set()  # claimed but never recorded: the start step re-creates it
        platform = self.pool.platform(platform_room.server_id)
        callers = await self.gateway_presence.callers(platform, platform_room)
        if callers is None:
            state = await self.pool.room_state(platform_room)
            if not state.exists:
                return set()
            callers = state.terminal_addresses
        return {
            terminal_id
            for terminal_id, terminal in session.terminals.items()
            if _normalised(terminal.sip_address) in callers
        }

    async def people_by_link(self, room: RoomRecord) -> int:
        """From the server's last load report, which `tidy` polls every round (BBB
        `getMeetings`: attendees not dialled in; Jitsi: the census less the gateway's
        calls): no call of its own, so a thousand live rooms cost nothing more per poll."""
        load = self.pool.last_load(room.server_id)
        if load is None or not load.answering:
            return 0
        known = self._rooms_loaded.get(room.server_id)
        if known is None or known[0] is not load:  # indexed once per report
            known = (load, {r.room_id: r for r in load.rooms})
            self._rooms_loaded[room.server_id] = known
        loaded = known[1].get(room.room_id)
        return max(0, loaded.participants - loaded.sip_calls) if loaded is not None else 0

    async def end_room(self, room: RoomRecord) -> None:
        platform_room = room_of(room)
        if platform_room is None:
            await self.registry.release(room.occurrence_id)
            return
        await self.pool.end_room(platform_room)

    async def capacity_problem(self, session: SessionRecord) -> str:
        return await self.pool.capacity_problem(self.spec(session), session.platform)

    async def tidy(self) -> None:
        await self.pool.refresh()  # a server back: its rooms moved elsewhere are ended

    def is_room_address(self, address: str, room: RoomRecord) -> bool:
        return bool(room.sip_address) and same_address(address, room.sip_address)

    # --- terminals -------------------------------------------------------------------------
    async def dial(self, terminal: Terminal, room: RoomRecord) -> None:
        if not room.sip_address:
            raise DeviceProtocolError(
                f"room {room.room_id} on {room.server_id} has no SIP address to dial"
            )
        await self.terminal(terminal).dial(room.sip_address)

    async def current_call(self, terminal: Terminal) -> str | None:
        status = await self.terminal(terminal).call_status()
        return status.remote_number if status.in_call else None

    async def hang_up(self, terminal: Terminal) -> None:
        await self.terminal(terminal).hang_up()

    async def reset(self, terminal: Terminal) -> None:
        self._terminals.pop(terminal.id, None)
        http = self._http.pop(terminal.id, None)
        if http is not None:
            await http.aclose()
        await self.terminal(terminal).hang_up()

    async def check_terminal(self, terminal: Terminal) -> TerminalCheck:
        health = await self.terminal(terminal).health()
        return TerminalCheck(
            reachable=health.reachable and health.error_code != "device_auth_failed",
            registered=health.sip_registered is not False,
            call_address=(health.call_remote or "in a call") if health.in_call else None,
            detail=health.error,
        )

    # --- cameras ---------------------------------------------------------------------------
    async def goto_preset(self, camera: Camera, preset: str) -> None:
        async with self.camera_gate:
            await self.camera(camera).goto_preset(preset)

    async def go_home(self, camera: Camera) -> None:
        async with self.camera_gate:
            await self.camera(camera).go_home()

    async def check_camera(self, camera: Camera) -> str:
        async with self.camera_gate:
            status = await self.camera(camera).status()
        return status.error or ""

    async def warm_up(self) -> None:
        """Parse the ONVIF WSDLs now, so the first camera move at a bell does not pay."""
        await preload_wsdl()

    async def close(self) -> None:
        cameras = [client for _, _, client in self._cameras.values()]
        self._cameras.clear()
        await asyncio.gather(*(camera.close() for camera in cameras))
        for http in self._http.values():
            await http.aclose()
        self._http.clear()
        self._terminals.clear()
