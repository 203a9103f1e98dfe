"""The Cisco xAPI (RoomOS/CE) HTTP dialect of the simulated terminal.

    GET  /getxml?location=/Status[/Section[/…]]   status document (HTTP Basic)
    GET  /getxml?location=/Configuration[/…]      a small configuration document
    GET  /status.xml                             the whole status (legacy TC path)
    POST /putxml                                 <Command>…</Command> or <Configuration>…

Commands: Dial; Call Disconnect; Standby Activate/Deactivate/Halfwake; Audio Volume
Set/Increase/Decrease; SystemUnit Boot; CallHistory Get; HttpFeedback Register/Deregister.
Results are `<Command><{Path}Result status="OK|Error">…</…></Command>`, e.g. DialResult
with CallId/ConferenceId, or status="Error" with a Reason (a second Dial while in a call
is refused this way).

Status sections: Audio, Call, Cameras, Diagnostics, Peripherals, SIP, Standby,
SystemUnit. The common paths (`/Status`, `/Status/<Section>`) are answered from string
templates; deeper paths are cut out of the section with ElementTree.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from simulators.hosting import Receive, Scope, Send, read_body, respond
from simulators.terminal.calls import Call, DialError, Disconnect

if TYPE_CHECKING:
    from simulators.terminal.device import Terminal

XML = "text/xml; charset=utf-8"
UNAUTHORIZED_HEADERS = [(b"www-authenticate", b'Basic realm="Cisco Codec"')]
COMMANDS = {
    ("dial",),
    ("call", "disconnect"),
    ("standby", "activate"),
    ("standby", "deactivate"),
    ("standby", "halfwake"),
    ("audio", "volume", "set"),
    ("audio", "volume", "increase"),
    ("audio", "volume", "decrease"),
    ("systemunit", "boot"),
    ("callhistory", "get"),
    ("httpfeedback", "register"),
    ("httpfeedback", "deregister"),
}
PREFIXES = {c[:i] for c in COMMANDS for i in range(1, len(c))}


def esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _root_open(terminal: Terminal) -> str:
    return f'<Status product="Cisco Codec" version="{terminal.software}" apiVersion="4">'


# --- status sections -------------------------------------------------------------------
def _audio(t: Terminal, now: float) -> str:
    return f"<Audio><Volume>{t.volume}</Volume></Audio>"


def call_xml(t: Terminal, call: Call, now: float) -> str:
    status = call.status(now)
    answered = "Answered" if status == "Connected" else "Unanswered"
    rate = 1920 if status == "Connected" else 0
    return (
        f'<Call item="{call.id}" maxOccurrence="n">'
        f"<AnswerState>{answered}</AnswerState><CallType>Video</CallType>"
        f"<CallbackNumber>{esc(call.number)}</CallbackNumber><DeviceType>MCU</DeviceType>"
        f"<Direction>outgoing</Direction><DisplayName>{esc(call.display_name)}</DisplayName>"
        f"<Duration>{call.duration(now)}</Duration><Encryption><Type>None</Type></Encryption>"
        f"<PlacedOnHold>False</PlacedOnHold><Protocol>Sip</Protocol>"
        f"<ReceiveCallRate>{rate}</ReceiveCallRate><RemoteNumber>{esc(call.remote)}</RemoteNumber>"
        f"<Status>{status}</Status><TransmitCallRate>{rate}</TransmitCallRate></Call>"
    )


def _call(t: Terminal, now: float) -> str:
    call = t.current_call(now)
    return "" if call is None else call_xml(t, call, now)


def _cameras(t: Terminal, now: float) -> str:
    connected = "True" if t.camera_status() == "Connected" else "False"
    return (
        '<Cameras><Camera item="1" maxOccurrence="n">'
        f"<Connected>{connected}</Connected><Manufacturer>Cisco</Manufacturer>"
        "<Model>Precision 60</Model></Camera></Cameras>"
    )


def _diagnostics(t: Terminal, now: float) -> str:
    items = "".join(
        f'<Message item="{i}" maxOccurrence="n"><Description>{esc(d)}</Description>'
        f"<Level>{level}</Level><References></References><Type>{kind}</Type></Message>"
        for i, (level, kind, d) in enumerate(t.diagnostics(), start=1)
    )
    return f"<Diagnostics>{items}</Diagnostics>"


def _peripherals(t: Terminal, now: float) -> str:
    return (
        "<Peripherals>"
        '<ConnectedDevice item="1001" maxOccurrence="n"><HardwareInfo>1</HardwareInfo>'
        f"<ID>{t.serial}-CAM</ID><Name>Cisco Precision 60 Camera</Name>"
        f"<SoftwareInfo>ce11.5</SoftwareInfo><Status>{esc(t.camera_status())}</Status>"
        "<Type>Camera</Type></ConnectedDevice>"
        '<ConnectedDevice item="1002" maxOccurrence="n"><HardwareInfo>1</HardwareInfo>'
        f"<ID>{t.serial}-TP</ID><Name>Cisco Touch 10</Name><SoftwareInfo>ce11.5</SoftwareInfo>"
        "<Status>Connected</Status><Type>TouchPanel</Type></ConnectedDevice>"
        "</Peripherals>"
    )


def _sip(t: Terminal, now: float) -> str:
    status = t.sip_registration()
    reason = "" if status == "Registered" else "401 Unauthorized"
    uri = t.sip_address.split(":", 1)[-1]
    return (
        '<SIP><Registration item="1" maxOccurrence="n">'
        f"<Reason>{reason}</Reason><Status>{esc(status)}</Status><URI>{esc(uri)}</URI>"
        "</Registration></SIP>"
    )


def _standby(t: Terminal, now: float) -> str:
    return f"<Standby><State>{t.standby}</State></Standby>"


def _system_unit(t: Terminal, now: float) -> str:
    temperature = t.temperature()
    level = "Normal" if temperature < 70 else ("High" if temperature < 85 else "Critical")
    calls = 0 if t.current_call(now) is None else 1
    return (
        "<SystemUnit><Hardware><Module><SerialNumber>"
        f"{t.serial}</SerialNumber></Module><Monitoring><Temperature><Status>{level}"
        f"</Status></Temperature></Monitoring><Temperature>{temperature:.1f}</Temperature>"
        "<TemperatureThreshold>70</TemperatureThreshold></Hardware>"
        f"<ProductId>{esc(t.model)}</ProductId>"
        f"<ProductPlatform>{esc(t.model.removeprefix('Cisco Webex '))}"
        f"</ProductPlatform><Software><DisplayName>RoomOS {t.software[2:10]}</DisplayName>"
        f"<Name>s53200</Name><Version>{t.software}</Version></Software>"
        f"<State><NumberOfActiveCalls>{calls}</NumberOfActiveCalls></State>"
        f"<Uptime>{t.uptime(now)}</Uptime></SystemUnit>"
    )


SECTIONS: dict[str, Callable[[Terminal, float], str]] = {
    "audio": _audio,
    "call": _call,
    "cameras": _cameras,
    "diagnostics": _diagnostics,
    "peripherals": _peripherals,
    "sip": _sip,
    "standby": _standby,
    "systemunit": _system_unit,
}


def status_document(t: Terminal, location: str, now: float) -> str:
    parts = [p for p in location.strip().split("/") if p]
    if parts and parts[0].lower() == "status":
        parts = parts[1:]
    head = '<?xml version="1.0"?>\n' + _root_open(t)
    if not parts:
        return head + "".join(fn(t, now) for fn in SECTIONS.values()) + "</Status>"
    section = SECTIONS.get(parts[0].split("[", 1)[0].lower())
    if section is None:
        return head + "</Status>"
    fragment = section(t, now)
    if len(parts) == 1 or not fragment:
        return head + fragment + "</Status>"
    tree = ET.fromstring(f"<Status>{fragment}</Status>")
    pruned = _prune(tree, parts)
    inner = "" if pruned is None else "".join(ET.tostring(c, encoding="unicode") for c in pruned)
    return head + inner + "</Status>"


def _prune(element: ET.Element, parts: list[str]) -> ET.Element | None:
    if not parts:
        return element
    name, _, index = parts[0].partition("[")
    index = index.rstrip("]")
    out = ET.Element(element.tag, element.attrib)
    for child in element:
        if child.tag.lower() == name.lower() and (not index or child.get("item") == index):
            kept = _prune(child, parts[1:])
            if kept is not None:
                out.append(kept)
    return out if len(out) else None


def configuration_document(t: Terminal) -> str:
    return (
        '<?xml version="1.0"?>\n'
        f'<Configuration product="Cisco Codec" version="{t.software}" apiVersion="4">'
        f"<Audio><DefaultVolume>50</DefaultVolume></Audio>"
        f"<SIP><URI>{esc(t.sip_address.split(':', 1)[-1])}</URI></SIP>"
        f"<SystemUnit><Name>{esc(t.name)}</Name></SystemUnit></Configuration>"
    )


# --- HTTP -----------------------------------------------------------------------------
async def handle(t: Terminal, scope: Scope, receive: Receive, send: Send) -> None:
    if not t.basic_auth_ok(scope):
        await respond(send, 401, b"Unauthorized", headers=UNAUTHORIZED_HEADERS)
        return
    if t.faults.should_error():
        await respond(send, 500, b"Internal Server Error")
        return
    method: str = scope["method"]
    path: str = scope["path"]
    now = time.monotonic()
    if path == "/getxml" and method == "GET":
        query = parse_qs(scope["query_string"].decode("latin-1"))
        location = query.get("location", ["/Status"])[0]
        if location.strip("/").lower().startswith("configuration"):
            await respond(send, 200, configuration_document(t), XML)
        else:
            await respond(send, 200, status_document(t, location, now), XML)
    elif path == "/status.xml" and method == "GET":
        await respond(send, 200, status_document(t, "/Status", now), XML)
    elif path == "/putxml" and method == "POST":
        status, body = put(t, await read_body(receive))
        await respond(send, status, body, XML)
    else:
        await respond(send, 404, b"Not Found")


def put(t: Terminal, body: bytes) -> tuple[int, str]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        return 400, _result("", "Error", f"<Reason>XML parse error: {esc(exc)}</Reason>")
    if root.tag == "Configuration":
        return 200, '<?xml version="1.0"?>\n<Configuration><Success/></Configuration>'
    if root.tag != "Command" or len(root) == 0:
        return 400, _result("", "Error", "<Reason>Unknown command</Reason>")
    node = root[0]
    path: tuple[str, ...] = (node.tag.lower(),)
    names = [node.tag]
    while path not in COMMANDS and path in PREFIXES and len(node) > 0:
        node = node[0]
        path = (*path, node.tag.lower())
        names.append(node.tag)
    if path not in COMMANDS:
        return 200, _result("", "Error", "<Reason>Unknown command</Reason>")
    params = {child.tag.lower(): (child.text or "").strip() for child in node}
    status, inner = _run(t, path, params)
    return 200, _result("".join(names), status, inner)


def _result(name: str, status: str, inner: str = "") -> str:
    tag = f"{name}Result" if name else "Result"
    return f'<?xml version="1.0"?>\n<Command><{tag} status="{status}">{inner}</{tag}></Command>'


def _run(t: Terminal, path: tuple[str, ...], params: dict[str, str]) -> tuple[str, str]:
    if path == ("dial",):
        try:
            call = t.dial(params.get("number", ""))
        except DialError as exc:
            return "Error", f"<Reason>{esc(exc)}</Reason>"
        return "OK", f"<CallId>{call.id}</CallId><ConferenceId>{call.id - 1}</ConferenceId>"
    if path == ("call", "disconnect"):
        call_id = params.get("callid")
        try:
            wanted = int(call_id) if call_id else None
        except ValueError:
            return "Error", "<Reason>Invalid CallId</Reason>"
        if not t.disconnect(wanted):
            return "Error", "<Reason>No active call(s) found</Reason>"
        return "OK", ""
    if path[0] == "standby":
        t.set_standby({"activate": "Standby", "deactivate": "Off", "halfwake": "Halfwake"}[path[1]])
        return "OK", ""
    if path[0] == "audio":
        try:
            if path[2] == "set":
                t.set_volume(int(params["level"]))
            else:
                steps = int(params.get("steps") or 5)
                t.set_volume(t.volume + (steps if path[2] == "increase" else -steps))
        except (KeyError, ValueError):
            return "Error", "<Reason>Missing or invalid parameter(s): Level</Reason>"
        return "OK", ""
    if path == ("systemunit", "boot"):
        t.boot()
        return "OK", ""
    if path == ("callhistory", "get"):
        return "OK", _history(t, int(params.get("limit") or 20))
    if path == ("httpfeedback", "register"):
        url = params.get("serverurl")
        if not url:
            return "Error", "<Reason>Missing or invalid parameter(s): ServerUrl</Reason>"
        t.feedback_url = url
        return "OK", ""
    if path == ("httpfeedback", "deregister"):
        t.feedback_url = None
        return "OK", ""
    return "Error", "<Reason>Unknown command</Reason>"


def _history(t: Terminal, limit: int) -> str:
    entries = list(reversed(t.history or []))[:limit]
    out = []
    for i, entry in enumerate(entries, start=1):
        started = datetime.fromtimestamp(entry.started_wall, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        d = entry.disconnect
        out.append(
            f'<Entry item="{i}"><CallHistoryId>{entry.call_id}</CallHistoryId>'
            f"<CallbackNumber>{esc(entry.number)}</CallbackNumber>"
            f"<DisplayName>{esc(entry.display_name)}</DisplayName><StartTime>{started}</StartTime>"
            f"<Duration>{entry.duration_s}</Duration><OccurrenceType>Placed</OccurrenceType>"
            f"<DisconnectCause>{esc(d.cause)}</DisconnectCause>"
            f"<DisconnectCauseCode>{d.cause_code}</DisconnectCauseCode>"
            f"<DisconnectCauseOrigin>{d.origin}</DisconnectCauseOrigin>"
            f"<DisconnectCauseType>{d.cause_type}</DisconnectCauseType></Entry>"
        )
    return "".join(out)


# --- HttpFeedback ------------------------------------------------------------------------
def feedback_document(t: Terminal, call: Call, ended: Disconnect | None, now: float) -> str:
    """What the codec POSTs to a registered feedback URL when a call changes."""
    ident = (
        f"<Identification><SystemName>{esc(t.name)}</SystemName><MACAddress>00:00:5e:00:53:01"
        f"</MACAddress><IPAddress>127.0.0.1</IPAddress><ProductType>Cisco Codec</ProductType>"
        f"<ProductID>{esc(t.model)}</ProductID><SWVersion>{t.software}</SWVersion>"
        f"<SerialNumber>{t.serial}</SerialNumber></Identification>"
    )
    if ended is None:
        return f'<?xml version="1.0"?>\n<Status>{ident}{call_xml(t, call, now)}</Status>'
    return (
        f'<?xml version="1.0"?>\n<Event>{ident}<CallDisconnect><CallId>{call.id}</CallId>'
        f"<CauseType>{ended.cause_type}</CauseType><CauseCode>{ended.cause_code}</CauseCode>"
        f"<CauseString>{esc(ended.cause)}</CauseString><CauseOrigin>{ended.origin}</CauseOrigin>"
        f"<RemoteURI>{esc(call.number)}</RemoteURI><Duration>{call.duration(now)}</Duration>"
        f"</CallDisconnect></Event>"
    )
