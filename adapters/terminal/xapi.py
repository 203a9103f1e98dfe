"""Cisco RoomOS/CE terminals over the xAPI HTTP interface (HTTP Basic, an Admin user).

    GET  /getxml?location=/Status[/Call]      status (the leading x of the xAPI path dropped)
    POST /putxml  <Command><Dial command="True"><Number>sip:…</Number>…</Dial></Command>
                  <Command><Call><Disconnect command="True"/></Call></Command>
                  <Command><CallHistory><Get command="True"><Limit>1</Limit>…

Command results come back as `<Command><DialResult status="OK|Error">…</…></Command>`;
an Error carries a `<Reason>`. No `<Call>` in the status means idle.

Dial is never repeated blindly: before dialling we read the call status (already in a call to
the same address → that call is the answer; to another → `DeviceBusy`), and if the Dial
request is lost after it may have reached the codec, the call status tells whether it did.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

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
from adapters.terminal.transport import DEFAULT_TIMEOUT_S, MaybeSent, send, shared_client
from booking.errors import DeviceBusy, DeviceError, DeviceProtocolError, DeviceUnreachable

XML_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
STATES = {
    "dialling": CallState.DIALLING,
    "connecting": CallState.CONNECTING,
    "ringing": CallState.CONNECTING,
    "alerting": CallState.CONNECTING,
    "earlymedia": CallState.CONNECTING,
    "connected": CallState.CONNECTED,
    "onhold": CallState.CONNECTED,
    "preserved": CallState.CONNECTED,
    "remotepreserved": CallState.CONNECTED,
}
BUSY_REASONS = ("max number of calls", "busy", "already in a call", "in call")


class CiscoXapiTerminal:
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
        self.auth = httpx.BasicAuth(username, password)
        self.timeout_s = timeout_s
        self._client = client
        self.attempts = attempts

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client or shared_client()

    # --- HTTP ------------------------------------------------------------------------------
    async def _get(self, location: str) -> tuple[ET.Element, float]:
        exchange = await send(
            self.client,
            "GET",
            f"{self.url}/getxml",
            params={"location": location},
            auth=self.auth,
            device=self.device_id,
            timeout_s=self.timeout_s,
            idempotent=True,
            attempts=self.attempts,
        )
        return self._xml(exchange.response, location), exchange.round_trip_ms

    async def _put(self, body: str, *, idempotent: bool) -> ET.Element:
        exchange = await send(
            self.client,
            "POST",
            f"{self.url}/putxml",
            content=body.encode(),
            headers=XML_HEADERS,
            auth=self.auth,
            device=self.device_id,
            timeout_s=self.timeout_s,
            idempotent=idempotent,
            attempts=self.attempts,
        )
        return self._xml(exchange.response, "putxml")

    def _xml(self, response: httpx.Response, what: str) -> ET.Element:
        if response.status_code != 200:
            raise DeviceProtocolError(
                f"{self.device_id}: HTTP {response.status_code} for {what}",
                device=self.device_id,
                status=response.status_code,
            )
        try:
            return ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise DeviceProtocolError(
                f"{self.device_id}: {what} answered something that is not XML",
                device=self.device_id,
            ) from exc

    def _result(self, root: ET.Element, name: str) -> tuple[bool, ET.Element]:
        result = root.find(name)
        if result is None:
            result = next(iter(root), None)
        if result is None:
            raise DeviceProtocolError(
                f"{self.device_id}: no {name} in the answer", device=self.device_id
            )
        return result.get("status", "").lower() == "ok", result

    # --- calls --------------------------------------------------------------------------------
    async def dial(self, sip_uri: str) -> CallInfo:
        current = await self.call_status()
        if current.in_call:
            return self._existing(current, sip_uri)
        body = (
            '<Command><Dial command="True">'
            f"<Number>{escape(sip_uri)}</Number><Protocol>Sip</Protocol><CallType>Video</CallType>"
            "</Dial></Command>"
        )
        try:
            root = await self._put(body, idempotent=False)
        except MaybeSent:
            after = await self.call_status()
            if after.in_call and same_address(after.remote_number, sip_uri):
                return CallInfo(after.call_id, after.remote_number)
            raise
        ok, result = self._result(root, "DialResult")
        if ok:
            return CallInfo((result.findtext("CallId") or "").strip(), sip_uri)
        reason = (result.findtext("Reason") or "").strip()
        if any(marker in reason.lower() for marker in BUSY_REASONS):
            raise DeviceBusy(f"{self.device_id}: {reason}", device=self.device_id)
        raise DeviceProtocolError(
            f"{self.device_id}: Dial refused: {reason or 'no reason given'}", device=self.device_id
        )

    def _existing(self, current: CallStatus, sip_uri: str) -> CallInfo:
        if same_address(current.remote_number, sip_uri):
            return CallInfo(current.call_id, current.remote_number)
        raise DeviceBusy(
            f"{self.device_id}: already in a call with {current.remote_number}",
            device=self.device_id,
            remote=current.remote_number,
        )

    async def hang_up(self) -> None:
        body = '<Command><Call><Disconnect command="True"/></Call></Command>'
        for _ in range(2):
            try:
                root = await self._put(body, idempotent=False)
            except MaybeSent:
                if not (await self.call_status()).in_call:
                    return
                continue
            ok, result = self._result(root, "CallDisconnectResult")
            reason = (result.findtext("Reason") or "").strip()
            if ok or "no active call" in reason.lower():
                return
            raise DeviceProtocolError(
                f"{self.device_id}: Disconnect refused: {reason}", device=self.device_id
            )
        raise DeviceUnreachable(
            f"{self.device_id}: the call could not be ended", device=self.device_id
        )

    async def call_status(self) -> CallStatus:
        root, _ = await self._get("/Status/Call")
        return _call_status(root)

    async def last_call_end(self) -> CallEnd | None:
        body = (
            '<Command><CallHistory><Get command="True"><Limit>1</Limit>'
            "<DetailLevel>Full</DetailLevel></Get></CallHistory></Command>"
        )
        root = await self._put(body, idempotent=True)
        ok, result = self._result(root, "CallHistoryGetResult")
        entry = result.find("Entry") if ok else None
        if entry is None:
            return None
        code = (entry.findtext("DisconnectCauseCode") or "0").strip()
        return CallEnd(
            remote_number=(entry.findtext("CallbackNumber") or "").strip(),
            cause_type=(entry.findtext("DisconnectCauseType") or "").strip(),
            cause_code=int(code) if code.isdigit() else 0,
            cause=(entry.findtext("DisconnectCause") or "").strip(),
            duration_s=_int(entry.findtext("Duration")) or 0,
        )

    # --- health -------------------------------------------------------------------------------
    async def health(self) -> TerminalHealth:
        try:
            root, round_trip = await self._get("/Status")
        except DeviceUnreachable as error:
            return TerminalHealth(False, error_code=error.code, error=error.message)
        except DeviceError as error:
            return TerminalHealth(True, error_code=error.code, error=error.message)
        call = _call_status(root)
        unit = root.find("SystemUnit")
        registrations = [
            (r.findtext("Status") or "").strip() for r in root.iterfind("SIP/Registration")
        ]
        peripherals = tuple(
            Peripheral(
                kind=(d.findtext("Type") or "").strip().lower(),
                name=(d.findtext("Name") or "").strip(),
                connected=(d.findtext("Status") or "").strip().lower() == "connected",
            )
            for d in root.iterfind("Peripherals/ConnectedDevice")
        )
        cameras = [p.connected for p in peripherals if p.kind == "camera"] or [
            (c.findtext("Connected") or "").strip().lower() == "true"
            for c in root.iterfind("Cameras/Camera")
        ]
        standby = (root.findtext("Standby/State") or "").strip()
        return TerminalHealth(
            reachable=True,
            round_trip_ms=round_trip,
            sip_registered=("Registered" in registrations) if registrations else None,
            in_call=call.in_call,
            call_remote=call.remote_number,
            uptime_s=_int(unit.findtext("Uptime")) if unit is not None else None,
            temperature_c=_temperature(unit),
            standby=(standby not in ("", "Off")) if standby else None,
            camera_connected=any(cameras) if cameras else None,
            peripherals=peripherals,
            model=(unit.findtext("ProductId") or "").strip() if unit is not None else "",
            software=(unit.findtext("Software/Version") or "").strip() if unit is not None else "",
            diagnostics=tuple(
                f"{_text(m, 'Level')}: {_text(m, 'Description')}"
                for m in root.iterfind("Diagnostics/Message")
            ),
        )


def _call_status(root: ET.Element) -> CallStatus:
    for call in root.iterfind("Call"):
        state = STATES.get((call.findtext("Status") or "").strip().lower())
        if state is None:  # Idle, Disconnecting…
            continue
        return CallStatus(
            state=state,
            call_id=call.get("item", ""),
            remote_number=(
                call.findtext("RemoteNumber") or call.findtext("CallbackNumber") or ""
            ).strip(),
            duration_s=_int(call.findtext("Duration")) or 0,
        )
    return CallStatus(CallState.IDLE)


def _text(element: ET.Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def _temperature(unit: ET.Element | None) -> float | None:
    """`SystemUnit/Hardware/Temperature` on most models (°C); some only report a level."""
    if unit is None:
        return None
    for path in ("Hardware/Temperature", "Hardware/Monitoring/Temperature/Value"):
        text = (unit.findtext(path) or "").strip()
        try:
            return float(text)
        except ValueError:
            continue
    return None
