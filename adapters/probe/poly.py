"""A Poly (VideoOS REST) codec: `GET /rest/system/status` (SIP, camera, temperature as
self-check items) and `GET /rest/conferences` (the call), with the session cookie.

The API has no single status document, so a Poly costs two requests per poll, plus a
login (`POST /rest/session`) when the session is new or has expired. The cookie is kept
per probe and sent by hand: the shared client's cookie jar would mix devices that share
a host name.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from adapters.probe.transport import check_status, send
from booking.errors import DeviceAuthFailed, DeviceProtocolError
from booking.health import TerminalStatus


class PolyProbe:
    __slots__ = ("_base", "_client", "_cookie", "_password", "_username", "device")

    def __init__(
        self, client: httpx.AsyncClient, url: str, username: str, password: str, *, device: str
    ) -> None:
        self._client = client
        self._base = url.rstrip("/")
        self._username = username
        self._password = password
        self._cookie = ""
        self.device = device

    async def __call__(self) -> tuple[TerminalStatus, float]:
        if not self._cookie:
            await self._login()
        try:
            return await self._read()
        except DeviceAuthFailed:
            self._cookie = ""
            await self._login()
            return await self._read()

    async def _login(self) -> None:
        response, _ = await send(
            self._client,
            "POST",
            f"{self._base}/rest/session",
            device=self.device,
            json={"user": self._username, "password": self._password},
        )
        check_status(response, self.device)
        session = response.cookies.get("session_id")
        if not session:
            raise DeviceProtocolError("login answered without a session", device=self.device)
        self._cookie = f"session_id={session}"

    async def _read(self) -> tuple[TerminalStatus, float]:
        headers = {"Cookie": self._cookie}
        (status, rtt_ms), (calls, _) = await asyncio.gather(
            send(
                self._client,
                "GET",
                f"{self._base}/rest/system/status",
                device=self.device,
                headers=headers,
            ),
            send(
                self._client,
                "GET",
                f"{self._base}/rest/conferences",
                device=self.device,
                headers=headers,
            ),
        )
        check_status(status, self.device)
        check_status(calls, self.device)
        try:
            return parse(status.json(), calls.json()), rtt_ms
        except (ValueError, TypeError, AttributeError) as exc:
            raise DeviceProtocolError(f"unreadable answer: {exc}", device=self.device) from None


def parse(items: list[dict[str, Any]], conferences: list[dict[str, Any]]) -> TerminalStatus:
    by_name = {str(i.get("name")): i for i in items}

    def green(name: str) -> bool | None:
        item = by_name.get(name)
        if item is None:
            return None
        return "green" in (item.get("stateList") or [])

    sip = green("sip")
    temperature = by_name.get("temperature", {}).get("value")
    remote = ""
    in_call = False
    for conference in conferences:
        for connection in conference.get("connections") or []:
            in_call = True
            remote = remote or str(connection.get("address") or "")
    return TerminalStatus(
        sip_registration="Registered" if sip in (True, None) else "Failed",
        in_call=in_call,
        call_remote=remote,
        temperature_c=float(temperature) if temperature is not None else None,
        camera_connected=green("camera"),
    )
