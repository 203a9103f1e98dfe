"""The Cisco xAPI terminal adapter against the terminal simulator over loopback: dial, status,
hang up, health — and every failure of the device as a domain error, with no double dial."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.conference.bbb import BbbPlatform
from adapters.terminal import terminal_for
from adapters.terminal.terminal import CallState, CallStatus, call_end_error
from adapters.terminal.transport import new_client
from adapters.terminal.xapi import CiscoXapiTerminal
from booking.errors import (
    DeviceAuthFailed,
    DeviceBusy,
    DeviceProtocolError,
    DeviceUnreachable,
    InvalidInput,
    NotFound,
    ServerAtCapacity,
)
from simulators.faults import Faults
from simulators.hosting import Receive, Scope, Send, read_body, respond
from tests.adapters.conference_sims import (
    BBB_SECRET,
    TERMINAL_PASSWORD,
    TERMINAL_USER,
    Sims,
    client,
    eventually,
    lesson,
    sim_host,
    sims,
)

__all__ = ["client", "sim_host", "sims"]


@pytest.fixture
async def terminal_client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client() as shared:
        yield shared


def _adapter(
    url: str, client: httpx.AsyncClient, password: str = TERMINAL_PASSWORD, timeout: float = 1.0
) -> CiscoXapiTerminal:
    adapter = terminal_for(
        "cisco_xapi", url, TERMINAL_USER, password, timeout, device_id="term-kem-20", client=client
    )
    assert isinstance(adapter, CiscoXapiTerminal)
    return adapter


async def _room_address(sims: Sims, client: httpx.AsyncClient, **faults: object) -> str:
    """A BBB room's gateway address (the server given `faults`)."""
    device, server = sims.bbb()
    bbb = BbbPlatform(server, BBB_SECRET, client)
    room = await bbb.create_room(lesson())
    if faults:
        await sims.faults(device.id, **faults)
    return bbb.sip_address(room)


async def _connected(terminal: CiscoXapiTerminal) -> CallStatus:
    return await eventually(terminal.call_status, lambda s: s.state is CallState.CONNECTED)


async def _idle(terminal: CiscoXapiTerminal) -> CallStatus:
    return await eventually(terminal.call_status, lambda s: s.state is CallState.IDLE)


async def test_dial_connects_and_status_follows_the_call(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    _, url = sims.terminal(answer_delay_s=0.3)
    terminal = _adapter(url, terminal_client)
    address = await _room_address(sims, client)

    call = await terminal.dial(address)
    early = await terminal.call_status()
    connected = await _connected(terminal)

    assert early.state in (CallState.DIALLING, CallState.CONNECTING)
    assert call.call_id == connected.call_id != ""
    assert connected.remote_number == address.removeprefix("sip:")


async def test_dialling_the_same_room_again_keeps_the_call(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    terminal = _adapter(url, terminal_client)
    address = await _room_address(sims, client)
    first = await terminal.dial(address)
    await _connected(terminal)

    again = await terminal.dial(address)

    assert again.call_id == first.call_id
    assert device.history is None  # no call was ended, none replaced


async def test_dialling_elsewhere_during_a_call_is_busy(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    _, url = sims.terminal()
    terminal = _adapter(url, terminal_client)
    await terminal.dial(await _room_address(sims, client))
    await _connected(terminal)

    with pytest.raises(DeviceBusy, match="already in a call"):
        await terminal.dial(await _room_address(sims, client))


async def test_hang_up_ends_the_call_and_is_harmless_when_idle(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    _, url = sims.terminal()
    terminal = _adapter(url, terminal_client)
    await terminal.dial(await _room_address(sims, client))
    await _connected(terminal)

    await terminal.hang_up()
    await terminal.hang_up()

    assert (await terminal.call_status()).state is CallState.IDLE
    end = await terminal.last_call_end()
    assert end is not None and end.cause_type == "LocalDisconnect"


async def test_health_reads_everything_the_monitor_watches(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()

    health = await _adapter(url, terminal_client).health()

    assert health.reachable and health.ok
    assert health.sip_registered is True
    assert health.in_call is False
    assert health.camera_connected is True
    assert health.standby is False
    assert health.temperature_c == 41.5
    assert health.uptime_s is not None and health.uptime_s >= 3600
    assert health.model == device.model and health.software == device.software
    assert health.round_trip_ms is not None and health.round_trip_ms > 0
    assert {p.kind for p in health.peripherals} == {"camera", "touchpanel"}


async def test_health_shows_registration_heat_and_camera_problems(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    await sims.faults(
        device.id,
        extra={"sip_registration": "Failed", "temperature": 86, "camera": "Disconnected"},
    )

    health = await _adapter(url, terminal_client).health()

    assert not health.ok
    assert health.sip_registered is False
    assert health.temperature_c == 86
    assert health.camera_connected is False
    assert any("temperature" in d for d in health.diagnostics)


# --- failures ------------------------------------------------------------------------------------
async def test_wrong_credentials_are_an_auth_failure(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    _, url = sims.terminal()
    terminal = _adapter(url, terminal_client, password="not-the-password")

    with pytest.raises(DeviceAuthFailed):
        await terminal.dial("sip:12345@127.0.0.1:9")
    health = await terminal.health()

    assert health.reachable and health.error_code == "device_auth_failed" and not health.ok


async def test_an_auth_failure_fault_is_an_auth_failure(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    await sims.faults(device.id, auth_failure=True)

    with pytest.raises(DeviceAuthFailed):
        await _adapter(url, terminal_client).call_status()


async def test_an_offline_terminal_is_unreachable(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    await sims.faults(device.id, offline=True)
    terminal = _adapter(url, terminal_client)

    with pytest.raises(DeviceUnreachable):
        await terminal.dial("sip:12345@127.0.0.1:9")
    health = await terminal.health()

    assert not health.reachable and health.error_code == "device_unreachable"


async def test_a_terminal_slower_than_the_timeout_is_unreachable(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    await sims.faults(device.id, latency_ms=600)

    with pytest.raises(DeviceUnreachable):
        await _adapter(url, terminal_client, timeout=0.2).call_status()


async def test_device_errors_are_protocol_errors(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    await sims.faults(device.id, error_rate=1.0)
    terminal = _adapter(url, terminal_client)

    with pytest.raises(DeviceProtocolError):
        await terminal.call_status()
    health = await terminal.health()

    assert health.reachable and health.error_code == "device_protocol_error"


class AnswerLosingProxy:
    """Stands between the adapter and a terminal and swallows the answer to every Dial: the
    codec places the call, the adapter never hears back (as when a link dies mid-request)."""

    def __init__(self, id: str, upstream: str) -> None:
        self.id, self.kind, self.faults = id, "proxy", Faults()
        self.upstream = upstream
        self.dials = 0

    def describe(self) -> dict[str, object]:
        return {"dials": self.dials}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k != b"host"}
        query = scope["query_string"].decode()
        url = self.upstream + scope["path"] + (f"?{query}" if query else "")
        async with httpx.AsyncClient(trust_env=False) as upstream:
            answer = await upstream.request(scope["method"], url, content=body, headers=headers)
        if b"<Dial" in body:
            self.dials += 1
            await asyncio.sleep(5)  # the answer never comes back in time
        await respond(send, answer.status_code, answer.content, answer.headers["content-type"])


async def test_a_dial_whose_answer_is_lost_is_never_sent_twice(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    proxy = AnswerLosingProxy("lossy-link", url)
    terminal = _adapter(f"http://127.0.0.1:{sims.host.add(proxy)}", terminal_client, timeout=0.5)
    address = await _room_address(sims, client)

    call = await terminal.dial(address)  # the lost answer is recovered from the call status
    again = await terminal.dial(address)  # and a retry by the automation dials nothing

    assert proxy.dials == 1
    assert call.call_id == again.call_id == str(device.call.id if device.call else "")
    assert (await _connected(terminal)).remote_number == address.removeprefix("sip:")


async def test_a_dropped_call_goes_idle_and_says_why(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    terminal = _adapter(url, terminal_client)
    await sims.faults(device.id, drop_call_after_s=0.3)
    await terminal.dial(await _room_address(sims, client))
    await _connected(terminal)

    await _idle(terminal)
    end = await terminal.last_call_end()

    assert end is not None and (end.cause_type, end.cause_code) == ("NetworkRejected", 408)
    error = call_end_error(end, "term-kem-20")
    assert isinstance(error, DeviceUnreachable) and "dropped" in error.message


async def test_a_rebooting_terminal_is_unreachable_then_back_with_a_fresh_uptime(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal()
    terminal = _adapter(url, terminal_client)
    await terminal.dial(await _room_address(sims, client))
    await _connected(terminal)

    await sims.faults(device.id, reboot_s=0.6)
    with pytest.raises(DeviceUnreachable):
        await terminal.call_status()
    await asyncio.sleep(0.7)
    health = await terminal.health()

    assert health.reachable and health.in_call is False
    assert health.uptime_s is not None and health.uptime_s < 5
    end = await terminal.last_call_end()
    assert end is not None and "restart" in end.cause.lower()


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({}, NotFound),  # no room behind the address
        ({"at_capacity": True}, ServerAtCapacity),  # the server refuses the call
    ],
)
async def test_a_refused_call_maps_to_a_domain_error(
    sims: Sims,
    client: httpx.AsyncClient,
    terminal_client: httpx.AsyncClient,
    faults: dict[str, object],
    error: type[Exception],
) -> None:
    _, url = sims.terminal()
    terminal = _adapter(url, terminal_client)
    address = await _room_address(sims, client, **faults)
    if not faults:
        address = address.replace("sip:", "sip:9", 1)  # a voiceBridge nobody has

    await terminal.dial(address)
    await _idle(terminal)

    assert isinstance(call_end_error(await terminal.last_call_end(), "term-kem-20"), error)


async def test_all_gateway_ports_busy_is_at_capacity(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    device, server = sims.bbb(gateway_ports=1)
    bbb = BbbPlatform(server, BBB_SECRET, client)
    address = bbb.sip_address(await bbb.create_room(lesson()))
    _, first_url = sims.terminal()
    _, second_url = sims.terminal()
    first, second = _adapter(first_url, terminal_client), _adapter(second_url, terminal_client)
    await first.dial(address)
    await _connected(first)

    await second.dial(address)
    await _idle(second)

    end = await second.last_call_end()
    assert end is not None and end.cause_code == 486
    assert isinstance(call_end_error(end, "term-kem-41"), ServerAtCapacity)
    assert len(device.gateway.calls) == 1


def test_unknown_vendors_are_refused() -> None:
    with pytest.raises(InvalidInput):
        terminal_for("yealink_vcs", "http://127.0.0.1:9", "admin", "x")
