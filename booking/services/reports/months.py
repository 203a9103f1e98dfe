"""Months as the reports name them ("2026-11"): parsing, the instants that surely cover
one in every time zone of the region, and the month before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from booking.errors import InvalidInput

FIRST_YEAR, LAST_YEAR = 2000, 2100


def parse_month(text: str) -> date:
    """The first day of the month "YYYY-MM" (InvalidInput otherwise)."""
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInput(f"a month is written YYYY-MM, not {text!r}", field="month") from None


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(month: str) -> str:
    first = parse_month(month)
    return month_of(first - timedelta(days=1))


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, both included."""
    out, day, end = [], parse_month(first), parse_month(last)
    while day <= end:
        out.append(month_of(day))
        day = next_month(day)
    return out


def utc_span(month: str) -> tuple[datetime, datetime]:
    """Instants around the month wide enough for every local time zone (a day each side);
    callers keep the lessons whose local date falls in the month."""
    first = parse_month(month)
    start = datetime.combine(first - timedelta(days=1), datetime.min.time(), UTC)
    end = datetime.combine(next_month(first) + timedelta(days=1), datetime.min.time(), UTC)
    return start, end


def days_of(month: str) -> tuple[date, date]:
    first = parse_month(month)
    return first, next_month(first) - timedelta(days=1)
