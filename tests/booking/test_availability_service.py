"""Availability: free terminals for a slot, free lessons of a site or terminal (local time
and UTC), free clock intervals — on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

import pytest

from booking.bookings import Participant, SessionKind
from booking.errors import BookingConflict, Forbidden, InvalidInput
from booking.repository import UnitOfWork
from booking.schoolyear import Closure
from booking.services import availability
from booking.services.bookings import BookingRequest, create_booking
from booking.services.policy import Policy
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]


def book_lesson(
    uow_factory: UowFactory, region: Region, day: date, lesson: int, *terminals: str
) -> None:
    participants = [Participant("kem-school-20", t) for t in terminals if "kem-20" in t]
    participants += [Participant("insar-school-1", t) for t in terminals if "insar" in t]
    request = BookingRequest(
        title="Информатика",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Смирнов С.С.",
        participants=participants,
        on_date=day,
        lesson_number=lesson,
    )
    assert create_booking(uow_factory(), region.network_admin, request, now=BEFORE_YEAR).written


def test_free_terminals_for_a_slot_in_the_callers_subtree(
    uow_factory: UowFactory, region: Region
) -> None:
    book_lesson(uow_factory, region, date(2026, 9, 8), 3, "term-kem-20-hall")
    lesson_3 = (datetime(2026, 9, 8, 2, 45, tzinfo=UTC), datetime(2026, 9, 8, 3, 25, tzinfo=UTC))

    free = availability.free_terminals(uow_factory(), region.network_admin, *lesson_3)

    # the network's active terminals, minus the busy hall (the retired codec never shows)
    assert [t.id for t in free] == ["term-insar-1", "term-kem-12", "term-kem-20-it"]
    everywhere = availability.free_terminals(uow_factory(), region.rcc, *lesson_3)
    assert {t.id for t in everywhere} == {
        "term-insar-1",
        "term-kem-12",
        "term-kem-20-it",
        "term-nvk-5",
        "term-rcc-1",
    }


def test_a_set_up_buffer_makes_a_terminal_busy_earlier(
    uow_factory: UowFactory, region: Region
) -> None:
    book_lesson(uow_factory, region, date(2026, 9, 8), 2, "term-kem-20-hall")  # until 02:30 UTC
    lesson_3 = (datetime(2026, 9, 8, 2, 45, tzinfo=UTC), datetime(2026, 9, 8, 3, 25, tzinfo=UTC))

    relaxed = availability.free_terminals(
        uow_factory(), region.rcc, *lesson_3, org_id="kem-school-20"
    )
    strict = availability.free_terminals(
        uow_factory(), region.rcc, *lesson_3, org_id="kem-school-20", setup_minutes=20
    )

    assert [t.id for t in relaxed] == ["term-kem-20-hall", "term-kem-20-it"]
    assert [t.id for t in strict] == ["term-kem-20-it"]


def test_free_terminals_count_the_same_set_up_as_a_booking(
    uow_factory: UowFactory, region: Region
) -> None:
    book_lesson(uow_factory, region, date(2026, 9, 8), 3, "term-kem-20-hall")  # until 03:25 UTC
    five_minutes_later = (
        datetime(2026, 9, 8, 3, 30, tzinfo=UTC),
        datetime(2026, 9, 8, 4, 10, tzinfo=UTC),
    )

    free = availability.free_terminals(
        uow_factory(), region.rcc, *five_minutes_later, org_id="kem-school-20"
    )

    # a booking there takes the hall from 03:20 (its default 10-minute set-up): not free
    assert [t.id for t in free] == ["term-kem-20-it"]
    request = BookingRequest(
        title="Кружок робототехники",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Смирнов С.С.",
        participants=[Participant("kem-school-20", "term-kem-20-hall")],
        start=five_minutes_later[0],
        end=five_minutes_later[1],
    )
    with pytest.raises(BookingConflict):
        create_booking(uow_factory(), region.rcc, request, now=BEFORE_YEAR)


def test_free_lessons_of_a_site_in_local_time_and_utc(
    uow_factory: UowFactory, region: Region
) -> None:
    book_lesson(uow_factory, region, date(2026, 9, 8), 3, "term-kem-20-hall", "term-kem-20-it")

    lessons = availability.free_lessons(
        uow_factory(),
        region.network_admin,
        site_id="kem-school-20",
        start_date=date(2026, 9, 8),
        end_date=date(2026, 9, 8),
    )

    assert [lesson.lesson_number for lesson in lessons] == [1, 2, 4, 5, 6, 7]
    fourth = lessons[2]
    assert fourth.local_start.strftime("%Y-%m-%d %H:%M %z") == "2026-09-08 10:40 +0700"
    assert fourth.start == datetime(2026, 9, 8, 3, 40, tzinfo=UTC)
    assert fourth.terminal_ids == ("term-kem-20-hall", "term-kem-20-it")


def test_free_lessons_in_moscow_time_for_the_insar_terminal(
    uow_factory: UowFactory, region: Region
) -> None:
    # the Kemerovo 6th lesson (05:20–06:00 UTC, set-up from 05:10) takes the Insar terminal
    # over its 1st lesson (08:00–08:40 Moscow = 05:00–05:40 UTC) and, counting the set-up
    # buffer, its 2nd (08:50 Moscow = 05:50 UTC, set-up from 05:40)
    book_lesson(uow_factory, region, date(2026, 9, 8), 6, "term-kem-20-hall", "term-insar-1")

    lessons = availability.free_lessons(
        uow_factory(),
        region.network_admin,
        terminal_id="term-insar-1",
        start_date=date(2026, 9, 8),
        end_date=date(2026, 9, 8),
    )

    assert [lesson.lesson_number for lesson in lessons] == [3, 4, 5, 6, 7]
    assert lessons[0].local_start.strftime("%H:%M %z") == "09:45 +0300"
    assert lessons[0].start == datetime(2026, 9, 8, 6, 45, tzinfo=UTC)


def test_days_off_have_no_free_lessons(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow:
        uow.closures.add(Closure("q", "kemerovo", date(2026, 11, 9), date(2026, 11, 9), "морозы"))
        uow.commit()

    lessons = availability.free_lessons(
        uow_factory(),
        region.rcc,
        site_id="kem-school-12",
        start_date=date(2026, 11, 2),
        end_date=date(2026, 11, 10),  # holidays, 4 Nov, a closure
    )

    assert {lesson.local_date for lesson in lessons} == {
        date(2026, 11, 5),
        date(2026, 11, 6),
        date(2026, 11, 7),
        date(2026, 11, 10),  # 8 November is a Sunday
    }


def test_lessons_already_begun_are_not_offered(uow_factory: UowFactory, region: Region) -> None:
    now = datetime(2026, 9, 8, 3, 0, tzinfo=UTC)  # 10:00 in Kemerovo

    lessons = availability.free_lessons(
        uow_factory(),
        region.rcc,
        site_id="kem-school-20",
        start_date=date(2026, 9, 8),
        end_date=date(2026, 9, 8),
        now=now,
    )

    assert [lesson.lesson_number for lesson in lessons] == [4, 5, 6, 7]


def test_free_intervals_of_a_terminal(uow_factory: UowFactory, region: Region) -> None:
    book_lesson(uow_factory, region, date(2026, 9, 8), 3, "term-kem-20-hall")  # 09:35–10:25 busy

    intervals = availability.free_intervals(
        uow_factory(),
        region.rcc,
        "term-kem-20-hall",
        start_date=date(2026, 9, 8),
        end_date=date(2026, 9, 8),
        day_start=time(8),
        day_end=time(12),
        min_minutes=30,
    )

    assert [
        (i.local_start.strftime("%H:%M"), i.local_end.strftime("%H:%M")) for i in intervals
    ] == [
        ("08:00", "09:35"),
        ("10:25", "12:00"),
    ]


def test_availability_is_scoped_and_ranges_are_bounded(
    uow_factory: UowFactory, region: Region
) -> None:
    with pytest.raises(Forbidden):
        availability.free_lessons(
            uow_factory(),
            region.other_network_admin,
            site_id="kem-school-20",
            start_date=date(2026, 9, 8),
            end_date=date(2026, 9, 8),
        )
    with pytest.raises(InvalidInput, match="more than the allowed 14"):
        availability.free_lessons(
            uow_factory(),
            region.rcc,
            site_id="kem-school-20",
            start_date=date(2026, 9, 1),
            end_date=date(2026, 9, 30),
            policy=Policy(max_range_days=14),
        )
    with pytest.raises(InvalidInput, match="naive"):
        availability.free_terminals(
            uow_factory(), region.rcc, datetime(2026, 9, 8, 9), datetime(2026, 9, 8, 10)
        )
