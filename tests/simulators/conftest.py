"""Fixtures for the simulator tests: a SimHost on loopback port 0 and thin protocol clients
(xAPI, raw BBB calls with checksums, Jitsi tokens) that talk to it over real sockets."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest

from simulators.bbb import BbbServer
from simulators.bbb.checksum import compute
from simulators.faults import Faults
from simulators.hosting import Receive, Scope, Send, SimHost, read_body, respond
from simulators.jitsi import JitsiServer
from simulators.terminal import Terminal

JITSI_SECRET = "kuzbass-rcc-jitsi-app-secret-0123456789abcdef0123456789abcdef0123"
BBB_SECRET = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"


@pytest.fixture
def host() -> Iterator[SimHost]:
    """A running host with a control port of its own (it stays up when devices go offline)."""
    with SimHost(control_port=0) as sim_host:
        yield sim_host


def _eventually(predicate: Callable[[], Any], timeout: float = 3.0, interval: float = 0.02) -> Any:
    """Poll until the predicate returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    assert value, f"condition not met within {timeout}s (last value {value!r})"
    return value


class Xapi:
    """A minimal Cisco xAPI HTTP client."""

    def __init__(self, base_url: str, user: str = "admin", password: str = "secret") -> None:
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=base_url, auth=(user, password), timeout=5.0, verify=False
        )

    def status(self, location: str = "/Status") -> ET.Element:
        response = self.http.get("/getxml", params={"location": location})
        response.raise_for_status()
        return ET.fromstring(response.content)

    def command(self, body: str) -> ET.Element:
        response = self.http.post(
            "/putxml", content=body.encode(), headers={"Content-Type": "text/xml"}
        )
        response.raise_for_status()
        return ET.fromstring(response.content)

    def dial(self, number: str) -> ET.Element:
        return self.command(
            f'<Command><Dial command="True"><Number>{number}</Number>'
            "<Protocol>Sip</Protocol><CallType>Video</CallType></Dial></Command>"
        )

    def disconnect(self) -> ET.Element:
        return self.command('<Command><Call><Disconnect command="True"/></Call></Command>')

    def call_status(self) -> str | None:
        return self.status("/Status/Call").findtext("Call/Status")

    def history(self) -> list[ET.Element]:
        result = self.command('<Command><CallHistory><Get command="True"/></CallHistory></Command>')
        return result.findall("CallHistoryGetResult/Entry")


class Bbb:
    """Raw BBB API calls, signed like a client does."""

    def __init__(self, base_url: str, secret: str = BBB_SECRET) -> None:
        self.base_url = base_url
        self.secret = secret
        self.http = httpx.Client(timeout=5.0, verify=False)

    def url(self, call: str, algorithm: str = "sha1", **params: Any) -> str:
        query = "&".join(f"{k}={quote_plus(str(v))}" for k, v in params.items())
        checksum = compute(call, query, self.secret, algorithm)
        sep = "&" if query else ""
        return f"{self.base_url}/bigbluebutton/api/{call}?{query}{sep}checksum={checksum}"

    def get(self, call: str, **params: Any) -> ET.Element:
        response = self.http.get(self.url(call, **params))
        assert response.status_code == 200, response.text
        return ET.fromstring(response.content)


def _jitsi_token(
    room: str = "fizika-9a",
    secret: str = JITSI_SECRET,
    *,
    lifetime_s: float = 3600,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": "vks",
        "aud": "jitsi",
        "sub": "meet.jitsi",
        "room": room,
        "nbf": now - 10,
        "exp": now + int(lifetime_s),
        "context": {"user": {"name": "Иванова Мария Петровна", "email": "ivanova@school20.ru"}},
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


@dataclass
class Recorder:
    """A device that records every request sent to it (callbacks, feedback posts)."""

    id: str = "recorder"
    kind: str = "recorder"
    faults: Faults = field(default_factory=Faults)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"received": len(self.requests)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        self.requests.append(
            {
                "method": scope["method"],
                "path": scope["path"],
                "query": scope["query_string"].decode(),
                "body": body.decode(errors="replace"),
            }
        )
        await respond(send, 200, b"OK")


@pytest.fixture
def recorder(host: SimHost) -> tuple[Recorder, str]:
    device = Recorder()
    port = host.add(device)
    return device, f"http://127.0.0.1:{port}"


# --- fixtures ---------------------------------------------------------------------------
@pytest.fixture
def eventually() -> Callable[..., Any]:
    return _eventually


@pytest.fixture
def jitsi_token() -> Callable[..., str]:
    """Build a Jitsi JWT (signed with the secret `make_jitsi` servers use by default)."""
    return _jitsi_token


@pytest.fixture
def make_terminal(host: SimHost) -> Iterator[Callable[..., tuple[Terminal, Xapi]]]:
    clients: list[Xapi] = []

    def make(id: str = "term-kem-20", **kwargs: Any) -> tuple[Terminal, Xapi]:
        kwargs.setdefault("answer_delay_s", 0.2)
        kwargs.setdefault("name", "МБОУ «СОШ №20» — Актовый зал")
        terminal = Terminal(id, "admin", "secret", **kwargs)
        port = host.add(terminal)
        client = Xapi(f"http://127.0.0.1:{port}")
        clients.append(client)
        return terminal, client

    yield make
    for client in clients:
        client.http.close()


@pytest.fixture
def make_bbb(host: SimHost) -> Iterator[Callable[..., tuple[BbbServer, Bbb]]]:
    clients: list[Bbb] = []

    def make(id: str = "bbb-rcc-1", **kwargs: Any) -> tuple[BbbServer, Bbb]:
        server = BbbServer(id, BBB_SECRET, **kwargs)
        port = host.add(server)
        clients.append(Bbb(f"http://127.0.0.1:{port}"))
        return server, clients[-1]

    yield make
    for client in clients:
        client.http.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client (no certificate loading: everything here is loopback)."""
    with httpx.Client(timeout=5.0, verify=False) as client:
        yield client


@pytest.fixture
def make_jitsi(host: SimHost) -> Callable[..., tuple[JitsiServer, str]]:
    def make(id: str = "jitsi-rcc-1", **kwargs: Any) -> tuple[JitsiServer, str]:
        server = JitsiServer(id, JITSI_SECRET, **kwargs)
        port = host.add(server)
        return server, f"http://127.0.0.1:{port}"

    return make


@pytest.fixture
def set_faults(host: SimHost, http: httpx.Client) -> Callable[..., dict[str, Any]]:
    """Change a device's faults at run time through the control API (`PUT …/faults`)."""

    def put(device_id: str, **changes: Any) -> dict[str, Any]:
        response = http.put(
            f"http://127.0.0.1:{host.control_port}/_sim/devices/{device_id}/faults", json=changes
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    return put


@pytest.fixture
def xapi_at() -> Iterator[Callable[..., Xapi]]:
    """An xAPI client for a terminal already listening on a port."""
    clients: list[Xapi] = []

    def make(port: int, user: str = "admin", password: str = "secret") -> Xapi:
        clients.append(Xapi(f"http://127.0.0.1:{port}", user, password))
        return clients[-1]

    yield make
    for client in clients:
        client.http.close()


@pytest.fixture
def bbb_at() -> Iterator[Callable[..., Bbb]]:
    """A signed BBB API client for a server already listening on a port."""
    clients: list[Bbb] = []

    def make(port: int, secret: str) -> Bbb:
        clients.append(Bbb(f"http://127.0.0.1:{port}", secret))
        return clients[-1]

    yield make
    for client in clients:
        client.http.close()
