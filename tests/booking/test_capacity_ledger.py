"""The conference-capacity ledger: 5-minute buckets per pool, confirmed by the exact sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest

from booking.bookings import Booking, Occurrence, Participant, SessionKind
from booking.capacity import ANY, buckets, suspects, usage_of
from booking.conflicts import Capacity, ConflictKind
from booking.errors import BookingConflict
from booking.repository import UnitOfWork
from booking.resources import PlatformKind
from booking.services import bookings as svc
from booking.services.bookings import BookingRequest
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 9, 8, hh, mm, tzinfo=UTC)


def test_a_busy_range_covers_the_buckets_it_touches() -> None:
    assert list(buckets(at(1, 50), at(2, 30))) == [
        at(1, 50) + timedelta(minutes=5 * i) for i in range(8)
    ]
    assert list(buckets(at(1, 52), at(2, 1))) == [at(1, 50), at(1, 55), at(2, 0)]


def booking(platform: PlatformKind | None, participants: int = 30) -> Booking:
    return Booking(
        "b",
        "Физика",
        SessionKind.FULL_BROADCAST,
        "u",
        "kem-net-1",
        "kem-school-20",
        "Иванова",
        [Participant("kem-school-20", "term-kem-20-hall")],
        platform=platform,
        expected_participants=participants,
    )


def occurrence(start: datetime, end: datetime) -> Occurrence:
    return Occurrence(
        "o", "b", start, end, start - timedelta(minutes=10), date(2026, 9, 8), terminal_ids=["t"]
    )


def test_usage_of_an_occurrence_and_its_release() -> None:
    added = usage_of(booking(None), [occurrence(at(2), at(2, 40))])
    removed = usage_of(booking(None), [occurrence(at(2), at(2, 40))], sign=-1)

    assert len(added) == 10 and added[(ANY, at(1, 50))] == Capacity(1, 30, 1)
    assert removed[(ANY, at(2, 35))] == Capacity(-1, -30, -1)


def test_suspects_are_the_occurrences_whose_buckets_would_overflow() -> None:
    capacity = {PlatformKind.JITSI: Capacity(1, 100, 10), PlatformKind.BBB: Capacity(1, 100, 10)}
    stored = {("jitsi", at(2, 30)): Capacity(1, 30, 2)}
    early, late = occurrence(at(1), at(1, 40)), occurrence(at(2), at(2, 40))

    assert suspects(booking(PlatformKind.JITSI), [early, late], capacity, stored) == [late]
    # with no preference the booking may go to BBB: the whole fleet still has a room
    assert suspects(booking(None), [early, late], capacity, stored) == []


def with_one_room(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        for server_id in ("jitsi-1", "bbb-1"):
            server = uow.servers.get(server_id)
            assert server is not None
            server.max_rooms = 1 if server_id == "jitsi-1" else 0
            server.active = server_id == "jitsi-1"
            uow.servers.update(server)
        uow.commit()


def event(start: time, end: time, terminal: str, school: str) -> BookingRequest:
    return BookingRequest(
        title="Совещание",
        kind=SessionKind.EVENT,
        host_school_id=school,
        teacher="Орлов",
        participants=[Participant(school, terminal)],
        platform=PlatformKind.JITSI,
        on_date=date(2026, 9, 8),
        start_time=start,
        end_time=end,
        setup_minutes=0,
    )


def test_freed_capacity_can_be_booked_again(uow_factory: UowFactory, region: Region) -> None:
    with_one_room(uow_factory)
    first = svc.create_booking(
        uow_factory(),
        region.rcc,
        event(time(10), time(11), "term-kem-20-hall", "kem-school-20"),
        now=BEFORE_YEAR,
    )
    second = event(time(10, 30), time(11, 30), "term-kem-12", "kem-school-12")
    with pytest.raises(BookingConflict) as caught:
        svc.create_booking(uow_factory(), region.rcc, second, now=BEFORE_YEAR)
    assert caught.value.details["conflicts"][0].kind == ConflictKind.SERVER_CAPACITY

    svc.cancel_booking(uow_factory(), region.rcc, first.booking.id, now=BEFORE_YEAR)

    assert svc.create_booking(uow_factory(), region.rcc, second, now=BEFORE_YEAR).written


def test_a_moved_occurrence_frees_its_old_capacity(uow_factory: UowFactory, region: Region) -> None:
    with_one_room(uow_factory)
    first = svc.create_booking(
        uow_factory(),
        region.rcc,
        event(time(10), time(11), "term-kem-20-hall", "kem-school-20"),
        now=BEFORE_YEAR,
    )
    [occurrence] = first.occurrences

    svc.move_occurrence(
        uow_factory(),
        region.rcc,
        occurrence.id,
        now=BEFORE_YEAR,
        start_time=time(12),
        end_time=time(13),
    )

    assert svc.create_booking(
        uow_factory(),
        region.rcc,
        event(time(10, 30), time(11, 30), "term-kem-12", "kem-school-12"),
        now=BEFORE_YEAR,
    ).written


def test_sessions_sharing_a_bucket_but_not_an_instant_both_fit(
    uow_factory: UowFactory, region: Region
) -> None:
    with_one_room(uow_factory)
    svc.create_booking(
        uow_factory(),
        region.rcc,
        event(time(10), time(10, 42), "term-kem-20-hall", "kem-school-20"),
        now=BEFORE_YEAR,
    )

    # 10:43 shares the 10:40 bucket with the session ending 10:42, yet they never overlap
    result = svc.create_booking(
        uow_factory(),
        region.rcc,
        event(time(10, 43), time(11, 20), "term-kem-12", "kem-school-12"),
        now=BEFORE_YEAR,
    )

    assert result.written
