"""The study week of each school (six days, Monday to Saturday, unless a school or its
municipality keeps five): the days off are refused or skipped like holidays, and no day,
availability or series offers lessons on them — on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from booking.bookings import Participant, Recurrence, SessionKind
from booking.errors import InvalidInput
from booking.repository import UnitOfWork
from booking.services import availability, inventory, schooltime
from booking.services.bookings import BookingRequest, DateStatus, create_booking
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]

SATURDAY = date(2026, 9, 12)
SUNDAY = date(2026, 9, 13)


def keep_five_days(uow_factory: UowFactory, region: Region, org_id: str) -> None:
    current = inventory.get_organisation(uow_factory(), region.rcc, org_id)
    inventory.update_organisation(
        uow_factory(), region.rcc, replace(current, study_days=5), expected_version=None
    )


def lesson(day: date, number: int = 3, **changes: object) -> BookingRequest:
    request = BookingRequest(
        title="Физика, 9 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Иванова Анна Петровна",
        participants=[
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            Participant("insar-school-1", "term-insar-1", "class", "9А"),
        ],
        on_date=day,
        lesson_number=number,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def test_a_lesson_on_sunday_is_refused(uow_factory: UowFactory, region: Region) -> None:
    with pytest.raises(InvalidInput, match=r"2026-09-13 is not a study day \(Sunday is a day off"):
        create_booking(uow_factory(), region.network_admin, lesson(SUNDAY), now=BEFORE_YEAR)

    saturday = create_booking(
        uow_factory(), region.network_admin, lesson(SATURDAY), now=BEFORE_YEAR
    )
    assert saturday.written


def test_a_five_day_week_set_on_the_municipality_is_inherited_by_its_schools(
    uow_factory: UowFactory, region: Region
) -> None:
    keep_five_days(uow_factory, region, "kemerovo")

    with pytest.raises(InvalidInput, match="Saturday is a day off"):
        create_booking(uow_factory(), region.network_admin, lesson(SATURDAY), now=BEFORE_YEAR)
    with uow_factory() as uow:
        stored = uow.organisations.get("kemerovo")
        assert stored is not None and stored.study_days == 5
        school = uow.organisations.get("kem-school-20")
        assert school is not None and school.study_days is None  # inherited, not copied


def test_a_weekly_series_skips_the_days_off_of_any_participant(
    uow_factory: UowFactory, region: Region
) -> None:
    keep_five_days(uow_factory, region, "insar-school-1")  # the partner keeps five days
    series = lesson(
        SATURDAY,
        on_date=None,
        lesson_number=None,
        recurrence=Recurrence([4, 5], date(2026, 9, 11), date(2026, 9, 19), lesson_number=3),
    )

    result = create_booking(uow_factory(), region.network_admin, series, now=BEFORE_YEAR)

    assert [o.local_date for o in result.occurrences] == [date(2026, 9, 11), date(2026, 9, 18)]
    skipped = [r for r in result.report if r.status == DateStatus.SKIPPED]
    assert [(r.local_date, r.reason) for r in skipped] == [
        (date(2026, 9, 12), "Saturday is a day off (five-day study week)"),
        (date(2026, 9, 19), "Saturday is a day off (five-day study week)"),
    ]


def test_the_school_day_and_availability_have_no_lessons_on_days_off(
    uow_factory: UowFactory, region: Region
) -> None:
    keep_five_days(uow_factory, region, "kem-school-12")

    sunday = schooltime.school_day(uow_factory(), region.rcc, "kem-school-20", SUNDAY)
    saturday_12 = schooltime.school_day(uow_factory(), region.rcc, "kem-school-12", SATURDAY)
    free_20 = availability.free_lessons(
        uow_factory(), region.rcc, site_id="kem-school-20", start_date=SATURDAY, end_date=SUNDAY
    )
    free_12 = availability.free_lessons(
        uow_factory(), region.rcc, site_id="kem-school-12", start_date=SATURDAY, end_date=SUNDAY
    )

    assert sunday.lessons == [] and sunday.day_off is not None
    assert sunday.day_off.reason == "Sunday is a day off (six-day study week)"
    assert saturday_12.lessons == []
    assert saturday_12.day_off is not None
    assert saturday_12.day_off.reason == "Saturday is a day off (five-day study week)"
    assert {f.local_date for f in free_20} == {SATURDAY}
    assert free_12 == []


def test_a_study_week_of_four_days_is_bad_input(uow_factory: UowFactory, region: Region) -> None:
    current = inventory.get_organisation(uow_factory(), region.rcc, "kemerovo")

    with pytest.raises(InvalidInput, match="5 or 6 days"):
        inventory.update_organisation(
            uow_factory(), region.rcc, replace(current, study_days=4), expected_version=None
        )
