"""Periods longer than a month, as the reports of seed 004 count them.

- The school's own: a quarter of the academic year — «по итогам учебной четверти» —
  written "2026-2027-Q2" (the academic year's id, then the quarter), the local dates its
  `Quarter` says (05.11–28.12: October's holidays split the autumn); a half-year of the
  academic year, "2026-2027-H1" (quarters 1–2) or "-H2" (3–4).
- The calendar's: a quarter "2026-Q4" (October to December) or a half-year "2026-H2"
  (July to December), whole months.

A report reads its stored rows month by month (`months`) and keeps a lesson when its host
school's local date is within the period (`holds`)."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date

from booking.errors import InvalidInput, NotFound
from booking.repository import UnitOfWork
from booking.schoolyear import AcademicYear, Quarter
from booking.services.reports.months import month_of, months_between, parse_month

CALENDAR = re.compile(r"^(\d{4})-(Q[1-4]|H[12])$")
ACADEMIC = re.compile(r"^(\d{4}-\d{4})-(Q[1-4]|H[12])$")
ROMAN = ("I", "II", "III", "IV")
PERIOD_HELP = "YYYY-Qn or YYYY-Hn (calendar), or an academic year's YYYY-YYYY-Qn or YYYY-YYYY-Hn"


@dataclass(frozen=True)
class Period:
    key: str  # as asked: "2026-2027-Q2", "2026-Q4"
    name: str  # as a report's title says it
    first: date  # inclusive, local dates
    last: date
    number: int = 0  # of an academic quarter or half-year: its number …
    school_year: str = ""  # … and its year as people write it («2026/27»)

    @property
    def months(self) -> list[str]:
        return months_between(month_of(self.first), month_of(self.last))

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


def months_of(period: str) -> list[str]:
    """The months of a calendar period (the reports that count whole months)."""
    return _calendar(period).months


def period_of(uow: UnitOfWork, key: str) -> Period:
    """The period `key` names; an academic one from its year as stored (NotFound when the
    year or its quarter is not there)."""
    found = ACADEMIC.match(key)
    if found is None:
        return _calendar(key)
    year_id, part = found.group(1), found.group(2)
    with uow:
        year = uow.academic_years.get(year_id)
    if year is None:
        raise NotFound(f"unknown academic year {year_id}", year=year_id)
    return academic(year, part)


def academic(year: AcademicYear, part: str) -> Period:
    """Quarter `part` ("Q2") or half-year ("H1") of `year`."""
    number = int(part[1])
    school_year = f"{year.id[:4]}/{year.id[-2:]}"  # "2026-2027" → "2026/27"
    if part[0] == "Q":
        quarter = year.quarter(number)
        return Period(
            f"{year.id}-{part}",
            f"{number}-я четверть {school_year} учебного года"
            f" ({quarter.start:%d.%m.%Y}–{quarter.end:%d.%m.%Y})",
            quarter.start,
            quarter.end,
            number,
            school_year,
        )
    halves = _halves(year)
    if len(halves) < number or not halves[number - 1]:
        raise NotFound(f"academic year {year.id} has no half-year {number}", year=year.id)
    quarters = halves[number - 1]
    return Period(
        f"{year.id}-{part}",
        f"{number}-е полугодие {school_year} учебного года",
        quarters[0].start,
        quarters[-1].end,
        number,
        school_year,
    )


def quarters_of(years: list[AcademicYear]) -> list[Period]:
    """Every quarter of `years`, in order (what a page offers to choose from)."""
    return [
        academic(year, f"Q{q.number}")
        for year in sorted(years, key=lambda y: y.start)
        for q in sorted(year.quarters, key=lambda q: q.start)
    ]


def _halves(year: AcademicYear) -> tuple[list[Quarter], list[Quarter]]:
    quarters = sorted(year.quarters, key=lambda q: q.start)
    return quarters[:2], quarters[2:]


def _calendar(key: str) -> Period:
    found = CALENDAR.match(key)
    if found is None:
        raise InvalidInput(f"a period is written {PERIOD_HELP}, not {key!r}", field="period")
    year, part = int(found.group(1)), found.group(2)
    parse_month(f"{year:04d}-01")  # the same years as a month
    number = int(part[1])
    size = 3 if part[0] == "Q" else 6
    first = date(year, (number - 1) * size + 1, 1)
    last_month = first.month + size - 1
    last = date(year, last_month, monthrange(year, last_month)[1])
    word = "квартал" if part[0] == "Q" else "полугодие"
    return Period(key, f"{ROMAN[number - 1]} {word} {year}", first, last)
