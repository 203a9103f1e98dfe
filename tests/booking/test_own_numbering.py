"""Each school numbers a lesson by its own bells: a lesson booked as the host's 7th
(13:10 in Kemerovo, UTC+7) is the Insar school's 2nd (09:10 Moscow, within its 08:50–09:30)
— on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from booking.bells import lesson_number_at
from booking.bookings import Participant, SessionKind
from booking.repository import UnitOfWork
from booking.services.bookings import BookingRequest, create_booking
from booking.services.schooltime import own_lesson_numbers
from tests.booking.kuzbass import BEFORE_YEAR, MOSCOW_TZ, STANDARD_BELLS, Region

UowFactory = Callable[[], UnitOfWork]
MOSCOW = ZoneInfo(MOSCOW_TZ)


def test_the_lesson_going_on_at_an_instant_by_a_schools_own_bells() -> None:
    at_0910_moscow = datetime(2026, 9, 8, 6, 10, tzinfo=UTC)
    at_0840_moscow = datetime(2026, 9, 8, 5, 40, tzinfo=UTC)  # the break after lesson 1
    at_0545_moscow = datetime(2026, 9, 8, 2, 45, tzinfo=UTC)  # before the school day

    assert lesson_number_at(STANDARD_BELLS, MOSCOW, at_0910_moscow) == 2
    assert lesson_number_at(STANDARD_BELLS, MOSCOW, at_0840_moscow) is None
    assert lesson_number_at(STANDARD_BELLS, MOSCOW, at_0545_moscow) is None
    at_0845_moscow = datetime(2026, 9, 8, 5, 45, tzinfo=UTC)  # a break; shortened: lesson 2
    assert lesson_number_at(STANDARD_BELLS, MOSCOW, at_0845_moscow) is None
    assert lesson_number_at(STANDARD_BELLS, MOSCOW, at_0845_moscow, shortened=True) == 2


def test_the_partner_school_sees_its_own_lesson_number(
    uow_factory: UowFactory, region: Region
) -> None:
    request = BookingRequest(
        title="Физика, 9 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Иванова Анна Петровна",
        participants=[
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            Participant("insar-school-1", "term-insar-1", "class", "9А"),
        ],
        on_date=date(2026, 9, 8),
        lesson_number=7,
    )
    created = create_booking(uow_factory(), region.network_admin, request, now=BEFORE_YEAR)
    occurrence = created.occurrences[0]
    pairs = [(occurrence, created.booking)]

    for_insar = own_lesson_numbers(uow_factory(), "insar-school-1", pairs)
    for_host = own_lesson_numbers(uow_factory(), "kem-school-20", pairs)

    assert occurrence.lesson_number == 7
    assert for_insar == {occurrence.id: 2}
    assert for_host == {occurrence.id: 7}
