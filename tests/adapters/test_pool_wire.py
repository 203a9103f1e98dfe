"""The conference pool against BBB and Jitsi simulators over loopback: rooms go to the server
with the most participant headroom (weighted by the lesson's expected participants, not by
meeting count), capacity is respected, a dead server is skipped and its room re-created
elsewhere, and one occurrence never gets two rooms — even from two processes at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest

from adapters.conference.bbb import BbbPlatform
from adapters.conference.jitsi import JitsiOptions, JitsiPlatform
from adapters.conference.platform import ConferencePlatform, LinkRole, Room
from adapters.conference.pool import ConferencePool
from adapters.conference.room_registry import InMemoryRoomRegistry, RoomClaim
from booking.errors import DeviceUnreachable, NoServerAvailable
from booking.resources import PlatformKind
from simulators.bbb import BbbServer
from tests.adapters.conference_sims import (
    BBB_SECRET,
    JITSI_APP_ID,
    JITSI_SECRET,
    Sims,
    client,
    lesson,
    sim_host,
    sims,
)

__all__ = ["client", "sim_host", "sims"]


def _bbb(sims: Sims, client: httpx.AsyncClient, **limits: int) -> tuple[BbbServer, BbbPlatform]:
    device, server = sims.bbb(**limits)
    return device, BbbPlatform(server, BBB_SECRET, client)


def _pool(
    platforms: Sequence[ConferencePlatform], registry: InMemoryRoomRegistry | None = None
) -> ConferencePool:
    return ConferencePool(platforms, registry or InMemoryRoomRegistry(), down_after=2, up_after=2)


async def _crowd(client: httpx.AsyncClient, bbb: BbbPlatform, room: Room, people: int) -> None:
    for n in range(people):
        link = bbb.join_link(room, LinkRole.ATTENDEE, f"Ученик {n + 1}", f"p-{n + 1}")
        assert (await client.get(link, follow_redirects=True)).status_code == 200


def _meetings(*devices: BbbServer) -> dict[str, list[str]]:
    return {d.id: sorted(d.meetings.by_id) for d in devices}


async def test_a_room_goes_to_the_less_loaded_of_two_bbb_servers(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    busy_device, busy = _bbb(sims, client)
    idle_device, idle = _bbb(sims, client)
    await _crowd(client, busy, await busy.create_room(lesson(expected=20)), 20)
    pool = _pool([busy, idle])

    room = await pool.open_room(lesson(expected=25))

    assert room.server_id == idle.server.id
    assert room.room_id in idle_device.meetings.by_id
    assert room.room_id not in busy_device.meetings.by_id


async def test_placement_weighs_expected_participants_not_meeting_count(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    # three small lessons (2 people each) on one server, one big lesson nobody has joined yet
    # on the other: by meeting count the big one's server looks emptier, it is not
    small_device, small = _bbb(sims, client)
    big_device, big = _bbb(sims, client)
    for _ in range(3):
        room = await small.create_room(lesson(expected=2))
        await _crowd(client, small, room, 2)
    await big.create_room(lesson(expected=300))  # placed by another process: declared in meta_

    room = await _pool([small, big]).open_room(lesson(expected=25))

    assert room.server_id == small.server.id
    assert len(small_device.meetings.by_id) == 4 and len(big_device.meetings.by_id) == 1


async def test_lessons_placed_at_the_bell_spread_before_anybody_joins(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    first_device, first = _bbb(sims, client)
    second_device, second = _bbb(sims, client)
    pool = _pool([first, second])

    rooms = await asyncio.gather(*(pool.open_room(lesson(expected=150)) for _ in range(4)))

    per_server = [r.server_id for r in rooms]
    assert per_server.count(first.server.id) == 2 and per_server.count(second.server.id) == 2
    assert len(first_device.meetings.by_id) == len(second_device.meetings.by_id) == 2


async def test_participant_room_and_gateway_limits_are_respected(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    # the small server has the larger share of free places, but cannot take 30 more people
    # (its rooms declare their expected participants; nobody needs to have joined yet)
    _, small = _bbb(sims, client, max_participants=40)
    _, large = _bbb(sims, client, max_participants=100)
    await small.create_room(lesson(expected=15))
    await large.create_room(lesson(expected=60))
    _, one_room = _bbb(sims, client, max_rooms=1)
    await one_room.create_room(lesson(expected=1))
    _, no_ports = _bbb(sims, client, gateway_ports=1)
    await no_ports.create_room(lesson(expected=1, terminals=1))
    pool = _pool([small, large, one_room, no_ports])

    room = await pool.open_room(lesson(expected=30, terminals=2))

    assert room.server_id == large.server.id
    problem = await pool.capacity_problem(lesson(expected=500))
    assert "15 of 40 participants" in problem and "1 of 1 rooms in use" in problem


async def test_jitsi_rooms_go_to_a_jitsi_server(sims: Sims, client: httpx.AsyncClient) -> None:
    _, bbb = _bbb(sims, client)
    _, server = sims.jitsi()
    jitsi = JitsiPlatform(server, JITSI_SECRET, client, options=JitsiOptions(app_id=JITSI_APP_ID))
    pool = _pool([bbb, jitsi])

    room = await pool.open_room(lesson(), PlatformKind.JITSI)

    assert room.server_id == jitsi.server.id and room.platform is PlatformKind.JITSI
    link = pool.join_link(room, LinkRole.ATTENDEE, "МБОУ «СОШ №41»", "s-41")
    assert link.startswith(f"http://127.0.0.1:{server.base_url.rsplit(':', 1)[1]}/{room.room_id}")
    assert pool.sip_address(room) == room.sip_address


async def test_a_dead_server_is_skipped_and_its_room_re_created_elsewhere(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    registry = InMemoryRoomRegistry()
    first_device, first = _bbb(sims, client)
    second_device, second = _bbb(sims, client)
    pool = _pool([first, second], registry)
    spec = lesson()
    room = await pool.open_room(spec)
    dead_device, alive_device = (
        (first_device, second_device)
        if room.server_id == first.server.id
        else (second_device, first_device)
    )
    await sims.faults(dead_device.id, offline=True)

    again = await pool.open_room(spec)  # the start step retried: the old server is gone

    assert again.server_id == alive_device.id and again.created
    assert again.room_id in alive_device.meetings.by_id
    assert await registry.current(spec.occurrence_id) == RoomClaim(
        spec.occurrence_id, alive_device.id, generation=2
    )
    # the new lesson after it does not even try the dead server once it is marked down
    await pool.refresh()
    await pool.refresh()
    assert not pool.health(dead_device.id).available
    later = await pool.open_room(lesson())
    assert later.server_id == alive_device.id


async def test_the_room_left_on_a_server_that_comes_back_is_ended(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    first_device, first = _bbb(sims, client)
    second_device, second = _bbb(sims, client)
    pool = _pool([first, second])
    spec = lesson()
    room = await pool.open_room(spec)
    left_device = first_device if room.server_id == first.server.id else second_device
    await sims.faults(left_device.id, offline=True)
    await pool.refresh()
    await pool.refresh()
    moved = await pool.open_room(spec)

    await sims.heal(left_device.id)
    await pool.refresh()
    await pool.refresh()  # up_after=2: back now, and the stale room is ended

    assert pool.health(left_device.id).available
    assert moved.server_id != left_device.id
    assert left_device.meetings.by_id == {}


async def test_a_room_left_behind_is_ended_by_another_worker_that_sees_its_server_back(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    registry = InMemoryRoomRegistry()  # the database the automation shares between workers
    first_device, first = _bbb(sims, client)
    second_device, second = _bbb(sims, client)
    worker_a = _pool([first, second], registry)
    spec = lesson()
    room = await worker_a.open_room(spec)
    left_device = first_device if room.server_id == first.server.id else second_device
    await sims.faults(left_device.id, offline=True)
    await worker_a.refresh()
    await worker_a.refresh()
    moved = await worker_a.open_room(spec)  # worker A moves the room, then dies
    await sims.heal(left_device.id)

    worker_b = _pool([second, first], registry)  # started later: never saw the server down
    await worker_b.refresh()
    await worker_b.refresh()

    assert moved.server_id != left_device.id
    assert left_device.meetings.by_id == {}
    assert await registry.left_behind([first.server.id, second.server.id]) == []
    assert moved.room_id in (first_device.meetings.by_id | second_device.meetings.by_id)


async def test_one_occurrence_never_gets_two_rooms_from_two_processes(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    registry = InMemoryRoomRegistry()  # the database the automation shares between workers
    first_device, first = _bbb(sims, client)
    second_device, second = _bbb(sims, client)
    worker_a = _pool([first, second], registry)
    worker_b = _pool([second, first], registry)
    spec = lesson(expected=40)

    rooms = await asyncio.gather(worker_a.open_room(spec), worker_b.open_room(spec))

    assert rooms[0] == rooms[1]
    meetings = _meetings(first_device, second_device)
    assert sum(len(ids) for ids in meetings.values()) == 1


async def test_a_claim_made_elsewhere_is_followed_even_if_this_pool_would_choose_otherwise(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    registry = InMemoryRoomRegistry()
    first_device, first = _bbb(sims, client)
    second_device, second = _bbb(sims, client)
    spec = lesson()
    room = await _pool([first, second], registry).open_room(spec)
    chosen = first if room.server_id == first.server.id else second
    await _crowd(client, chosen, await chosen.create_room(lesson(expected=30)), 30)

    again = await _pool([first, second], registry).open_room(spec)

    assert again.server_id == room.server_id and again.room_id == room.room_id
    assert again.created is False
    assert sum(len(ids) for ids in _meetings(first_device, second_device).values()) == 2


async def test_when_every_server_is_down_or_full_the_pool_says_why(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    down_device, down = _bbb(sims, client)
    full_device, full = _bbb(sims, client)
    await sims.faults(down_device.id, offline=True)
    await sims.faults(full_device.id, at_capacity=True)
    pool = _pool([down, full])

    with pytest.raises(NoServerAvailable) as refused:
        await pool.open_room(lesson())

    text = refused.value.message
    assert down.server.id in text and full.server.id in text
    assert "Could not find any available servers" in text


async def test_pool_end_room_ends_it_and_releases_the_claim(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    registry = InMemoryRoomRegistry()
    device, bbb = _bbb(sims, client)
    pool = _pool([bbb], registry)
    spec = lesson()
    room = await pool.open_room(spec)

    await pool.end_room(room)

    assert device.meetings.by_id == {}
    assert await registry.current(spec.occurrence_id) is None
    assert not (await pool.room_state(room)).exists


async def test_room_state_of_a_dead_server_is_unreachable_and_counts_against_it(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    device, bbb = _bbb(sims, client)
    pool = _pool([bbb])
    room = await pool.open_room(lesson())
    await sims.faults(device.id, offline=True)

    with pytest.raises(DeviceUnreachable):
        await pool.room_state(room)
    with pytest.raises(DeviceUnreachable):
        await pool.room_state(room)

    assert not pool.health(device.id).available
