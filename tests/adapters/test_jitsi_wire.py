"""The Jitsi adapter against the Jitsi (prosody side) simulator over loopback: the simulator
accepts our JWTs for the room they name — moderator for the teacher, member for schools —
and the adapter reads presence and load from room-size, room and room-census."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.conference.jitsi import JitsiOptions, JitsiPlatform
from adapters.conference.platform import LinkRole, ParticipantKind, Room
from booking.errors import (
    DeviceAuthFailed,
    DeviceProtocolError,
    DeviceUnreachable,
    ServerAtCapacity,
)
from booking.resources import PlatformKind
from simulators.jitsi import JitsiServer
from tests.adapters.conference_sims import (
    JITSI_APP_ID,
    JITSI_SECRET,
    Sims,
    client,
    lesson,
    sim_host,
    sims,
)

__all__ = ["client", "sim_host", "sims"]


def _platform(
    sims: Sims,
    client: httpx.AsyncClient,
    *,
    server_options: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[JitsiServer, JitsiPlatform]:
    device, server = sims.jitsi(**(server_options or {}))
    options.setdefault("app_id", JITSI_APP_ID)
    return device, JitsiPlatform(server, JITSI_SECRET, client, options=JitsiOptions(**options))


async def _follow(client: httpx.AsyncClient, platform: JitsiPlatform, link: str) -> httpx.Response:
    """What the Meet web app does with a link: enter the room named in the path with the
    link's token (the simulator's stand-in for the XMPP join)."""
    parts = urlsplit(link)
    room = parts.path.strip("/")
    token = parse_qs(parts.query)["jwt"][0]
    return await client.post(f"{platform.api}/sim/rooms/{room}/participants", json={"token": token})


async def test_create_names_an_unguessable_room_and_is_idempotent(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, jitsi = _platform(sims, client)
    spec = lesson()

    room = await jitsi.create_room(spec)
    again = await jitsi.create_room(spec)

    assert room.platform is PlatformKind.JITSI
    assert room.room_id == jitsi.room_id_for(spec.occurrence_id) == again.room_id
    assert spec.occurrence_id not in room.room_id
    assert room.sip_address == f"sip:{room.room_id}@{jitsi.server.gateway_sip_host}"
    assert room.created  # nobody is in it yet


async def test_the_simulator_accepts_our_tokens_with_the_right_roles(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, jitsi = _platform(sims, client)
    room = await jitsi.create_room(lesson())

    teacher = await _follow(
        client,
        jitsi,
        jitsi.join_link(
            room,
            LinkRole.MODERATOR,
            "Иванова Мария Петровна",
            "u-17",
            "ivanova@school20.kuzbass.ru",
        ),
    )
    school = await _follow(
        client, jitsi, jitsi.join_link(room, LinkRole.ATTENDEE, "МБОУ «СОШ №41»", "s-41")
    )

    assert teacher.status_code == 201, teacher.text
    assert school.status_code == 201, school.text
    assert (teacher.json()["role"], school.json()["role"]) == ("owner", "member")
    assert teacher.json()["display_name"] == "Иванова Мария Петровна"


async def test_a_link_opens_only_its_own_room(sims: Sims, client: httpx.AsyncClient) -> None:
    _, jitsi = _platform(sims, client)
    ours = await jitsi.create_room(lesson())
    other = await jitsi.create_room(lesson())
    link = jitsi.join_link(ours, LinkRole.ATTENDEE, "Ученик", "p-1")
    token = parse_qs(urlsplit(link).query)["jwt"][0]

    refused = await client.post(
        f"{jitsi.api}/sim/rooms/{other.room_id}/participants", json={"token": token}
    )

    assert refused.status_code == 403


async def test_a_link_for_a_lesson_next_week_does_not_open_today(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, jitsi = _platform(sims, client)
    room = await jitsi.create_room(lesson(starts_in=timedelta(days=7)))

    early = await _follow(client, jitsi, jitsi.join_link(room, LinkRole.ATTENDEE, "Ученик", "p"))

    assert early.status_code == 401
    assert "not valid yet" in early.json()["reason"]


async def test_room_state_size_and_load_follow_the_participants(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, jitsi = _platform(sims, client)
    room = await jitsi.create_room(lesson(expected=30))
    empty = await jitsi.room_state(room)
    for n in range(3):
        await _follow(
            client, jitsi, jitsi.join_link(room, LinkRole.ATTENDEE, f"Ученик {n}", f"p{n}")
        )

    state = await jitsi.room_state(room)
    load = await jitsi.load()

    assert (empty.exists, empty.running, empty.participants) == (True, False, ())
    assert state.running
    assert sorted(p.name for p in state.people) == ["Ученик 0", "Ученик 1", "Ученик 2"]
    assert all(p.kind is ParticipantKind.PERSON for p in state.participants)
    assert await jitsi.room_size(room) == 3
    assert load.answering and load.gateway_answering
    assert [(r.room_id, r.participants) for r in load.rooms] == [(room.room_id, 3)]


async def test_room_size_with_token_verification_on(sims: Sims, client: httpx.AsyncClient) -> None:
    _, jitsi = _platform(
        sims, client, server_options={"roomsize_token_verification": True}, roomsize_token=True
    )
    room = await jitsi.create_room(lesson())
    await _follow(client, jitsi, jitsi.join_link(room, LinkRole.ATTENDEE, "Ученик", "p"))

    assert await jitsi.room_size(room) == 1


async def test_room_size_without_the_token_the_server_wants_is_an_auth_failure(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, jitsi = _platform(sims, client, server_options={"roomsize_token_verification": True})

    with pytest.raises(DeviceAuthFailed):
        await jitsi.room_size(_room(jitsi))


def _room(jitsi: JitsiPlatform) -> Room:
    spec = lesson()
    return Room(
        spec.occurrence_id,
        jitsi.server.id,
        PlatformKind.JITSI,
        jitsi.room_id_for(spec.occurrence_id),
        "",
        spec.opens_at,
        spec.ends_at,
    )


async def test_end_meeting_empties_the_room(sims: Sims, client: httpx.AsyncClient) -> None:
    _, jitsi = _platform(sims, client)
    room = await jitsi.create_room(lesson())
    await _follow(client, jitsi, jitsi.join_link(room, LinkRole.MODERATOR, "Учитель", "u"))

    await jitsi.end_room(room)
    await jitsi.end_room(room)  # already gone: fine

    assert (await jitsi.room_state(room)).running is False


# --- failures --------------------------------------------------------------------------------
async def test_a_full_deployment_refuses_a_new_room(sims: Sims, client: httpx.AsyncClient) -> None:
    _, server = sims.jitsi(max_rooms=1)
    jitsi = JitsiPlatform(server, JITSI_SECRET, client, options=JitsiOptions(app_id=JITSI_APP_ID))
    first = await jitsi.create_room(lesson())
    await _follow(client, jitsi, jitsi.join_link(first, LinkRole.ATTENDEE, "Ученик", "p"))

    with pytest.raises(ServerAtCapacity):
        await jitsi.create_room(lesson())
    assert (await jitsi.create_room(lesson(first.occurrence_id))).room_id == first.room_id


async def test_a_room_that_would_pass_the_participant_limit_is_refused(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, server = sims.jitsi(max_participants=40)
    jitsi = JitsiPlatform(server, JITSI_SECRET, client, options=JitsiOptions(app_id=JITSI_APP_ID))
    first = await jitsi.create_room(lesson())
    for n in range(20):
        await _follow(client, jitsi, jitsi.join_link(first, LinkRole.ATTENDEE, f"У{n}", f"p{n}"))

    with pytest.raises(ServerAtCapacity, match="limit of 40"):
        await jitsi.create_room(lesson(expected=25))


async def test_refused_tokens_show_when_the_server_refuses_every_token(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    device, jitsi = _platform(sims, client)
    room = await jitsi.create_room(lesson())
    await sims.faults(device.id, auth_failure=True)

    refused = await _follow(client, jitsi, jitsi.join_link(room, LinkRole.ATTENDEE, "У", "p"))

    assert refused.status_code == 401


async def test_an_offline_deployment_is_unreachable(sims: Sims, client: httpx.AsyncClient) -> None:
    device, jitsi = _platform(sims, client)
    await sims.faults(device.id, offline=True)

    with pytest.raises(DeviceUnreachable):
        await jitsi.create_room(lesson())
    assert (await jitsi.load()).answering is False


async def test_server_errors_are_protocol_errors(sims: Sims, client: httpx.AsyncClient) -> None:
    device, jitsi = _platform(sims, client)
    await sims.faults(device.id, error_rate=1.0)

    with pytest.raises(DeviceProtocolError):
        await jitsi.room_state(_room(jitsi))
