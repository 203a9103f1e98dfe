"""A Poly (VideoOS REST) codec: `GET /rest/system/status` (SIP, camera, temperature as
self-check items) and `GET /rest/conferences` (the call), with the session cookie.

The API has no single status document, so a Poly costs two requests per poll, plus a
login (`POST /rest/session`) when the session is new or has expired (then a 401).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from adapters.probe.http import HttpProbeClient, Target, check_status, target
from booking.errors import DeviceAuthFailed, DeviceProtocolError
from booking.health import TerminalStatus

_JSON = {"Accept": "application/json"}


class PolyProbe:
    __slots__ = ("_calls", "_client", "_cookie", "_login", "_login_body", "_status", "device")

    def __init__(
        self, client: HttpProbeClient, url: str, username: str, password: str, *, device: str
    ) -> None:
        self._client = client
        self._login = target(
            "POST", url, "/rest/session", {**_JSON, "Content-Type": "application/json"}
        )
        self._login_body = json.dumps({"user": username, "password": password}).encode()
        self._status = target("GET", url, "/rest/system/status", _JSON)
        self._calls = target("GET", url, "/rest/conferences", _JSON)
        self._cookie = ""
        self.device = device

    async def __call__(self) -> tuple[TerminalStatus, float]:
        if not self._cookie:
            await self.login()
        try:
            return await self._read()
        except DeviceAuthFailed:
            self._cookie = ""
            await self.login()
            return await self._read()

    async def login(self) -> None:
        reply = await self._client.send(
            self._login, self._login.request(self._login_body), device=self.device
        )
        check_status(reply, self.device)
        session = reply.cookies.get("session_id")
        if not session:
            raise DeviceProtocolError("login answered without a session", device=self.device)
        self._cookie = f"Cookie: session_id={session}\r\n"

    async def _get(self, to: Target) -> Any:
        reply = await self._client.send(
            to, to.request(extra_headers=self._cookie), device=self.device
        )
        check_status(reply, self.device)
        try:
            return json.loads(reply.body), reply.rtt_ms
        except ValueError as exc:
            raise DeviceProtocolError(f"unreadable answer: {exc}", device=self.device) from None

    async def _read(self) -> tuple[TerminalStatus, float]:
        (items, rtt_ms), (conferences, _) = await asyncio.gather(
            self._get(self._status), self._get(self._calls)
        )
        try:
            return parse(items, conferences), rtt_ms
        except (TypeError, AttributeError, ValueError) as exc:
            raise DeviceProtocolError(f"unexpected answer: {exc}", device=self.device) from None


def parse(items: list[dict[str, Any]], conferences: list[dict[str, Any]]) -> TerminalStatus:
    by_name = {str(i.get("name")): i for i in items}

    def green(name: str) -> bool | None:
        item = by_name.get(name)
        if item is None:
            return None
        return "green" in (item.get("stateList") or [])

    temperature = by_name.get("temperature", {}).get("value")
    remote = ""
    in_call = False
    for conference in conferences:
        for connection in conference.get("connections") or []:
            in_call = True
            remote = remote or str(connection.get("address") or "")
    return TerminalStatus(
        sip_registration="Registered" if green("sip") in (True, None) else "Failed",
        in_call=in_call,
        call_remote=remote,
        temperature_c=float(temperature) if temperature is not None else None,
        camera_connected=green("camera"),
    )
