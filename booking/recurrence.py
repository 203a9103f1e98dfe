"""Expanding a weekly `Recurrence` into dated lesson slots, with a report of skipped dates.

The host school's calendar decides: its time zone, its bell schedule (per date — shortened
days use the shortened bells), the academic year's holidays and public holidays, and the
closures of the host and the participating schools. Every date the recurrence names is
either kept (a `LessonSlot`, local and UTC) or skipped with a reason.

A/B weeks: `week_parity` "A" keeps the weeks with an even number of weeks since the ISO week
in which the academic year starts, "B" the odd ones, so A and B series of different start
dates stay in step with the school's own rotation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from booking.bells import BellSchedule, LessonSlot, clock_slot, lesson_slot
from booking.bookings import Recurrence
from booking.errors import InvalidInput
from booking.schoolyear import SIX_DAY_WEEK, AcademicYear, Closure, day_off


class SkipKind(StrEnum):
    OUTSIDE_YEAR = "outside_year"
    PUBLIC_HOLIDAY = "public_holiday"
    HOLIDAY = "holiday"
    WEEKEND = "weekend"  # a day off of the study week
    CLOSURE = "closure"
    NO_LESSON = "no_lesson"  # a shortened day has no such lesson
    PAST = "past"  # already begun: past occurrences are never created or changed


@dataclass(frozen=True)
class SkippedDate:
    local_date: date
    kind: SkipKind
    reason: str


@dataclass
class Expansion:
    slots: list[LessonSlot] = field(default_factory=list)
    skipped: list[SkippedDate] = field(default_factory=list)


def span_of_quarter(year: AcademicYear, number: int) -> tuple[date, date]:
    quarter = year.quarter(number)
    return quarter.start, quarter.end


def span_of_year(year: AcademicYear) -> tuple[date, date]:
    return year.start, year.end


def week_index(day: date, origin: date) -> int:
    """Whole ISO weeks from the week containing `origin` to the week containing `day`."""
    monday = day - timedelta(days=day.weekday())
    origin_monday = origin - timedelta(days=origin.weekday())
    return (monday - origin_monday).days // 7


def validate(recurrence: Recurrence, *, max_days: int) -> None:
    """Raise InvalidInput for a recurrence that cannot be expanded (before any lookup)."""
    if not recurrence.weekdays:
        raise InvalidInput("a recurrence needs at least one weekday", field="weekdays")
    if any(not 0 <= w <= 6 for w in recurrence.weekdays):
        raise InvalidInput("weekdays are 0 (Monday) … 6 (Sunday)", field="weekdays")
    if len(set(recurrence.weekdays)) != len(recurrence.weekdays):
        raise InvalidInput(
            "a weekday is repeated: the series would overlap itself", field="weekdays"
        )
    if recurrence.ends_on < recurrence.starts_on:
        raise InvalidInput("the series ends before it starts", field="ends_on")
    days = (recurrence.ends_on - recurrence.starts_on).days + 1
    if days > max_days:
        raise InvalidInput(
            f"the series spans {days} days, more than the allowed {max_days}",
            field="ends_on",
            max_days=max_days,
        )
    by_lesson = recurrence.lesson_number is not None
    by_clock = recurrence.start_time is not None or recurrence.end_time is not None
    if by_lesson == by_clock:
        raise InvalidInput(
            "give either a lesson number or both start and end times", field="lesson_number"
        )
    if by_clock:
        if recurrence.start_time is None or recurrence.end_time is None:
            raise InvalidInput("give both start and end times", field="end_time")
        if recurrence.end_time <= recurrence.start_time:
            raise InvalidInput("end time must be after start time", field="end_time")
    if recurrence.week_parity not in (None, "A", "B"):
        raise InvalidInput("week parity is A, B or none", field="week_parity")


def named_dates(recurrence: Recurrence, parity_origin: date) -> list[date]:
    """The dates the recurrence names: its weekdays in range, in the right A/B weeks."""
    weekdays = set(recurrence.weekdays)
    wanted_parity = {"A": 0, "B": 1}.get(recurrence.week_parity or "")
    dates = []
    day = recurrence.starts_on
    while day <= recurrence.ends_on:
        if day.weekday() in weekdays and (
            wanted_parity is None or week_index(day, parity_origin) % 2 == wanted_parity
        ):
            dates.append(day)
        day += timedelta(days=1)
    return dates


def expand(
    recurrence: Recurrence,
    *,
    zone: ZoneInfo,
    year: AcademicYear,
    bells: BellSchedule | None,
    closures: Iterable[Closure] = (),
    study_days: int = SIX_DAY_WEEK,
    max_days: int,
    not_before: datetime | None = None,
    setup_minutes: int = 0,
) -> Expansion:
    """Every named date, kept as a `LessonSlot` or skipped with its reason.

    The series must lie inside `year` (else InvalidInput: dates outside the academic year);
    a lesson number needs `bells` and must exist in them. Dates whose slot (set-up included)
    begins before `not_before` are skipped as past."""
    validate(recurrence, max_days=max_days)
    if not (year.contains(recurrence.starts_on) and year.contains(recurrence.ends_on)):
        raise InvalidInput(
            f"the series {recurrence.starts_on}…{recurrence.ends_on} lies outside academic year"
            f" {year.id} ({year.start}…{year.end})",
            field="ends_on",
            year=year.id,
        )
    if recurrence.lesson_number is not None:
        if bells is None:
            raise InvalidInput("the host school has no bell schedule", field="lesson_number")
        bells.bells(recurrence.lesson_number)  # unknown lesson numbers are bad input
    closures = list(closures)
    setup = timedelta(minutes=setup_minutes)
    result = Expansion()
    for day in named_dates(recurrence, year.start):
        off = day_off(day, year, closures, study_days)
        if off is not None:
            result.skipped.append(SkippedDate(day, SkipKind(off.kind.value), off.reason))
            continue
        shortened = year.is_shortened(day)
        if recurrence.lesson_number is not None:
            assert bells is not None
            if recurrence.lesson_number not in bells.lesson_numbers(shortened=shortened):
                result.skipped.append(
                    SkippedDate(
                        day,
                        SkipKind.NO_LESSON,
                        f"no lesson {recurrence.lesson_number} on a shortened day",
                    )
                )
                continue
            slot = lesson_slot(bells, zone, day, recurrence.lesson_number, shortened=shortened)
        else:
            assert recurrence.start_time is not None and recurrence.end_time is not None
            slot = clock_slot(day, recurrence.start_time, recurrence.end_time, zone)
        if not_before is not None and slot.start - setup < not_before:
            result.skipped.append(SkippedDate(day, SkipKind.PAST, "already begun"))
            continue
        result.slots.append(slot)
    return result
