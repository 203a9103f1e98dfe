"""The BigBlueButton adapter against the BBB simulator over loopback: signed calls, idempotent
create, voiceBridge clashes, join links by role (and by password for old servers), room state,
load, end — and every failure of the server as a domain error."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.conference import identity, transport
from adapters.conference.bbb import BbbOptions, BbbPlatform
from adapters.conference.bbb_checksum import signed_query
from adapters.conference.platform import LinkRole, ParticipantKind, Room
from adapters.conference.transport import RetryPolicy
from booking.errors import (
    DeviceAuthFailed,
    DeviceProtocolError,
    DeviceUnreachable,
    ServerAtCapacity,
)
from booking.resources import PlatformKind
from simulators.bbb import BbbServer
from tests.adapters.conference_sims import BBB_SECRET, Sims, client, lesson, sim_host, sims

__all__ = ["client", "sim_host", "sims"]


def _platform(
    sims: Sims, client: httpx.AsyncClient, **options: Any
) -> tuple[BbbServer, BbbPlatform]:
    device, server = sims.bbb()
    return device, BbbPlatform(server, BBB_SECRET, client, options=BbbOptions(**options))


async def _join(client: httpx.AsyncClient, link: str) -> httpx.Response:
    """What a browser does with a join link: follow the redirect into the client."""
    return await client.get(link, follow_redirects=True)


async def test_create_makes_one_meeting_with_metadata_voice_bridge_and_set_up_expiry(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    device, bbb = _platform(sims, client)
    spec = lesson(starts_in=timedelta(minutes=15))

    room = await bbb.create_room(spec)

    meeting = device.meetings.by_id[room.room_id]
    assert room.created is True
    assert room.platform is PlatformKind.BBB
    assert room.room_id == f"vks-{spec.occurrence_id}"
    assert room.details["voice_bridge"] == meeting.voice_bridge
    assert room.details["voice_bridge"] == identity.voice_bridge(BBB_SECRET, spec.occurrence_id)
    assert meeting.metadata == {
        "vks_origin": "vks",
        "vks_occurrence_id": spec.occurrence_id,
        "vks_booking_id": "bk-phys-9a-2026",
        "vks_school_ids": "kem-school-20 kem-school-41",
        "vks_expected_participants": "25",
        "vks_terminals": "1",
        "vks_teacher": "Иванова Мария Петровна",
    }
    assert meeting.name == spec.title
    # nobody joins during the set-up buffer: the meeting must outlive bbb-web's 5-minute default
    assert meeting.expire_no_user_s >= (15 + 15) * 60
    assert meeting.duration_min >= 40


async def test_a_retried_create_returns_the_same_room_and_makes_no_second_meeting(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    device, bbb = _platform(sims, client)
    spec = lesson()
    first = await bbb.create_room(spec)

    again = await bbb.create_room(spec)
    from_another_process = await BbbPlatform(bbb.server, BBB_SECRET, client).create_room(spec)

    assert again == first and from_another_process == first
    assert again.created is False and from_another_process.created is False
    assert len(device.meetings.by_id) == 1


async def test_a_voice_bridge_clash_moves_on_to_the_next_derived_number(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, bbb = _platform(sims, client)
    spec = lesson()
    taken = identity.voice_bridge(BBB_SECRET, spec.occurrence_id, 0)
    query = signed_query(
        "create",
        [("name", "Чужое совещание"), ("meetingID", "other"), ("voiceBridge", taken)],
        BBB_SECRET,
    )
    await client.get(f"{bbb.api}/create?{query}")

    room = await bbb.create_room(spec)

    assert room.details["voice_bridge"] == identity.voice_bridge(BBB_SECRET, spec.occurrence_id, 1)
    assert room.sip_address == f"sip:{room.details['voice_bridge']}@{bbb.server.gateway_sip_host}"


async def test_join_links_make_the_teacher_moderator_and_schools_viewers(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, bbb = _platform(sims, client)
    room = await bbb.create_room(lesson())

    teacher = await _join(
        client, bbb.join_link(room, LinkRole.MODERATOR, "Иванова Мария Петровна", "u-17")
    )
    school = await _join(client, bbb.join_link(room, LinkRole.ATTENDEE, "МБОУ «СОШ №41»", "s-41"))
    state = await bbb.room_state(room)

    assert teacher.status_code == 200 and school.status_code == 200
    assert state.exists and state.running
    roles = {p.name: (p.role, p.kind, p.user_id) for p in state.participants}
    assert roles == {
        "Иванова Мария Петровна": (LinkRole.MODERATOR, ParticipantKind.PERSON, "u-17"),
        "МБОУ «СОШ №41»": (LinkRole.ATTENDEE, ParticipantKind.PERSON, "s-41"),
    }


async def test_old_servers_get_sha1_checksums_and_password_joins(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, bbb = _platform(sims, client, checksum_algorithm="sha1", join_with_role=False)
    room = await bbb.create_room(lesson())

    link = bbb.join_link(room, LinkRole.MODERATOR, "Петров Илья", "u-3")
    joined = await _join(client, link)
    pupil = await _join(client, bbb.join_link(room, LinkRole.ATTENDEE, "Ученик 9А", "p-1"))
    state = await bbb.room_state(room)

    assert "role=" not in link and "password=" in link
    assert len(link.rsplit("checksum=", 1)[1]) == 40
    assert joined.status_code == 200 and pupil.status_code == 200
    assert {p.name: p.role for p in state.people} == {
        "Петров Илья": LinkRole.MODERATOR,
        "Ученик 9А": LinkRole.ATTENDEE,
    }


async def test_load_counts_rooms_participants_and_declared_expectations(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, bbb = _platform(sims, client)
    busy = await bbb.create_room(lesson(expected=30))
    await bbb.create_room(lesson(expected=12))
    for pupil in range(3):
        await _join(client, bbb.join_link(busy, LinkRole.ATTENDEE, f"Ученик {pupil}", f"p{pupil}"))

    load = await bbb.load()

    assert load.answering and load.gateway_answering
    assert load.participants == 3
    assert sorted((r.participants, r.expected_participants) for r in load.rooms) == [
        (0, 12),
        (3, 30),
    ]
    assert load.gateway_ports_in_use == 0


async def test_end_closes_the_room_and_ending_twice_is_fine(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, bbb = _platform(sims, client)
    room = await bbb.create_room(lesson())
    await _join(client, bbb.join_link(room, LinkRole.MODERATOR, "Учитель", "u-1"))

    await bbb.end_room(room)
    await bbb.end_room(room)

    state = await bbb.room_state(room)
    assert not state.exists and not state.running
    assert await bbb.is_running(room) is False


# --- failures ----------------------------------------------------------------------------------
async def test_a_wrong_shared_secret_is_an_auth_failure(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, server = sims.bbb()
    bbb = BbbPlatform(server, "not-the-secret-of-this-server-0123456789", client)

    with pytest.raises(DeviceAuthFailed) as refused:
        await bbb.create_room(lesson())
    assert refused.value.details["message_key"] == "checksumError"


async def test_an_auth_failure_fault_is_an_auth_failure(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    device, bbb = _platform(sims, client)
    await sims.faults(device.id, auth_failure=True)

    with pytest.raises(DeviceAuthFailed):
        await bbb.room_state(await _room_before_fault(bbb))


async def _room_before_fault(bbb: BbbPlatform) -> Room:
    spec = lesson()
    return Room(
        spec.occurrence_id,
        bbb.server.id,
        PlatformKind.BBB,
        bbb.room_id_for(spec.occurrence_id),
        "",
        spec.opens_at,
        spec.ends_at,
    )


async def test_an_offline_server_is_unreachable_and_its_load_says_so(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    device, bbb = _platform(sims, client)
    await sims.faults(device.id, offline=True)

    with pytest.raises(DeviceUnreachable):
        await bbb.create_room(lesson())
    load = await bbb.load()

    assert not load.answering
    assert load.error_code == "device_unreachable"


async def test_a_server_slower_than_the_timeout_is_unreachable(sims: Sims) -> None:
    device, server = sims.bbb()
    await sims.faults(device.id, latency_ms=800)
    async with transport.new_client(timeout_s=0.2, verify_tls=False) as impatient:
        bbb = BbbPlatform(server, BBB_SECRET, impatient, options=BbbOptions(retry=RetryPolicy(1)))

        with pytest.raises(DeviceUnreachable, match="no answer in time"):
            await bbb.create_room(lesson())


async def test_server_errors_are_protocol_errors_after_a_retry(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    device, bbb = _platform(sims, client)
    await sims.faults(device.id, error_rate=1.0)

    with pytest.raises(DeviceProtocolError) as failed:
        await bbb.create_room(lesson())
    assert failed.value.details["status"] == 500


async def test_a_full_server_refuses_new_rooms_as_at_capacity(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    device, bbb = _platform(sims, client)
    await sims.faults(device.id, at_capacity=True)

    with pytest.raises(ServerAtCapacity):
        await bbb.create_room(lesson())


async def test_a_meeting_limit_on_the_server_is_at_capacity(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, server = sims.bbb(max_meetings=1)
    bbb = BbbPlatform(server, BBB_SECRET, client)
    await bbb.create_room(lesson())

    with pytest.raises(ServerAtCapacity):
        await bbb.create_room(lesson())
