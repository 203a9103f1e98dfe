"""Room identity, room specs and SIP addresses: the pure parts of the conference adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.conference import identity
from adapters.conference.platform import Room, RoomSpec
from adapters.conference.sip import normalise, same_address
from booking.errors import InvalidInput
from booking.resources import PlatformKind

NOVOKUZNETSK = ZoneInfo("Asia/Novokuznetsk")
START = datetime(2026, 10, 6, 10, 0, tzinfo=NOVOKUZNETSK)


def test_the_same_occurrence_always_gets_the_same_jitsi_room() -> None:
    first = identity.jitsi_room_name("secret-a", "occ-2026-10-06-phys-9a")

    assert first == identity.jitsi_room_name("secret-a", "occ-2026-10-06-phys-9a")
    assert first.startswith("vks") and first == first.lower() and len(first) == 27


def test_jitsi_room_names_cannot_be_guessed_from_the_occurrence() -> None:
    name = identity.jitsi_room_name("secret-a", "occ-2026-10-06-phys-9a")

    assert "occ" not in name and "phys" not in name
    assert name != identity.jitsi_room_name("secret-b", "occ-2026-10-06-phys-9a")
    assert name != identity.jitsi_room_name("secret-a", "occ-2026-10-13-phys-9a")


def test_bbb_meeting_id_is_readable_and_free_of_commas() -> None:
    assert identity.bbb_meeting_id("occ-17") == "vks-occ-17"
    assert "," not in identity.bbb_meeting_id("occ,17 x")


def test_voice_bridges_are_five_digits_and_the_candidates_differ() -> None:
    candidates = [identity.voice_bridge("s", "occ-17", attempt) for attempt in range(8)]

    assert all(len(c) == 5 and 10000 <= int(c) <= 99999 for c in candidates)
    assert len(set(candidates)) == 8
    assert candidates[0] == identity.voice_bridge("s", "occ-17")


def test_bbb_passwords_differ_by_role_and_are_stable() -> None:
    moderator = identity.bbb_password("s", "occ-17", "moderator")

    assert moderator == identity.bbb_password("s", "occ-17", "moderator")
    assert moderator != identity.bbb_password("s", "occ-17", "attendee")


def _spec(**changes: object) -> RoomSpec:
    values: dict[str, object] = {
        "occurrence_id": "occ-17",
        "booking_id": "bk-3",
        "title": "Химия, 10 класс",
        "starts_at": START,
        "ends_at": START + timedelta(minutes=40),
        "setup_starts_at": START - timedelta(minutes=15),
    }
    values.update(changes)
    return RoomSpec(**values)  # type: ignore[arg-type]


def test_a_room_opens_at_the_start_of_the_set_up_buffer() -> None:
    assert _spec().opens_at == START - timedelta(minutes=15)
    assert _spec(setup_starts_at=None).opens_at == START


@pytest.mark.parametrize(
    "changes",
    [
        {"starts_at": datetime(2026, 10, 6, 10, 0)},
        {"ends_at": START},
        {"setup_starts_at": START + timedelta(minutes=1)},
        {"expected_participants": 0},
        {"terminals": -1},
        {"occurrence_id": ""},
    ],
)
def test_impossible_room_specs_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        _spec(**changes)


def test_a_room_survives_its_record_form() -> None:
    room = Room(
        "occ-17",
        "bbb-1",
        PlatformKind.BBB,
        "vks-occ-17",
        "sip:48213@gw.kuzbass.example.ru",
        START.astimezone(UTC),
        (START + timedelta(minutes=40)).astimezone(UTC),
        {"voice_bridge": "48213"},
        created=True,
    )

    assert Room.from_record(room.as_record()) == room


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sip:48213@127.0.0.1:18201", "48213@127.0.0.1:18201"),
        ("SIP:VksRoom@GW.example.ru;transport=tls", "vksroom@gw.example.ru"),
        ("<sips:term-20@vks.example.ru>", "sip:term-20@vks.example.ru"),
    ],
)
def test_sip_addresses_compare_without_scheme_case_or_parameters(a: str, b: str) -> None:
    assert same_address(a, b)
    assert normalise(a) == normalise(b)


def test_different_sip_addresses_and_empty_ones_do_not_match() -> None:
    assert not same_address("sip:48213@gw", "sip:48214@gw")
    assert not same_address("", "")
