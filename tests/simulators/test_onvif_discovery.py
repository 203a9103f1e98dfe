"""WS-Discovery: a Probe sent over UDP to the responder gets one ProbeMatch per camera, related
to the probe and carrying the camera's XAddrs and scopes."""

from __future__ import annotations

import asyncio
import socket
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest

from simulators.onvif import OnvifCamera
from simulators.onvif.discovery import DiscoveryResponder, announcement

NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
}


def probe(message_id: str, types: str = "dn:NetworkVideoTransmitter", scopes: str = "") -> bytes:
    scopes_el = f"<d:Scopes>{scopes}</d:Scopes>" if scopes else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><soap:Header>'
        f"<wsa:MessageID>{message_id}</wsa:MessageID>"
        "<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>"
        "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>"
        f"</soap:Header><soap:Body><d:Probe><d:Types>{types}</d:Types>{scopes_el}</d:Probe>"
        "</soap:Body></soap:Envelope>"
    ).encode()


CAMERAS = [
    (
        OnvifCamera(id="cam-kem-20", name="СОШ №20 кабинет 12", location="kemerovo"),
        "http://127.0.0.1:18101",
    ),
    (
        OnvifCamera(id="cam-nvk-5", name="Гимназия №5", location="novokuznetsk"),
        "http://127.0.0.1:18102",
    ),
]


@pytest.fixture
async def responder_port() -> AsyncIterator[int]:
    responder = DiscoveryResponder(lambda: [announcement(cam, url) for cam, url in CAMERAS])
    port = await responder.start("127.0.0.1", 0)
    yield port
    responder.close()


async def exchange(
    port: int, datagram: bytes, expect: int, wait_s: float = 0.3
) -> list[ET.Element]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    try:
        await loop.sock_sendto(sock, datagram, ("127.0.0.1", port))
        replies: list[ET.Element] = []
        while True:
            try:
                data, _ = await asyncio.wait_for(loop.sock_recvfrom(sock, 65535), wait_s)
            except TimeoutError:
                return replies
            replies.append(ET.fromstring(data))
            if len(replies) > expect:
                return replies
    finally:
        sock.close()


async def test_probe_for_video_transmitters_gets_one_match_per_camera(responder_port: int) -> None:
    message_id = f"uuid:{uuid.uuid4()}"

    replies = await exchange(responder_port, probe(message_id), expect=2)

    assert len(replies) == 2
    xaddrs = set()
    for reply in replies:
        assert reply.findtext("env:Header/wsa:RelatesTo", "", NS) == message_id
        assert reply.findtext("env:Header/wsa:Action", "", NS).endswith("/discovery/ProbeMatches")
        match = reply.find("env:Body/d:ProbeMatches/d:ProbeMatch", NS)
        assert match is not None
        assert match.findtext("wsa:EndpointReference/wsa:Address", "", NS).startswith("urn:uuid:")
        assert "dn:NetworkVideoTransmitter" in match.findtext("d:Types", "", NS).split()
        assert "onvif://www.onvif.org/type/ptz" in match.findtext("d:Scopes", "", NS).split()
        xaddrs.add(match.findtext("d:XAddrs", "", NS))
    assert xaddrs == {
        "http://127.0.0.1:18101/onvif/device_service",
        "http://127.0.0.1:18102/onvif/device_service",
    }


async def test_probe_with_empty_types_is_answered_too(responder_port: int) -> None:
    replies = await exchange(responder_port, probe(f"uuid:{uuid.uuid4()}", types=""), expect=2)

    assert len(replies) == 2


async def test_probe_filtered_by_scope_gets_only_the_matching_camera(responder_port: int) -> None:
    replies = await exchange(
        responder_port,
        probe(f"uuid:{uuid.uuid4()}", scopes="onvif://www.onvif.org/location/novokuznetsk"),
        expect=1,
    )

    assert [r.findtext(".//d:XAddrs", "", NS) for r in replies] == [
        "http://127.0.0.1:18102/onvif/device_service"
    ]


async def test_probe_for_other_device_types_is_not_answered(responder_port: int) -> None:
    replies = await exchange(
        responder_port,
        probe(f"uuid:{uuid.uuid4()}", types="dp0:NetworkVideoDisplay"),
        expect=0,
        wait_s=0.2,
    )

    assert replies == []
