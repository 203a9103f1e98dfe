"""School time: academic years with quarters, holidays and public holidays; closures.

An `AcademicYear` is region-wide (the region file lists them at the top level). A
`Closure` (quarantine, heating failure, a municipal day off) belongs to one school or to
a whole municipality and covers an inclusive range of local dates. The study week is each
school's own (`Organisation.study_days`, inherited down the tree): six days, Monday to
Saturday, as most Russian schools keep, unless a school or municipality says five; the
other days are days off like holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from booking.errors import InvalidInput


@dataclass(frozen=True)
class Quarter:
    number: int
    start: date
    end: date  # inclusive


@dataclass(frozen=True)
class Holiday:
    """School holidays between quarters (каникулы), inclusive."""

    name: str
    start: date
    end: date  # inclusive

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass
class AcademicYear:
    id: str  # "2026-2027"
    start: date
    end: date  # inclusive
    quarters: list[Quarter] = field(default_factory=list)
    holidays: list[Holiday] = field(default_factory=list)
    public_holidays: list[date] = field(default_factory=list)
    shortened_days: list[date] = field(default_factory=list)  # days on the shortened bells
    version: int = 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def quarter(self, number: int) -> Quarter:
        for quarter in self.quarters:
            if quarter.number == number:
                return quarter
        raise InvalidInput(
            f"academic year {self.id} has no quarter {number}", field="quarter", year=self.id
        )

    def holiday_on(self, day: date) -> Holiday | None:
        for holiday in self.holidays:
            if holiday.covers(day):
                return holiday
        return None

    def is_public_holiday(self, day: date) -> bool:
        return day in self.public_holidays

    def is_shortened(self, day: date) -> bool:
        return day in self.shortened_days

    def validate(self) -> None:
        """Raise InvalidInput unless the year is well formed (quarters inside, in order)."""
        if self.end < self.start:
            raise InvalidInput(f"academic year {self.id} ends before it starts", field="end")
        previous_end: date | None = None
        for quarter in sorted(self.quarters, key=lambda q: q.start):
            if quarter.end < quarter.start:
                raise InvalidInput(
                    f"quarter {quarter.number} ends before it starts", field="quarters"
                )
            if not (self.contains(quarter.start) and self.contains(quarter.end)):
                raise InvalidInput(
                    f"quarter {quarter.number} lies outside academic year {self.id}",
                    field="quarters",
                )
            if previous_end is not None and quarter.start <= previous_end:
                raise InvalidInput(f"quarter {quarter.number} overlaps another", field="quarters")
            previous_end = quarter.end
        numbers = [q.number for q in self.quarters]
        if len(numbers) != len(set(numbers)):
            raise InvalidInput("quarter numbers repeat", field="quarters")
        for holiday in self.holidays:
            if holiday.end < holiday.start:
                raise InvalidInput(
                    f"holiday {holiday.name!r} ends before it starts", field="holidays"
                )


@dataclass
class Closure:
    """A school or a whole municipality is closed (quarantine…) over inclusive local dates."""

    id: str
    org_id: str  # a school or a municipality
    start: date
    end: date  # inclusive
    reason: str = ""
    version: int = 1

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    def validate(self) -> None:
        if self.end < self.start:
            raise InvalidInput("a closure cannot end before it starts", field="end")


SIX_DAY_WEEK = 6  # Monday to Saturday: the default study week
FIVE_DAY_WEEK = 5  # Monday to Friday
EVERY_DAY = 7  # no day off: demo and test regions that run lessons whatever the weekday
STUDY_WEEKS = (FIVE_DAY_WEEK, SIX_DAY_WEEK, EVERY_DAY)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def check_study_days(value: int) -> int:
    if value not in STUDY_WEEKS:
        raise InvalidInput(
            f"a study week has 5 or 6 days (Monday to Friday or Saturday; 7 for a demo),"
            f" not {value}",
            field="study_days",
        )
    return value


class DayOffKind(StrEnum):
    OUTSIDE_YEAR = "outside_year"
    PUBLIC_HOLIDAY = "public_holiday"
    HOLIDAY = "holiday"
    WEEKEND = "weekend"
    CLOSURE = "closure"


@dataclass(frozen=True)
class DayOff:
    """Why a date is not a study day: a machine-readable kind and a human reason."""

    kind: DayOffKind
    reason: str


def day_off(
    day: date,
    year: AcademicYear,
    closures: Iterable[Closure],
    study_days: int = SIX_DAY_WEEK,
) -> DayOff | None:
    """Why `day` is not a study day (outside the year, public holiday, holiday, closure, a
    day off of the study week), or None if it is one. `closures` are those of the school(s)
    concerned, `study_days` their study week (the shortest, for several schools)."""
    if not year.contains(day):
        return DayOff(DayOffKind.OUTSIDE_YEAR, f"outside academic year {year.id}")
    if year.is_public_holiday(day):
        return DayOff(DayOffKind.PUBLIC_HOLIDAY, "public holiday")
    holiday = year.holiday_on(day)
    if holiday is not None:
        return DayOff(DayOffKind.HOLIDAY, f"holiday: {holiday.name}")
    for closure in closures:
        if closure.covers(day):
            why = f"closure of {closure.org_id}"
            return DayOff(DayOffKind.CLOSURE, f"{why}: {closure.reason}" if closure.reason else why)
    if day.weekday() >= study_days:
        week = "six" if study_days == SIX_DAY_WEEK else "five"
        return DayOff(
            DayOffKind.WEEKEND,
            f"{WEEKDAY_NAMES[day.weekday()]} is a day off ({week}-day study week)",
        )
    return None


def is_study_day(
    day: date,
    year: AcademicYear,
    closures_for_school: Iterable[Closure],
    study_days: int = SIX_DAY_WEEK,
) -> bool:
    return day_off(day, year, closures_for_school, study_days) is None
