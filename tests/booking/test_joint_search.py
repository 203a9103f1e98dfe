"""The joint search: lessons free for several schools at once, in every school's local time
and own lesson number, within every school's day — on memory, SQLite and PostgreSQL.

Kemerovo (UTC+7) hosts, the Insar school (UTC+3) takes part: of the host's 7 lessons only
the 6th (12:20, 08:20 in Moscow — Insar's 1st) and the 7th (13:10, 09:10 Moscow — Insar's
2nd) fall within the Insar school's day (08:00–13:50 Moscow)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from booking.bookings import Participant, SessionKind
from booking.errors import InvalidInput
from booking.repository import UnitOfWork
from booking.services.bookings import BookingRequest, create_booking
from booking.services.joint import joint_free_lessons
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]
TUESDAY = date(2026, 9, 8)
SITES = ["kem-school-20", "insar-school-1"]


def book_insar(uow_factory: UowFactory, region: Region, day: date, lesson: int) -> None:
    request = BookingRequest(
        title="Английский язык, 7 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-12",
        teacher="Кузнецова О.В.",
        participants=[
            Participant("kem-school-12", "term-kem-12"),
            Participant("insar-school-1", "term-insar-1"),
        ],
        on_date=day,
        lesson_number=lesson,
    )
    assert create_booking(uow_factory(), region.network_admin, request, now=BEFORE_YEAR).written


def test_the_lessons_free_for_both_schools_in_each_schools_time_and_numbering(
    uow_factory: UowFactory, region: Region
) -> None:
    slots = joint_free_lessons(
        uow_factory(), region.network_admin, SITES, start_date=TUESDAY, end_date=TUESDAY
    )

    assert [s.host_lesson_number for s in slots] == [6, 7]
    sixth = slots[0]
    assert sixth.start == datetime(2026, 9, 8, 5, 20, tzinfo=UTC)
    kemerovo, insar = sixth.schools
    assert (kemerovo.school_id, kemerovo.lesson_number) == ("kem-school-20", 6)
    assert kemerovo.local_start.strftime("%H:%M %z") == "12:20 +0700"
    assert (insar.school_id, insar.lesson_number) == ("insar-school-1", 1)
    assert insar.local_start.strftime("%H:%M %z") == "08:20 +0300"
    assert sixth.terminal_ids == {
        "kem-school-20": ("term-kem-20-hall", "term-kem-20-it"),
        "insar-school-1": ("term-insar-1",),
    }


def test_a_weekly_search_keeps_only_lessons_free_on_every_date(
    uow_factory: UowFactory, region: Region
) -> None:
    book_insar(uow_factory, region, date(2026, 9, 15), 7)  # the Insar terminal, one Tuesday

    slots = joint_free_lessons(
        uow_factory(),
        region.network_admin,
        SITES,
        start_date=date(2026, 9, 1),
        end_date=date(2026, 9, 30),
        weekdays=[1],
        weekly=True,
    )

    assert [(s.weekday, s.host_lesson_number) for s in slots] == [(1, 6)]
    assert slots[0].dates == (
        date(2026, 9, 1),
        date(2026, 9, 8),
        date(2026, 9, 15),
        date(2026, 9, 22),
        date(2026, 9, 29),
    )


def test_a_partner_of_another_network_may_be_searched_by_whoever_books(
    uow_factory: UowFactory, region: Region
) -> None:
    slots = joint_free_lessons(
        uow_factory(),
        region.network_admin,
        ["kem-school-20", "nvk-school-5"],  # СОШ №5 belongs to the Novokuznetsk network
        start_date=TUESDAY,
        end_date=TUESDAY,
    )

    assert [s.host_lesson_number for s in slots] == [1, 2, 3, 4, 5, 6, 7]
    # its free or busy time is answered, its terminals not named outside its network
    assert slots[0].terminal_ids["nvk-school-5"] == ()
    assert slots[0].terminal_ids["kem-school-20"] == ("term-kem-20-hall", "term-kem-20-it")


def test_a_joint_search_needs_two_schools(uow_factory: UowFactory, region: Region) -> None:
    with pytest.raises(InvalidInput, match="2 to 20 different schools"):
        joint_free_lessons(
            uow_factory(),
            region.network_admin,
            ["kem-school-20", "kem-school-20"],
            start_date=TUESDAY,
            end_date=TUESDAY,
        )
