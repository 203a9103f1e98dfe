"""Resolving "over a quarter" / "over the year" of a weekly booking to dates, through the
school-time services. Without a date the current academic year is meant — or, between
years (summer), the next one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from booking.access import Principal
from booking.errors import InvalidInput
from booking.repository import UnitOfWork
from booking.services import schooltime
from vks.api.schemas.bookings import SpanResolver


def span_resolver(
    uow_factory: Callable[[], UnitOfWork], principal: Principal, today: date
) -> SpanResolver:
    known: dict[tuple[date | None, int | None], tuple[date, date]] = {}

    def resolve(on: date | None, quarter: int | None) -> tuple[date, date]:
        """Remembered per (date, quarter): a timetable of thousands of items asks once."""
        if (on, quarter) not in known:
            day = on or _current_or_next_year_day(uow_factory, principal, today)
            known[on, quarter] = schooltime.academic_span(
                uow_factory(), principal, day, quarter=quarter
            )
        return known[on, quarter]

    return resolve


def _current_or_next_year_day(
    uow_factory: Callable[[], UnitOfWork], principal: Principal, today: date
) -> date:
    years = schooltime.list_academic_years(uow_factory(), principal)
    for year in years:
        if year.start <= today <= year.end:
            return today
    upcoming = [y for y in years if y.start > today]
    if not upcoming:
        raise InvalidInput(
            f"no academic year covers {today} or starts after it; give starts_on/ends_on",
            field="weekly.starts_on",
        )
    return upcoming[0].start
