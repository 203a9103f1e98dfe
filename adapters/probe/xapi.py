"""A Cisco (RoomOS/CE xAPI) codec in one request: `GET /getxml?location=/Status`.

The status document carries everything the monitor judges: calls (`Call[n]/Status`,
`RemoteNumber`), SIP registration, temperature (`SystemUnit/Hardware/Temperature`, or
`…/Monitoring/Temperature/Status` on newer models), the camera (`Cameras/Camera/Connected`,
else the camera among `Peripherals/ConnectedDevice`) and the self-check messages.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import httpx

from adapters.probe.transport import check_status, send
from booking.errors import DeviceProtocolError
from booking.health import TerminalStatus

STATUS_PATH = "/getxml?location=/Status"
_MONITORING_LEVELS = {"high": 75.0, "critical": 90.0}


class XapiProbe:
    __slots__ = ("_client", "_headers", "_url", "device")

    def __init__(
        self, client: httpx.AsyncClient, url: str, username: str, password: str, *, device: str
    ) -> None:
        self._client = client
        self._url = url.rstrip("/") + STATUS_PATH
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self.device = device

    async def __call__(self) -> tuple[TerminalStatus, float]:
        response, rtt_ms = await send(
            self._client, "GET", self._url, device=self.device, headers=self._headers
        )
        check_status(response, self.device)
        return parse_status(response.content, self.device), rtt_ms


def parse_status(document: bytes, device: str = "") -> TerminalStatus:
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise DeviceProtocolError(f"unreadable status document: {exc}", device=device) from None
    call = root.find("Call")
    in_call = call is not None and (call.findtext("Status") or "").strip() not in ("", "Idle")
    remote = (call.findtext("RemoteNumber") or "").strip() if call is not None else ""
    registration = root.findtext("SIP/Registration/Status")
    temperature = _temperature(root)
    camera = _camera(root)
    diagnostics = tuple(
        (m.findtext("Description") or "").strip()
        for m in root.iterfind("Diagnostics/Message")
        if (m.findtext("Level") or "") in ("Error", "Critical")
    )
    return TerminalStatus(
        sip_registration=(registration or "Inactive").strip(),
        in_call=in_call,
        call_remote=remote,
        temperature_c=temperature,
        camera_connected=camera,
        diagnostics=diagnostics,
    )


def _temperature(root: ET.Element) -> float | None:
    text = root.findtext("SystemUnit/Hardware/Temperature")
    if text:
        try:
            return float(text)
        except ValueError:
            pass
    level = (root.findtext("SystemUnit/Hardware/Monitoring/Temperature/Status") or "").lower()
    return _MONITORING_LEVELS.get(level)


def _camera(root: ET.Element) -> bool | None:
    connected = root.findtext("Cameras/Camera/Connected")
    if connected is not None:
        return connected.strip().lower() == "true"
    for peripheral in root.iterfind("Peripherals/ConnectedDevice"):
        if (peripheral.findtext("Type") or "") == "Camera":
            return (peripheral.findtext("Status") or "") == "Connected"
    return None
