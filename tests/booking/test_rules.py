"""The booking rules as pure functions: terminals, classes, conference capacity sweep."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from booking.bookings import Occurrence, Reservation, SessionKind
from booking.conflicts import (
    BusyIndex,
    Capacity,
    ClassSession,
    ConflictKind,
    ServerLoad,
    capacity_conflicts,
    class_conflicts,
    self_overlaps,
    terminal_conflicts,
)
from booking.resources import PlatformKind
from vks.web.i18n import said

DAY = date(2026, 9, 8)


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 9, 8, hh, mm, tzinfo=UTC)


def occurrence(
    start: datetime, end: datetime, setup: int = 10, terminals: list[str] | None = None
) -> Occurrence:
    return Occurrence(
        id=f"new-{start:%H%M}",
        booking_id="new",
        start=start,
        end=end,
        setup_start=start - timedelta(minutes=setup),
        local_date=DAY,
        terminal_ids=terminals if terminals is not None else ["term-kem-20-hall"],
    )


def reservation(
    start: datetime, end: datetime, terminal: str = "term-kem-20-hall", booking: str = "old"
) -> Reservation:
    return Reservation(f"{booking}-occ", booking, terminal, start, end)


def test_the_set_up_buffer_makes_a_lesson_clash_with_the_one_before() -> None:
    # existing: lesson 2 (01:50–02:30 UTC); new: lesson 3 at 02:45 with a 20-minute set-up
    existing = [reservation(at(1, 40), at(2, 30))]

    clashes = terminal_conflicts([occurrence(at(2, 45), at(3, 25), setup=20)], existing)

    assert [(c.kind, c.terminal_id, c.other_booking_id) for c in clashes] == [
        (ConflictKind.TERMINAL_BUSY, "term-kem-20-hall", "old")
    ]


def test_back_to_back_ranges_do_not_clash() -> None:
    existing = [reservation(at(1, 40), at(2, 35))]

    assert terminal_conflicts([occurrence(at(2, 45), at(3, 25), setup=10)], existing) == []


def test_a_long_event_started_early_still_takes_a_later_lesson_of_its_terminal() -> None:
    # an all-morning exam (00:30–04:00 UTC) among short lessons of the same hall terminal
    exam = reservation(at(0, 30), at(4, 0), booking="exam")
    lessons = [reservation(at(h, 0), at(h, 40), booking=f"l{h}") for h in (1, 2, 5, 6)]
    busy = BusyIndex([*lessons, exam])

    clashes = busy.clashes("term-kem-20-hall", at(3, 0), at(3, 40))

    assert [r.booking_id for r in clashes] == ["exam"]
    assert [r.booking_id for r in busy.clashes("term-kem-20-hall", at(5, 30), at(6, 10))] == [
        "l5",
        "l6",
    ]
    assert busy.is_free("term-kem-20-hall", at(4, 0), at(5, 0))


def test_another_terminal_and_the_booking_itself_are_not_conflicts() -> None:
    existing = [
        reservation(at(2, 30), at(3, 25), terminal="term-kem-20-it"),
        reservation(at(2, 30), at(3, 25), booking="new"),
    ]

    assert (
        terminal_conflicts([occurrence(at(2, 45), at(3, 25))], existing, ignore_booking_id="new")
        == []
    )


def test_the_same_class_in_two_sessions_at_once_is_a_conflict_but_set_up_time_is_not() -> None:
    other = ClassSession("o1", "physics", "kem-school-12", "9А", at(2, 0), at(2, 40))
    planned = [occurrence(at(2, 40), at(3, 20), setup=15), occurrence(at(2, 30), at(3, 10))]

    clashes = class_conflicts(planned, [("kem-school-12", "9А")], [other])

    assert len(clashes) == 1
    assert clashes[0].start == at(2, 30)
    assert clashes[0].class_name == "9А" and clashes[0].other_booking_id == "physics"


def test_a_series_whose_sessions_overlap_is_detected() -> None:
    first = occurrence(at(2), at(3))
    second = occurrence(at(2, 55), at(4))

    assert self_overlaps([second, first]) == [(first, second)]


def load(
    start: datetime, end: datetime, platform: PlatformKind | None, participants: int = 30
) -> ServerLoad:
    return ServerLoad(
        f"o{start:%H%M}",
        f"b{start:%H%M}",
        SessionKind.FULL_BROADCAST,
        platform,
        start,
        end,
        participants,
        2,
    )


def test_capacity_sweep_counts_only_what_runs_at_the_same_instant() -> None:
    # two rooms on a 2-room Jitsi fleet, but the two existing sessions never overlap each other
    existing = [
        load(at(2), at(2, 30), PlatformKind.JITSI),
        load(at(2, 30), at(3), PlatformKind.JITSI),
    ]
    capacity = {PlatformKind.JITSI: Capacity(2, 400, 60), PlatformKind.BBB: Capacity()}

    clashes = capacity_conflicts(
        [occurrence(at(2, 10), at(2, 50))],
        platform=PlatformKind.JITSI,
        demand=Capacity(1, 30, 2),
        capacity=capacity,
        load=existing,
    )

    assert clashes == []


def test_capacity_sweep_finds_the_instant_where_rooms_run_out() -> None:
    existing = [
        load(at(2), at(2, 30), PlatformKind.JITSI),
        load(at(2, 20), at(3), PlatformKind.JITSI),  # overlaps the first at 02:20–02:30
        load(at(2, 20), at(3), PlatformKind.BBB),  # another kind: does not count for Jitsi
    ]
    capacity = {PlatformKind.JITSI: Capacity(2, 400, 60), PlatformKind.BBB: Capacity(5, 400, 60)}

    clashes = capacity_conflicts(
        [occurrence(at(2, 10), at(2, 50))],
        platform=PlatformKind.JITSI,
        demand=Capacity(1, 30, 2),
        capacity=capacity,
        load=existing,
    )

    assert len(clashes) == 1
    assert clashes[0].kind == ConflictKind.SERVER_CAPACITY
    assert "jitsi servers at 2026-09-08 02:20 UTC: rooms 3/2" in clashes[0].message


def test_the_capacity_conflict_is_said_in_russian_on_a_page_and_in_english_by_the_api() -> None:
    existing = [load(at(2), at(3), PlatformKind.BBB), load(at(2), at(3), PlatformKind.BBB)]
    capacity = {PlatformKind.BBB: Capacity(2, 400, 60), PlatformKind.JITSI: Capacity()}

    [clash] = capacity_conflicts(
        [occurrence(at(2, 10), at(2, 50))],
        platform=PlatformKind.BBB,
        demand=Capacity(1, 30, 2),
        capacity=capacity,
        load=existing,
    )

    assert clash.message == (
        "conference capacity exceeded — bbb servers at 2026-09-08 02:00 UTC: rooms 3/2"
    )
    assert said(clash, "ru") == (
        "не хватает ёмкости серверов конференций — серверы bbb в 2026-09-08 02:00 UTC:"
        " комнат 3 из 2"
    )


def test_participants_and_gateway_ports_count_too() -> None:
    existing = [load(at(2), at(3), PlatformKind.BBB, participants=380)]
    capacity = {PlatformKind.JITSI: Capacity(), PlatformKind.BBB: Capacity(40, 400, 60)}

    clashes = capacity_conflicts(
        [occurrence(at(2, 10), at(2, 50))],
        platform=PlatformKind.BBB,
        demand=Capacity(1, 30, 2),
        capacity=capacity,
        load=existing,
    )

    assert "participants 410/400" in clashes[0].message


def test_sessions_without_a_platform_preference_count_against_the_whole_fleet() -> None:
    existing = [load(at(2), at(3), None), load(at(2), at(3), None)]
    capacity = {PlatformKind.JITSI: Capacity(1, 400, 60), PlatformKind.BBB: Capacity(1, 400, 60)}

    clashes = capacity_conflicts(
        [occurrence(at(2, 10), at(2, 50))],
        platform=None,
        demand=Capacity(1, 30, 2),
        capacity=capacity,
        load=existing,
    )

    assert "all servers" in clashes[0].message and "rooms 3/2" in clashes[0].message


def test_recordings_and_lms_lessons_take_no_server_capacity() -> None:
    existing = [
        ServerLoad("r", "rec", SessionKind.RECORDING, PlatformKind.JITSI, at(2), at(3), 30, 0),
        ServerLoad("l", "lms", SessionKind.LMS, PlatformKind.JITSI, at(2), at(3), 30, 0),
    ]
    capacity = {PlatformKind.JITSI: Capacity(1, 400, 60), PlatformKind.BBB: Capacity()}

    assert (
        capacity_conflicts(
            [occurrence(at(2, 10), at(2, 50))],
            platform=PlatformKind.JITSI,
            demand=Capacity(1, 30, 2),
            capacity=capacity,
            load=existing,
        )
        == []
    )
