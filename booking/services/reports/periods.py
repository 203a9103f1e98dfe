"""Periods longer than a month: a calendar quarter ("2026-Q4": October to December) and a
half-year ("2026-H2": July to December), as the months they are made of."""

from __future__ import annotations

import re

from booking.errors import InvalidInput
from booking.services.reports.months import months_between, parse_month

PERIOD = re.compile(r"^(\d{4})-(Q[1-4]|H[12])$")


def months_of(period: str) -> list[str]:
    found = PERIOD.match(period)
    if found is None:
        raise InvalidInput(
            f"a period is written YYYY-Qn (a quarter) or YYYY-Hn (a half-year), not {period!r}",
            field="period",
        )
    year, part = int(found.group(1)), found.group(2)
    parse_month(f"{year:04d}-01")  # the same years as a month
    size = 3 if part[0] == "Q" else 6
    first = (int(part[1]) - 1) * size + 1
    return months_between(f"{year:04d}-{first:02d}", f"{year:04d}-{first + size - 1:02d}")
