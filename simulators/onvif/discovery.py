"""WS-Discovery responder for simulated cameras (UDP, SOAP 1.2, WS-Discovery 2005/04).

A Probe (`d:Probe`, with `d:Types` such as `dn:NetworkVideoTransmitter`, or empty) is answered
unicast to the sender with one `d:ProbeMatches` datagram per matching camera, as each real
camera answers for itself: `wsa:RelatesTo` the probe's MessageID, the camera's endpoint
`urn:uuid:…`, its types, scopes and `http://…/onvif/device_service` XAddrs.

The responder binds to any address and port (tests use a loopback port 0); joining the
multicast group 239.255.255.250:3702 is optional and off by default.

    responder = DiscoveryResponder(lambda: [announcement(camera, host.url_of(camera.id))])
    port = await responder.start("127.0.0.1", 0)
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from simulators.onvif.device_service import DEVICE_PATH, scopes
from simulators.onvif.soap import child, child_text

if TYPE_CHECKING:
    from simulators.onvif.camera import OnvifCamera

MULTICAST_GROUP = "239.255.255.250"
DISCOVERY_PORT = 3702
NS_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NS_DN = "http://www.onvif.org/ver10/network/wsdl"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"
PROBE_ACTION = NS_WSD + "/Probe"
PROBE_MATCHES_ACTION = NS_WSD + "/ProbeMatches"
ANONYMOUS = NS_WSA + "/role/anonymous"
_MAX_DATAGRAM = 65507
_ENDPOINT_NAMESPACE = uuid.UUID("6b1d6f0e-3c1e-4f57-9a59-0f6cf3a1d7c2")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Announcement:
    """What one camera says about itself in a ProbeMatch."""

    endpoint: str
    """`urn:uuid:…`, stable for the camera."""
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    types: tuple[str, ...] = ("dn:NetworkVideoTransmitter", "tds:Device")


def endpoint_of(camera_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_ENDPOINT_NAMESPACE, camera_id)}"


def announcement(camera: OnvifCamera, base_url: str) -> Announcement:
    """The announcement of a hosted camera reachable at `base_url` (`http://ip:port`)."""
    return Announcement(
        endpoint=endpoint_of(camera.id),
        xaddrs=(base_url.rstrip("/") + DEVICE_PATH,),
        scopes=tuple(scopes(camera)),
    )


@dataclass(frozen=True, slots=True)
class Probe:
    message_id: str
    types: tuple[str, ...]
    """Local names of the requested types (prefixes dropped); empty means any."""
    scopes: tuple[str, ...]


def parse_probe(data: bytes) -> Probe | None:
    """A Probe from a datagram, or None for anything else (Hello, Bye, garbage)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    header = child(root, "Header")
    body = child(root, "Body")
    probe = child(body, "Probe")
    if probe is None:
        return None
    message_id = child_text(header, "MessageID") or ""
    types = tuple(t.rpartition(":")[2] for t in (child_text(probe, "Types") or "").split())
    requested = tuple((child_text(probe, "Scopes") or "").split())
    return Probe(message_id=message_id, types=types, scopes=requested)


def matches(probe: Probe, target: Announcement) -> bool:
    own_types = {t.rpartition(":")[2] for t in target.types}
    if probe.types and not set(probe.types) <= own_types:
        return False
    for wanted in probe.scopes:  # RFC 3986 matching: whole path segments as a prefix
        prefix = wanted.rstrip("/")
        if not any(s == prefix or s.startswith(prefix + "/") for s in target.scopes):
            return False
    return True


def probe_matches(probe: Probe, target: Announcement, message_number: int = 1) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:wsa="{NS_WSA}" xmlns:d="{NS_WSD}" xmlns:dn="{NS_DN}" xmlns:tds="{NS_TDS}">'
        "<env:Header>"
        f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
        f"<wsa:RelatesTo>{escape(probe.message_id)}</wsa:RelatesTo>"
        f"<wsa:To>{ANONYMOUS}</wsa:To>"
        f"<wsa:Action>{PROBE_MATCHES_ACTION}</wsa:Action>"
        f'<d:AppSequence InstanceId="1" MessageNumber="{message_number}"/>'
        "</env:Header><env:Body><d:ProbeMatches><d:ProbeMatch>"
        f"<wsa:EndpointReference><wsa:Address>{escape(target.endpoint)}</wsa:Address>"
        "</wsa:EndpointReference>"
        f"<d:Types>{' '.join(target.types)}</d:Types>"
        f"<d:Scopes>{escape(' '.join(target.scopes))}</d:Scopes>"
        f"<d:XAddrs>{escape(' '.join(target.xaddrs))}</d:XAddrs>"
        "<d:MetadataVersion>1</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></env:Body></env:Envelope>"
    ).encode()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DiscoveryResponder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is None or len(data) > _MAX_DATAGRAM:
            return
        for reply in self.responder.replies(data):
            self.transport.sendto(reply, addr)


class DiscoveryResponder:
    """Answers WS-Discovery probes for the cameras `targets()` returns at probe time."""

    def __init__(self, targets: Callable[[], Iterable[Announcement]]) -> None:
        self._targets = targets
        self._transport: asyncio.DatagramTransport | None = None
        self._message_number = 0

    def replies(self, data: bytes) -> list[bytes]:
        probe = parse_probe(data)
        if probe is None:
            return []
        out = []
        for target in self._targets():
            if matches(probe, target):
                self._message_number += 1
                out.append(probe_matches(probe, target, self._message_number))
        return out

    async def start(self, host: str = "127.0.0.1", port: int = 0, multicast: bool = False) -> int:
        """Bind and return the UDP port. With `multicast`, also join 239.255.255.250
        (bind host "0.0.0.0" and port 3702 to hear real clients)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        if multicast:
            interface = "0.0.0.0" if host in ("", "0.0.0.0") else host
            membership = struct.pack(
                "4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton(interface)
            )
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self._transport = transport
        bound: int = sock.getsockname()[1]
        log.info("WS-Discovery responder on %s:%s (multicast=%s)", host, bound, multicast)
        return bound

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
