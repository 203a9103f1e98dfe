"""A Cisco (RoomOS/CE xAPI) codec in one request: `GET /getxml?location=/Status`.

The status document carries everything the monitor judges: calls (`Call[n]/Status`,
`RemoteNumber`), SIP registration, temperature (`SystemUnit/Hardware/Temperature`, or
`…/Monitoring/Temperature/Status` on newer models), the camera (`Cameras/Camera/Connected`,
else the camera among `Peripherals/ConnectedDevice`) and the self-check messages.

Reading it is the largest cost of a poll after the connection itself, so the few values
are picked out of their sections with precompiled patterns (about a tenth of the cost of
building an ElementTree on the benchmark machine); a document in which they cannot be
found that way — not the codec's usual shape — goes through ElementTree instead
(`parse_status_tree`, which also serves as the reference in the tests).
"""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET

from adapters.probe.http import HttpProbeClient, check_status, target
from booking.errors import DeviceProtocolError
from booking.health import TerminalStatus

STATUS_PATH = "/getxml?location=/Status"
_MONITORING_LEVELS = {"high": 75.0, "critical": 90.0}


class XapiProbe:
    __slots__ = ("_client", "_request", "_target", "device")

    def __init__(
        self, client: HttpProbeClient, url: str, username: str, password: str, *, device: str
    ) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._client = client
        self._target = target("GET", url, STATUS_PATH, {"Authorization": f"Basic {token}"})
        self._request = self._target.request()
        self.device = device

    async def __call__(self) -> tuple[TerminalStatus, float]:
        reply = await self._client.send(self._target, self._request, device=self.device)
        check_status(reply, self.device)
        return parse_status(reply.body, self.device), reply.rtt_ms


def _section(tag: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"<" + tag + rb"\b[^>]*>(.*?)</" + tag + rb">", re.S)


def _value(tag: bytes, content: bytes = rb"[^<]*") -> re.Pattern[bytes]:
    return re.compile(rb"<" + tag + rb"\b[^>]*>\s*(" + content + rb")\s*</" + tag + rb">", re.S)


_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?<Status\b[^>]*>.*</Status>\s*$", re.S)
_CALL = _section(b"Call")
_SIP = _section(b"SIP")
_REGISTRATION = _section(b"Registration")
_HARDWARE = _section(b"Hardware")
_MONITORING = _section(b"Monitoring")
_CAMERAS = _section(b"Cameras")
_DIAGNOSTICS = _section(b"Diagnostics")
_MESSAGE = _section(b"Message")
_PERIPHERALS = _section(b"Peripherals")
_DEVICE = _section(b"ConnectedDevice")
_STATUS = _value(b"Status")
_REMOTE = _value(b"RemoteNumber")
_TEMPERATURE = _value(b"Temperature", rb"-?\d+(?:\.\d+)?")
_CONNECTED = _value(b"Connected")
_LEVEL = _value(b"Level")
_DESCRIPTION = _value(b"Description")
_TYPE = _value(b"Type")


def _decoded(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return html.unescape(text) if "&" in text else text


def parse_status(document: bytes, device: str = "") -> TerminalStatus:
    """The terminal's status from an xAPI `/Status` document (see the module's note)."""
    sip = _SIP.search(document)
    hardware = _HARDWARE.search(document)
    if sip is None or hardware is None or _ROOT.match(document) is None:
        return parse_status_tree(document, device)
    in_call = False
    remote = ""
    for call in _CALL.finditer(document):
        status = _STATUS.search(call.group(1))
        if status is not None and status.group(1).strip() not in (b"", b"Idle"):
            in_call = True
            number = _REMOTE.search(call.group(1))
            remote = remote or (_decoded(number.group(1)) if number else "")
    registration = _REGISTRATION.search(sip.group(1))
    state = _STATUS.search(registration.group(1)) if registration is not None else None
    return TerminalStatus(
        sip_registration=_decoded(state.group(1)) if state is not None else "Inactive",
        in_call=in_call,
        call_remote=remote,
        temperature_c=_fast_temperature(hardware.group(1)),
        camera_connected=_fast_camera(document),
        diagnostics=_fast_diagnostics(document),
    )


def _fast_temperature(hardware: bytes) -> float | None:
    monitoring = _MONITORING.search(hardware)
    rest = hardware if monitoring is None else hardware.replace(monitoring.group(0), b"")
    value = _TEMPERATURE.search(rest)
    if value is not None:
        return float(value.group(1))
    if monitoring is not None:
        level = _STATUS.search(monitoring.group(1))
        if level is not None:
            return _MONITORING_LEVELS.get(_decoded(level.group(1)).lower())
    return None


def _fast_camera(document: bytes) -> bool | None:
    cameras = _CAMERAS.search(document)
    if cameras is not None:
        connected = _CONNECTED.search(cameras.group(1))
        if connected is not None:
            return connected.group(1).strip().lower() == b"true"
    peripherals = _PERIPHERALS.search(document)
    if peripherals is not None:
        for device in _DEVICE.finditer(peripherals.group(1)):
            kind = _TYPE.search(device.group(1))
            if kind is not None and kind.group(1).strip() == b"Camera":
                status = _STATUS.search(device.group(1))
                return status is not None and status.group(1).strip() == b"Connected"
    return None


def _fast_diagnostics(document: bytes) -> tuple[str, ...]:
    section = _DIAGNOSTICS.search(document)
    if section is None or not section.group(1).strip():
        return ()
    out = []
    for message in _MESSAGE.finditer(section.group(1)):
        level = _LEVEL.search(message.group(1))
        if level is not None and level.group(1).strip() in (b"Error", b"Critical"):
            description = _DESCRIPTION.search(message.group(1))
            out.append(_decoded(description.group(1)) if description else "")
    return tuple(out)


def parse_status_tree(document: bytes, device: str = "") -> TerminalStatus:
    """The same reading over an ElementTree (any well-formed shape)."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise DeviceProtocolError(f"unreadable status document: {exc}", device=device) from None
    # simple tag names only: ElementTree answers those in C, paths go through ElementPath
    call = root.find("Call")
    in_call = False
    remote = ""
    if call is not None:
        in_call = (call.findtext("Status") or "").strip() not in ("", "Idle")
        remote = (call.findtext("RemoteNumber") or "").strip()
    registration = _text(root, "SIP", "Registration", "Status")
    diagnostics: tuple[str, ...] = ()
    section = root.find("Diagnostics")
    if section is not None and len(section):
        diagnostics = tuple(
            (m.findtext("Description") or "").strip()
            for m in section.findall("Message")
            if (m.findtext("Level") or "") in ("Error", "Critical")
        )
    return TerminalStatus(
        sip_registration=(registration or "Inactive").strip(),
        in_call=in_call,
        call_remote=remote,
        temperature_c=_temperature(root),
        camera_connected=_camera(root),
        diagnostics=diagnostics,
    )


def _text(element: ET.Element | None, *tags: str) -> str | None:
    for tag in tags:
        if element is None:
            return None
        element = element.find(tag)
    return None if element is None else (element.text or "")


def _temperature(root: ET.Element) -> float | None:
    hardware = _find(root, "SystemUnit", "Hardware")
    text = _text(hardware, "Temperature")
    if text:
        try:
            return float(text)
        except ValueError:
            pass
    level = (_text(hardware, "Monitoring", "Temperature", "Status") or "").lower()
    return _MONITORING_LEVELS.get(level)


def _find(element: ET.Element | None, *tags: str) -> ET.Element | None:
    for tag in tags:
        if element is None:
            return None
        element = element.find(tag)
    return element


def _camera(root: ET.Element) -> bool | None:
    connected = _text(root, "Cameras", "Camera", "Connected")
    if connected is not None:
        return connected.strip().lower() == "true"
    peripherals = root.find("Peripherals")
    for peripheral in peripherals.findall("ConnectedDevice") if peripherals is not None else ():
        if (peripheral.findtext("Type") or "") == "Camera":
            return (peripheral.findtext("Status") or "") == "Connected"
    return None
