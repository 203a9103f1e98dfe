"""The one-request probes against the simulators, and the plain HTTP client under them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from adapters.probe.http import HttpProbeClient, Target, target
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


# --- the plain HTTP client, byte for byte -------------------------------------------------------
# A raw socket server plays the device: it reads the request head, then writes the answer in the
# given pieces with a pause between them, so the client sees exactly these split points.

Pieces = list[bytes]


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@asynccontextmanager
async def device_answering(
    *answers: Pieces, hang_up: bool = True
) -> AsyncIterator[tuple[HttpProbeClient, Target, list[bytes]]]:
    """A device on loopback answering successive connections with `answers`; yields the client,
    the prepared request and the request heads received. `hang_up=False` keeps each connection
    open after the answer, as a device ignoring `Connection: close` would."""
    queue = list(answers)
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        for piece in queue.pop(0):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.02)
        if hang_up:
            writer.close()
        else:
            await reader.read()  # until the client hangs up

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield HttpProbeClient(timeout_s=1.0), target("GET", f"http://127.0.0.1:{port}", "/s"), heads
    finally:
        server.close()
        await server.wait_closed()


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n"


async def test_a_chunked_answer_split_after_a_chunk_ending_in_zero_crlf_is_read_whole() -> None:
    lines = [b"sensor,value\r\n", b"temperature,40\r\n", b"fan,1800\r\n"]
    pieces = [CHUNKED_HEAD + chunk(lines[0]) + chunk(lines[1]), chunk(lines[2]) + b"0\r\n\r\n"]

    async with device_answering(pieces) as (client, to, _):
        reply = await client.send(to, to.request(), device="codec")

    assert (reply.status, reply.body) == (200, b"".join(lines))


async def test_a_chunked_answer_split_inside_a_chunk_size_line_is_read_whole() -> None:
    document = b"\r\n<Temperature/>"  # 0x10 bytes, starting with a blank line
    wire = chunk(b"<Status>") + chunk(document) + chunk(b"</Status>") + b"0\r\n\r\n"
    size_line = wire.index(b"10\r\n")
    pieces = [  # cut between "1" and "0", then after the document's first line end
        CHUNKED_HEAD + wire[: size_line + 1],
        wire[size_line + 1 : size_line + 6],
        wire[size_line + 6 :],
    ]

    async with device_answering(pieces) as (client, to, _):
        reply = await client.send(to, to.request(), device="codec")

    assert reply.body == b"<Status>" + document + b"</Status>"


async def test_trailers_after_the_last_chunk_complete_the_answer() -> None:
    pieces = [
        CHUNKED_HEAD + chunk(b"<Status/>"),
        b"0\r\nX-Checksum: 9f86d081\r\nX-Served-In: 3ms\r\n\r\n",
    ]

    async with device_answering(pieces, hang_up=False) as (client, to, _):
        reply = await client.send(to, to.request(), device="codec")

    assert (reply.status, reply.body) == (200, b"<Status/>")


async def test_a_cookie_with_an_expiry_date_is_one_cookie() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\n"
        b"Set-Cookie: session_id=4f1c2a; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/\r\n"
        b"Set-Cookie: lang=ru\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )

    async with device_answering([answer]) as (client, to, _):
        reply = await client.send(to, to.request(), device="codec")

    assert reply.cookies == {"session_id": "4f1c2a", "lang": "ru"}
    assert reply.headers["set-cookie"].startswith("session_id=4f1c2a; Expires=Wed, 21 Oct 2026")


async def test_a_content_length_body_after_an_interim_continue_is_the_final_answer() -> None:
    pieces = [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello",
        b" world",
    ]

    async with device_answering(pieces, hang_up=False) as (client, to, heads):
        reply = await client.send(to, to.request(), device="codec")

    assert (reply.status, reply.body) == (200, b"hello world")
    assert b"\r\nConnection: close\r\n" in heads[0]  # the client asks for no reuse


async def test_a_body_ended_by_closing_is_read_whole_even_with_bare_line_feeds() -> None:
    # small embedded web servers answer HTTP/1.0 with "\n" line ends and close to end the body
    pieces = [b"HTTP/1.0 200 OK\nContent-Type: text/plain\n\nuntil ", b"the end"]

    async with device_answering(pieces) as (client, to, _):
        reply = await client.send(to, to.request(), device="codec")

    assert (reply.status, reply.body) == (200, b"until the end")


async def test_a_content_length_answer_cut_short_is_a_reset_and_garbage_a_protocol_error() -> None:
    short = [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"]
    garbage = [b"SSH-2.0-OpenSSH_9.6\r\n\r\n"]

    async with device_answering(short, garbage) as (client, to, _):
        with pytest.raises(DeviceUnreachable, match="connection reset"):
            await client.send(to, to.request(), device="codec")
        with pytest.raises(DeviceProtocolError) as refused:
            await client.send(to, to.request(), device="codec")

    assert refused.value.details["device"] == "codec"
