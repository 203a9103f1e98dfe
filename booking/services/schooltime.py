"""School-time use cases: academic years, bell schedules, closures, and resolving
"school X, lesson N on a date" to local and UTC times."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from booking.access import Action, Principal, authorize
from booking.bells import BellSchedule, LessonSlot, day_lessons, lesson_number_at, lesson_slot
from booking.bookings import Booking, Occurrence, SessionKind
from booking.errors import Conflict, InvalidInput, NotFound
from booking.organisations import OrgKind
from booking.paging import Page, collection_page
from booking.repository import UnitOfWork
from booking.schoolyear import AcademicYear, Closure, DayOff, day_off
from booking.services.lookups import Lookups
from booking.services.records import add_first, check_unused, existing, replace_next
from booking.services.versions import check_version


# --- academic years ---------------------------------------------------------------------------
def _check_year(uow: UnitOfWork, year: AcademicYear) -> None:
    year.validate()
    for other in uow.academic_years.list(0, 1000):
        if other.id != year.id and other.start <= year.end and year.start <= other.end:
            raise InvalidInput(
                f"academic year {year.id} overlaps {other.id}", field="start", other=other.id
            )


def add_academic_year(uow: UnitOfWork, principal: Principal, year: AcademicYear) -> AcademicYear:
    authorize(principal, Action.MANAGE_REGION)
    with uow:
        check_unused(uow.academic_years, year, "academic year")
        _check_year(uow, year)
        return add_first(uow, uow.academic_years, year)


def update_academic_year(
    uow: UnitOfWork, principal: Principal, year: AcademicYear, *, expected_version: int | None
) -> AcademicYear:
    """Replace a year's calendar. Bookings already made are not re-planned."""
    authorize(principal, Action.MANAGE_REGION)
    with uow:
        current = existing(uow.academic_years, year.id, "academic year")
        check_version(f"academic year {year.id}", current.version, expected_version)
        _check_year(uow, year)
        return replace_next(uow, uow.academic_years, year, current)


def academic_years_page(
    uow: UnitOfWork, principal: Principal, *, offset: int = 0, limit: int = 100
) -> Page[AcademicYear]:
    """One page of the academic years, by id (`2026-27` before `2027-28`)."""
    authorize(principal, Action.READ)
    with uow:
        return collection_page(uow.academic_years, offset, limit)


def list_academic_years(uow: UnitOfWork, principal: Principal) -> list[AcademicYear]:
    authorize(principal, Action.READ)
    with uow:
        return sorted(uow.academic_years.list(0, 1000), key=lambda y: y.start)


# --- bell schedules ---------------------------------------------------------------------------
def add_bell_schedule(
    uow: UnitOfWork, principal: Principal, schedule: BellSchedule
) -> BellSchedule:
    authorize(principal, Action.MANAGE_REGION)
    schedule.validate()
    with uow:
        check_unused(uow.bell_schedules, schedule, "bell schedule")
        return add_first(uow, uow.bell_schedules, schedule)


def update_bell_schedule(
    uow: UnitOfWork, principal: Principal, schedule: BellSchedule, *, expected_version: int | None
) -> BellSchedule:
    """Replace the bells. Bookings already made keep the times they were resolved to."""
    authorize(principal, Action.MANAGE_REGION)
    schedule.validate()
    with uow:
        current = existing(uow.bell_schedules, schedule.id, "bell schedule")
        check_version(f"bell schedule {schedule.id}", current.version, expected_version)
        return replace_next(uow, uow.bell_schedules, schedule, current)


def get_bell_schedule(uow: UnitOfWork, principal: Principal, schedule_id: str) -> BellSchedule:
    authorize(principal, Action.READ)
    with uow:
        schedule = uow.bell_schedules.get(schedule_id)
        if schedule is None:
            raise NotFound(f"unknown bell schedule {schedule_id}")
        return schedule


def bell_schedules_page(
    uow: UnitOfWork, principal: Principal, *, offset: int = 0, limit: int = 100
) -> Page[BellSchedule]:
    authorize(principal, Action.READ)
    with uow:
        return collection_page(uow.bell_schedules, offset, limit)


def list_bell_schedules(uow: UnitOfWork, principal: Principal) -> list[BellSchedule]:
    authorize(principal, Action.READ)
    with uow:
        return list(uow.bell_schedules.list(0, 1000))


# --- closures ---------------------------------------------------------------------------------
def add_closure(uow: UnitOfWork, principal: Principal, closure: Closure) -> Closure:
    """Close a school or a whole municipality over inclusive dates (quarantine…). Bookings
    already made are not cancelled by this; new series skip the closed dates."""
    closure.validate()
    with uow:
        org = Lookups(uow).org(closure.org_id)
        if org.kind not in (OrgKind.SCHOOL, OrgKind.MUNICIPALITY):
            raise InvalidInput(
                f"closures apply to a school or a municipality, not a {org.kind}", field="org_id"
            )
        authorize(principal, Action.MANAGE_CALENDAR, [org])
        if uow.closures.get(closure.id) is not None:
            raise Conflict(f"closure {closure.id} already exists", id=closure.id)
        stored = replace(closure, version=1)
        uow.closures.add(stored)
        uow.commit()
        return stored


def delete_closure(uow: UnitOfWork, principal: Principal, closure_id: str) -> None:
    with uow:
        closure = uow.closures.get(closure_id)
        if closure is None:
            raise NotFound(f"unknown closure {closure_id}")
        authorize(principal, Action.MANAGE_CALENDAR, [Lookups(uow).org(closure.org_id)])
        uow.closures.delete(closure)
        uow.commit()


def list_closures(
    uow: UnitOfWork, principal: Principal, org_id: str, start: date, end: date
) -> list[Closure]:
    """Closures that apply to `org_id` (its own and those of organisations above it)."""
    if end < start:
        raise InvalidInput("the range ends before it starts", field="end")
    with uow:
        lookups = Lookups(uow)
        org = lookups.org(org_id)
        authorize(principal, Action.READ, [org])
        return sorted(lookups.closures([org], start, end), key=lambda c: (c.start, c.id))


def academic_span(
    uow: UnitOfWork, principal: Principal, on: date, *, quarter: int | None = None
) -> tuple[date, date]:
    """The first and last dates of the academic year containing `on`, or of its quarter
    `quarter` — what a recurrence "over a quarter" or "over the year" spans."""
    authorize(principal, Action.READ)
    with uow:
        year = Lookups(uow).year_for(on)
        if quarter is None:
            return year.start, year.end
        found = year.quarter(quarter)
        return found.start, found.end


# --- resolving lessons ------------------------------------------------------------------------
@dataclass(frozen=True)
class SchoolDay:
    """A school's date: its lessons (local and UTC), or why there are none."""

    school_id: str
    local_date: date
    day_off: DayOff | None
    shortened: bool
    lessons: list[LessonSlot]


def resolve_lesson(
    uow: UnitOfWork, principal: Principal, school_id: str, day: date, lesson_number: int
) -> LessonSlot:
    """ "School X, lesson N on `day`" → local start/end and UTC instants. A date outside
    every academic year or an unknown lesson number is InvalidInput."""
    with uow:
        lookups = Lookups(uow)
        school = lookups.org(school_id)
        authorize(principal, Action.READ, [school])
        bells = lookups.bells_of(school)
        if bells is None:
            raise InvalidInput(f"{school.name} has no bell schedule", field="school_id")
        year = lookups.year_for(day)
        return lesson_slot(bells, school.zone, day, lesson_number, shortened=year.is_shortened(day))


def school_day(uow: UnitOfWork, principal: Principal, school_id: str, day: date) -> SchoolDay:
    """The lessons of a school on a date; none (with the reason) on a day off."""
    with uow:
        lookups = Lookups(uow)
        school = lookups.org(school_id)
        authorize(principal, Action.READ, [school])
        bells = lookups.bells_of(school)
        if bells is None:
            raise InvalidInput(f"{school.name} has no bell schedule", field="school_id")
        year = lookups.year_for(day)
        off = day_off(
            day,
            year,
            lookups.closures([school], year.start, year.end),
            lookups.study_days([school]),
        )
        shortened = year.is_shortened(day)
        lessons = [] if off else day_lessons(bells, school.zone, day, shortened=shortened)
        return SchoolDay(school.id, day, off, shortened, lessons)


def own_lesson_numbers(
    uow: UnitOfWork, school_id: str, occurrences: Iterable[tuple[Occurrence, Booking]]
) -> dict[str, int | None]:
    """Each occurrence's lesson number in `school_id`'s own numbering (by occurrence id):
    the booked number where the school is the host, else the lesson of its own bells going
    on at the occurrence's start (None in a break, without bells, or on an event). For a
    school's calendar feed and answers (`booking.bells.lesson_number_at`)."""
    with uow:
        lookups = Lookups(uow)
        school = lookups.org(school_id)
        bells = lookups.bells_of(school) if school.kind == OrgKind.SCHOOL else None
        numbers: dict[str, int | None] = {}
        for occurrence, booking in occurrences:
            if booking.host_school_id == school.id:
                numbers[occurrence.id] = occurrence.lesson_number
                continue
            if bells is None or booking.kind == SessionKind.EVENT:
                numbers[occurrence.id] = None
                continue
            local_date = occurrence.start.astimezone(school.zone).date()
            year = lookups.year_covering(local_date)
            shortened = year is not None and year.is_shortened(local_date)
            numbers[occurrence.id] = lesson_number_at(
                bells, school.zone, occurrence.start, shortened=shortened
            )
        return numbers
