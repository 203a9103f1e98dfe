"""The one-request probes against the simulators, and the plain HTTP client under them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from adapters.probe.http import HttpProbeClient, target
from adapters.probe.onvif import OnvifProbe
from adapters.probe.poly import PolyProbe
from adapters.probe.xapi import XapiProbe, parse_status, parse_status_tree
from booking.errors import DeviceAuthFailed, DeviceProtocolError, DeviceUnreachable
from booking.health import TerminalStatus
from simulators.hosting import SimHost
from simulators.onvif import OnvifCamera
from simulators.terminal import Terminal
from simulators.terminal.calls import Call
from simulators.terminal.xapi import status_document


@pytest.fixture
def host() -> Iterator[SimHost]:
    with SimHost() as sims:
        yield sims


def in_call(terminal: Terminal, remote: str = "83412@127.0.0.1:18201") -> None:
    now = time.monotonic()
    terminal.call = Call(
        id=3,
        number=f"sip:{remote}",
        remote=remote,
        started=now - 10,
        started_wall=time.time(),
        answer_s=1.0,
        gateway_base=None,
        answered=now - 9,
    )


def documents() -> list[bytes]:
    idle = Terminal("term-kem-20-hall")
    sick = Terminal("term-nvkz-7")
    sick.faults.update(
        {"extra": {"sip_registration": "Failed", "temperature": 86.0, "camera": "Disconnected"}}
    )
    in_call(sick, "83412&x@127.0.0.1")
    now = time.monotonic()
    plain = status_document(idle, "/Status", now).encode()
    pretty = plain.replace(b"><", b">\n  <")
    no_number = plain.replace(b"<Temperature>41.5</Temperature>", b"")
    return [plain, status_document(sick, "/Status", now).encode(), pretty, no_number]


@pytest.mark.parametrize("document", documents(), ids=["idle", "sick", "pretty", "no-number"])
def test_the_fast_reading_of_an_xapi_status_agrees_with_elementtree(document: bytes) -> None:
    assert parse_status(document) == parse_status_tree(document)


def test_an_xapi_status_is_read_for_call_registration_heat_and_camera() -> None:
    sick = documents()[1]
    assert parse_status(sick) == TerminalStatus(
        sip_registration="Failed",
        in_call=True,
        call_remote="83412&x@127.0.0.1",
        temperature_c=86.0,
        camera_connected=False,
        diagnostics=("SIP registration status: Failed", "The device temperature is high: 86.0 C"),
    )
    with pytest.raises(DeviceProtocolError):
        parse_status(b"<Status><SIP>")


async def test_a_cisco_terminal_in_one_request_and_its_failures(host: SimHost) -> None:
    codec = Terminal("term-kem-20-hall", "admin", "secret")
    host.add(codec)
    client = HttpProbeClient(timeout_s=0.5)
    probe = XapiProbe(client, host.url_of(codec.id), "admin", "secret", device=codec.id)
    wrong = XapiProbe(client, host.url_of(codec.id), "admin", "guess", device=codec.id)

    status, rtt_ms = await probe()
    with pytest.raises(DeviceAuthFailed):
        await wrong()
    codec.faults.update({"latency_ms": 900})
    with pytest.raises(DeviceUnreachable, match="no answer in time"):
        await probe()
    codec.faults.update({"latency_ms": 0, "error_rate": 1.0})
    with pytest.raises(DeviceProtocolError, match="HTTP 500"):
        await probe()

    assert status.sip_registration == "Registered" and not status.in_call
    assert rtt_ms > 0


async def test_a_poly_terminal_logs_in_once_and_again_when_its_session_expires(
    host: SimHost,
) -> None:
    codec = Terminal("term-kem-20-it", "admin", "secret", vendor="poly_rest")
    host.add(codec)
    probe = PolyProbe(
        HttpProbeClient(timeout_s=1.0), host.url_of(codec.id), "admin", "secret", device=codec.id
    )

    first, _ = await probe()
    codec.sessions = set()  # the codec restarted its web server: sessions are gone
    codec.faults.update({"extra": {"sip_registration": "Failed", "camera": "Disconnected"}})
    second, _ = await probe()

    assert (first.sip_registration, first.camera_connected) == ("Registered", True)
    assert (second.sip_registration, second.camera_connected) == ("Failed", False)


async def test_an_onvif_camera_proves_our_credentials_even_with_a_skewed_clock(
    host: SimHost,
) -> None:
    camera = OnvifCamera("cam-kem-20-hall", "admin", "secret")
    host.add(camera)
    client = HttpProbeClient(timeout_s=1.0)
    probe = OnvifProbe(client, host.url_of(camera.id), "admin", "secret", device=camera.id)
    wrong = OnvifProbe(client, host.url_of(camera.id), "admin", "guess", device=camera.id)

    assert await probe() > 0
    camera.faults.update({"clock_skew_s": 3600.0})
    assert await probe() > 0
    with pytest.raises(DeviceAuthFailed):
        await wrong()
    camera.faults.update({"offline": True})
    host.call_soon(host.sync_listeners_once)
    await asyncio.sleep(0.2)
    with pytest.raises(DeviceUnreachable, match="connection refused"):
        await probe()


async def test_chunked_answers_and_answers_ended_by_closing_are_read_whole() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
    ]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answers.pop(0))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = HttpProbeClient(timeout_s=1.0)
    to = target("GET", f"http://127.0.0.1:{port}", "/status")
    try:
        chunked = await client.send(to, to.request(), device="codec")
        closed = await client.send(to, to.request(), device="codec")
    finally:
        server.close()
        await server.wait_closed()

    assert (chunked.status, chunked.body) == (200, b"hello world")
    assert (closed.status, closed.body) == (200, b"until the end")
