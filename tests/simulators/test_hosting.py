"""The host under the simulators: what a device's ASGI answer becomes on the wire, and how the
host starts. The devices are plain ASGI; these specifications hold whatever server carries them."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest

from simulators.faults import Faults
from simulators.hosting import SYNC_INTERVAL_S, Receive, Scope, Send, SimHost, read_body, respond


class Codec:
    """A device answering by path: a streamed status, a login that sets two cookies and
    hangs up, a request echoed back, and a handler that never answers."""

    kind = "terminal"

    def __init__(self) -> None:
        self.id = "term-kem-20-hall"
        self.faults = Faults()

    def describe(self) -> dict[str, Any]:
        return {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path == "/status":
            start = {"type": "http.response.start", "status": 200, "headers": []}
            await send(start)
            for part in (b"<Status>", b"<Standby>Off</Standby>", b"</Status>"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        elif path == "/login":
            cookies = [(b"set-cookie", b"session_id=4f1c2a; Path=/"), (b"set-cookie", b"lang=ru")]
            await respond(send, 204, b"", headers=[*cookies, (b"connection", b"close")])
        elif path == "/echo":
            body = await read_body(receive)
            await respond(send, 200, f"{scope['method']} {scope['query_string']!r} {body!r}")


@pytest.fixture
def codec() -> Codec:
    return Codec()


@pytest.fixture
def base(codec: Codec) -> Any:
    with SimHost() as host:
        host.add(codec)
        yield host.url_of(codec.id)


def test_a_streamed_answer_arrives_whole(base: str) -> None:
    response = httpx.get(f"{base}/status")

    assert (response.status_code, response.text) == (200, "<Status><Standby>Off</Standby></Status>")


def test_repeated_headers_are_kept_and_a_device_may_hang_up_after_answering(base: str) -> None:
    response = httpx.post(f"{base}/login")

    assert response.status_code == 204
    assert response.headers.get_list("set-cookie") == ["session_id=4f1c2a; Path=/", "lang=ru"]
    assert response.headers["connection"] == "close"


def test_the_request_reaches_the_device_with_its_method_query_and_body(base: str) -> None:
    response = httpx.put(f"{base}/echo?location=/Status/Audio", content=b"<Command/>")

    assert response.text == "PUT b'location=/Status/Audio' b'<Command/>'"


def test_a_device_that_never_answers_gives_a_server_error(base: str) -> None:
    assert httpx.get(f"{base}/nothing").status_code == 500


def test_a_taken_control_port_is_reported_at_once() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        host = SimHost(control_port=taken.getsockname()[1])
        started = time.monotonic()

        with pytest.raises(OSError, match="in use"):
            host.start()

    assert time.monotonic() - started < 5


def test_an_offline_devices_port_is_kept_for_its_return_and_never_given_to_another() -> None:
    offline, newcomer = Codec(), Codec()
    newcomer.id = "term-kem-12"
    with SimHost() as host:
        port = host.add(offline)
        offline.faults.update({"offline": True})
        refused_by(port)  # its listener closed by the host: the port is free for the system

        with pytest.raises(ValueError, match="term-kem-20-hall"):
            host.add(newcomer, port=port)
        other = host.add(newcomer)
        time.sleep(3 * SYNC_INTERVAL_S)  # the host's syncs leave the newcomer alone

        assert other != port
        answer = httpx.post(f"{host.url_of(newcomer.id)}/echo", content=b"ok", timeout=5)
        assert answer.status_code == 200 and "b'ok'" in answer.text


def refused_by(port: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.05)
    raise AssertionError(f"port {port} still open")
