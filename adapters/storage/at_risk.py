"""Since when an occurrence has been at risk, in SQL: `booking.health.flagged_since` as
the value an UPDATE of `occurrences` gives `at_risk_since` (its right-hand sides read
the row as it was, so `at_risk` here is the flag before the update)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, null, or_

from adapters.storage.tables import occurrences


def since_after(flag: ColumnElement[str], now: ColumnElement[datetime]) -> ColumnElement[Any]:
    """`at_risk_since` once the flag becomes `flag`: NULL when cleared, `now` when raised,
    kept while it stays raised."""
    o = occurrences.c
    return case(
        (flag == "", null()),
        (or_(o.at_risk == "", o.at_risk_since.is_(None)), now),
        else_=o.at_risk_since,
    )
