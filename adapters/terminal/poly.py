"""Poly (Polycom) Studio X / G7500 terminals over the VideoOS REST API.

    POST   /rest/session {"user","password"}   → session cookie `session_id` (403/401 refused)
    POST   /rest/conferences {"address","dialType":"VIDEO"}   → {"href": "/rest/conferences/<id>"}
    GET    /rest/conferences                    active calls, [] when idle
    DELETE /rest/conferences/{id}               hang up
    GET    /rest/system, /rest/system/status, /rest/system/sipservers,
           /rest/current/devicemanagement/devices                      health

The session cookie is kept per terminal (the shared client keeps none) and renewed once when
a request is refused with 401 (a refused request did nothing, so repeating it is safe). As
with Cisco, Dial is preceded by a call check and never repeated after a lost answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from adapters.conference.sip import same_address
from adapters.terminal.terminal import (
    CallEnd,
    CallInfo,
    CallState,
    CallStatus,
    Peripheral,
    TerminalHealth,
)
from adapters.terminal.transport import (
    DEFAULT_TIMEOUT_S,
    Exchange,
    MaybeSent,
    send,
    shared_client,
)
from booking.errors import (
    DeviceAuthFailed,
    DeviceBusy,
    DeviceError,
    DeviceProtocolError,
    DeviceUnreachable,
)

SESSION_COOKIE = "session_id"
STATES = {
    "dialing": CallState.DIALLING,
    "dialling": CallState.DIALLING,
    "connecting": CallState.CONNECTING,
    "ringing": CallState.CONNECTING,
    "connected": CallState.CONNECTED,
}


class PolyRestTerminal:
    def __init__(
        self,
        device_id: str,
        url: str,
        username: str,
        password: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        client: httpx.AsyncClient | None = None,
        attempts: int = 2,
    ) -> None:
        self.device_id = device_id
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self._client = client
        self.attempts = attempts
        self._session: str | None = None
        self._login_lock = asyncio.Lock()

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client or shared_client()

    # --- session and HTTP -------------------------------------------------------------------------
    async def _login(self, stale: str | None) -> str:
        async with self._login_lock:
            if self._session is not None and self._session != stale:
                return self._session  # another request logged in meanwhile
            exchange = await send(
                self.client,
                "POST",
                f"{self.url}/rest/session",
                json={"user": self.username, "password": self.password},
                device=self.device_id,
                timeout_s=self.timeout_s,
                idempotent=True,
                attempts=self.attempts,
            )
            response = exchange.response
            session = response.cookies.get(SESSION_COOKIE)
            if not session and response.status_code == 200:
                session = _dict(_json(response, self.device_id)).get("sessionId")
            if response.status_code != 200 or not session:
                raise DeviceProtocolError(
                    f"{self.device_id}: login answered HTTP {response.status_code} without a "
                    "session",
                    device=self.device_id,
                )
            self._session = str(session)
            return self._session

    async def _request(
        self, method: str, path: str, *, idempotent: bool, json: Any = None
    ) -> Exchange:
        session = self._session or await self._login(None)
        for renewed in (False, True):
            try:
                return await send(
                    self.client,
                    method,
                    f"{self.url}{path}",
                    json=json,
                    headers={"Cookie": f"{SESSION_COOKIE}={session}"},
                    device=self.device_id,
                    timeout_s=self.timeout_s,
                    idempotent=idempotent,
                    attempts=self.attempts,
                )
            except DeviceAuthFailed:
                if renewed:
                    raise
                session = await self._login(session)
        raise AssertionError("unreachable")

    async def _get(self, path: str) -> Any:
        exchange = await self._request("GET", path, idempotent=True)
        if exchange.response.status_code != 200:
            raise DeviceProtocolError(
                f"{self.device_id}: HTTP {exchange.response.status_code} for {path}",
                device=self.device_id,
            )
        return _json(exchange.response, self.device_id)

    # --- calls --------------------------------------------------------------------------------
    async def _conferences(self) -> list[dict[str, Any]]:
        data = await self._get("/rest/conferences")
        if not isinstance(data, list):
            raise DeviceProtocolError(
                f"{self.device_id}: the conference list is not a list", device=self.device_id
            )
        return [c for c in data if isinstance(c, dict)]

    async def call_status(self) -> CallStatus:
        return _call_status(await self._conferences())

    async def dial(self, sip_uri: str) -> CallInfo:
        current = await self.call_status()
        if current.in_call:
            if same_address(current.remote_number, sip_uri):
                return CallInfo(current.call_id, current.remote_number)
            raise DeviceBusy(
                f"{self.device_id}: already in a call with {current.remote_number}",
                device=self.device_id,
                remote=current.remote_number,
            )
        try:
            exchange = await self._request(
                "POST",
                "/rest/conferences",
                idempotent=False,
                json={"address": sip_uri, "dialType": "VIDEO"},
            )
        except MaybeSent:
            after = await self.call_status()
            if after.in_call and same_address(after.remote_number, sip_uri):
                return CallInfo(after.call_id, after.remote_number)
            raise
        response = exchange.response
        if response.status_code == 409:
            reason = _dict(_json(response, self.device_id)).get("reason", "busy")
            raise DeviceBusy(f"{self.device_id}: {reason}", device=self.device_id)
        if response.status_code not in (200, 201, 202):
            raise DeviceProtocolError(
                f"{self.device_id}: dial answered HTTP {response.status_code}",
                device=self.device_id,
            )
        href = str(_dict(_json(response, self.device_id)).get("href", ""))
        return CallInfo(href.rstrip("/").rsplit("/", 1)[-1], sip_uri)

    async def hang_up(self) -> None:
        for conference in await self._conferences():
            call_id = str(conference.get("id", ""))
            try:
                exchange = await self._request(
                    "DELETE", f"/rest/conferences/{call_id}", idempotent=True
                )
            except MaybeSent:
                continue
            if exchange.response.status_code not in (200, 202, 204, 404):
                raise DeviceProtocolError(
                    f"{self.device_id}: hang-up answered HTTP {exchange.response.status_code}",
                    device=self.device_id,
                )
        if (await self.call_status()).in_call:
            raise DeviceUnreachable(
                f"{self.device_id}: the call could not be ended", device=self.device_id
            )

    async def last_call_end(self) -> CallEnd | None:
        return None  # the REST API keeps no call history we rely on

    # --- health -------------------------------------------------------------------------------
    async def health(self) -> TerminalHealth:
        try:
            answers, round_trip = await _timed(
                asyncio.gather(
                    self._get("/rest/system"),
                    self._get("/rest/system/sipservers"),
                    self._get("/rest/current/devicemanagement/devices"),
                    self._get("/rest/system/status"),
                    self._conferences(),
                )
            )
            system, sip, devices, status, conferences = answers
        except DeviceUnreachable as error:
            return TerminalHealth(False, error_code=error.code, error=error.message)
        except DeviceError as error:
            return TerminalHealth(True, error_code=error.code, error=error.message)
        system = _dict(system)
        registrations = [
            str(s.get("registrationStatus", "")).upper() for s in sip if isinstance(s, dict)
        ]
        peripherals = tuple(
            Peripheral(
                kind=str(d.get("deviceType", "")).lower(),
                name=str(d.get("productName", "")),
                connected=str(d.get("deviceState", "")).upper() == "CONNECTED",
            )
            for d in devices
            if isinstance(d, dict)
        )
        cameras = [p.connected for p in peripherals if p.kind == "camera"]
        call = _call_status(conferences)
        temperature = next(
            (
                item.get("value")
                for item in status
                if isinstance(item, dict) and item.get("name") == "temperature"
            ),
            None,
        )
        state = str(system.get("state", ""))
        return TerminalHealth(
            reachable=True,
            round_trip_ms=round_trip,
            sip_registered=("REGISTERED" in registrations) if registrations else None,
            in_call=call.in_call,
            call_remote=call.remote_number,
            uptime_s=_int(system.get("uptime")),
            temperature_c=float(temperature) if isinstance(temperature, int | float) else None,
            standby=(state.upper() != "READY") if state else None,
            camera_connected=any(cameras) if cameras else None,
            peripherals=peripherals,
            model=str(system.get("model", "")),
            software=str(system.get("softwareVersion", "")),
            diagnostics=tuple(
                f"{item.get('name')}: {','.join(map(str, item.get('stateList', [])))}"
                for item in status
                if isinstance(item, dict) and "green" not in item.get("stateList", [])
            ),
        )


async def _timed(awaitable: Any) -> tuple[Any, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await awaitable
    return result, (loop.time() - started) * 1000


def _call_status(conferences: list[dict[str, Any]]) -> CallStatus:
    for conference in conferences:
        for connection in conference.get("connections") or []:
            if not isinstance(connection, dict):
                continue
            state = STATES.get(str(connection.get("state", "")).lower())
            if state is None:
                continue
            return CallStatus(
                state=state,
                call_id=str(conference.get("id", "")),
                remote_number=str(connection.get("address", "")),
                duration_s=_int(connection.get("durationSeconds")) or 0,
            )
    return CallStatus(CallState.IDLE)


def _json(response: httpx.Response, device: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise DeviceProtocolError(f"{device}: an answer that is not JSON", device=device) from exc


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
