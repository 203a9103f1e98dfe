"""End to end over loopback: a room placed by the pool, a terminal dialled through its adapter
to the room's SIP video gateway address, and the platform reporting the terminal in the room
(BBB attendee list, Jitsi room list and size, the gateway's callers)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.conference.bbb import BbbPlatform
from adapters.conference.jitsi import JitsiOptions, JitsiPlatform
from adapters.conference.platform import ParticipantKind, RoomState
from adapters.conference.pool import ConferencePool
from adapters.conference.room_registry import InMemoryRoomRegistry
from adapters.terminal import terminal_for
from adapters.terminal.terminal import CallState, call_end_error
from adapters.terminal.transport import new_client
from booking.errors import ServerAtCapacity
from booking.resources import PlatformKind
from tests.adapters.conference_sims import (
    BBB_SECRET,
    JITSI_APP_ID,
    JITSI_SECRET,
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


def _pool(sims: Sims, client: httpx.AsyncClient) -> ConferencePool:
    _, bbb_server = sims.bbb()
    _, jitsi_server = sims.jitsi()
    return ConferencePool(
        [
            BbbPlatform(bbb_server, BBB_SECRET, client),
            JitsiPlatform(
                jitsi_server, JITSI_SECRET, client, options=JitsiOptions(app_id=JITSI_APP_ID)
            ),
        ],
        InMemoryRoomRegistry(),
    )


@pytest.mark.parametrize("kind", [PlatformKind.BBB, PlatformKind.JITSI])
async def test_a_dialled_terminal_shows_up_in_the_room(
    sims: Sims,
    client: httpx.AsyncClient,
    terminal_client: httpx.AsyncClient,
    kind: PlatformKind,
) -> None:
    pool = _pool(sims, client)
    room = await pool.open_room(lesson(expected=25, terminals=1), kind)
    device, url = sims.terminal(name="МБОУ «СОШ №20» — Актовый зал")
    terminal = terminal_for(
        "cisco_xapi", url, TERMINAL_USER, TERMINAL_PASSWORD, client=terminal_client
    )

    await terminal.dial(pool.sip_address(room))
    await eventually(terminal.call_status, lambda s: s.state is CallState.CONNECTED)
    state: RoomState = await eventually(
        lambda: pool.room_state(room), lambda s: s.has_terminal(device.sip_address)
    )

    assert state.running
    assert [(p.name, p.kind) for p in state.terminals] == [
        ("МБОУ «СОШ №20» — Актовый зал", ParticipantKind.TERMINAL)
    ]
    load = await pool.platform(room.server_id).load()
    assert load.gateway_ports_in_use == 1


async def test_ending_a_bbb_room_hangs_the_terminal_up(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    pool = _pool(sims, client)
    room = await pool.open_room(lesson(terminals=1), PlatformKind.BBB)
    _, url = sims.terminal()
    terminal = terminal_for(
        "cisco_xapi", url, TERMINAL_USER, TERMINAL_PASSWORD, client=terminal_client
    )
    await terminal.dial(room.sip_address)
    await eventually(terminal.call_status, lambda s: s.state is CallState.CONNECTED)

    await pool.end_room(room)

    await eventually(terminal.call_status, lambda s: s.state is CallState.IDLE)
    end = await terminal.last_call_end()
    assert end is not None and end.cause_type == "RemoteDisconnect"


async def test_a_terminal_refused_by_a_full_jitsi_server_is_at_capacity(
    sims: Sims, client: httpx.AsyncClient, terminal_client: httpx.AsyncClient
) -> None:
    device, server = sims.jitsi()
    jitsi = JitsiPlatform(server, JITSI_SECRET, client, options=JitsiOptions(app_id=JITSI_APP_ID))
    room = await jitsi.create_room(lesson(terminals=1))
    await sims.faults(device.id, at_capacity=True)
    _, url = sims.terminal()
    terminal = terminal_for(
        "cisco_xapi", url, TERMINAL_USER, TERMINAL_PASSWORD, client=terminal_client
    )

    await terminal.dial(jitsi.sip_address(room))
    await eventually(terminal.call_status, lambda s: s.state is CallState.IDLE)

    assert isinstance(call_end_error(await terminal.last_call_end(), "term"), ServerAtCapacity)
    assert not (await jitsi.room_state(room)).running
