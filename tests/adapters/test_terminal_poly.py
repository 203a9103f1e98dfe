"""The Poly VideoOS REST terminal adapter against the terminal simulator's Poly dialect:
session login, dial, status, hang up, health, and failures as domain errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.conference.bbb import BbbPlatform
from adapters.terminal import terminal_for
from adapters.terminal.poly import PolyRestTerminal
from adapters.terminal.terminal import CallState, CallStatus
from adapters.terminal.transport import new_client
from booking.errors import DeviceAuthFailed, DeviceBusy, DeviceProtocolError, DeviceUnreachable
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
    url: str, client: httpx.AsyncClient, password: str = TERMINAL_PASSWORD
) -> PolyRestTerminal:
    adapter = terminal_for(
        "poly_rest", url, TERMINAL_USER, password, 1.0, device_id="term-kem-41", client=client
    )
    assert isinstance(adapter, PolyRestTerminal)
    return adapter


async def _room_address(sims: Sims, client: httpx.AsyncClient) -> str:
    _, server = sims.bbb()
    bbb = BbbPlatform(server, BBB_SECRET, client)
    return bbb.sip_address(await bbb.create_room(lesson()))


async def _connected(terminal: PolyRestTerminal) -> CallStatus:
    return await eventually(terminal.call_status, lambda s: s.state is CallState.CONNECTED)


async def test_dial_status_and_hang_up(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    _, url = sims.terminal("poly_rest")
    terminal = _adapter(url, terminal_client)
    address = await _room_address(sims, client)

    call = await terminal.dial(address)
    connected = await _connected(terminal)
    again = await terminal.dial(address)
    await terminal.hang_up()

    assert call.call_id == connected.call_id == again.call_id
    assert connected.remote_number == address
    assert (await terminal.call_status()).state is CallState.IDLE
    assert await terminal.last_call_end() is None  # the REST dialect keeps no history for us


async def test_dialling_elsewhere_during_a_call_is_busy(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    _, url = sims.terminal("poly_rest")
    terminal = _adapter(url, terminal_client)
    await terminal.dial(await _room_address(sims, client))

    with pytest.raises(DeviceBusy):
        await terminal.dial(await _room_address(sims, client))


async def test_health_reads_system_sip_and_peripherals(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal("poly_rest")
    await sims.faults(device.id, extra={"camera": "Disconnected", "temperature": 72.5})

    health = await _adapter(url, terminal_client).health()

    assert health.reachable and health.sip_registered is True
    assert health.camera_connected is False and not health.ok
    assert health.temperature_c == 72.5
    assert health.model == device.model and health.uptime_s is not None
    assert health.in_call is False and health.standby is False


async def test_an_expired_session_is_renewed_once(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    device, url = sims.terminal("poly_rest")
    terminal = _adapter(url, terminal_client)
    await terminal.call_status()
    assert device.sessions is not None
    device.sessions.clear()  # the codec restarted its web server: our cookie is gone

    status = await terminal.call_status()

    assert status.state is CallState.IDLE and len(device.sessions) == 1


async def test_wrong_credentials_are_an_auth_failure(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    _, url = sims.terminal("poly_rest")

    with pytest.raises(DeviceAuthFailed):
        await _adapter(url, terminal_client, password="wrong").call_status()


async def test_offline_and_erroring_terminals(
    sims: Sims, terminal_client: httpx.AsyncClient
) -> None:
    offline_device, offline_url = sims.terminal("poly_rest")
    erroring_device, erroring_url = sims.terminal("poly_rest")
    await sims.faults(offline_device.id, offline=True)
    await sims.faults(erroring_device.id, error_rate=1.0)

    with pytest.raises(DeviceUnreachable):
        await _adapter(offline_url, terminal_client).call_status()
    with pytest.raises(DeviceProtocolError):
        await _adapter(erroring_url, terminal_client).call_status()
    assert not (await _adapter(offline_url, terminal_client).health()).reachable
