"""Dates typed into a page's form as its reader writes them: «15.09.2026» (Russian),
«15/09/2026» (British English) or ISO «2026-09-15». A native date input shows the
browser's own locale (mm/dd/yyyy in an English browser, whatever the page's language), so
the pages use text fields in the page's format, and every date field accepts all three."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator

from booking.errors import InvalidInput
from booking.words import Words

PATTERN = r"\d{1,2}[./]\d{1,2}[./]\d{4}|\d{4}-\d{2}-\d{2}"
_DAY_FIRST = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})")


def day_of(text: object) -> object:
    """The date written in `text` (left to pydantic when it is no string, empty: None)."""
    if not isinstance(text, str):
        return text
    text = text.strip()
    if not text:
        return None
    found = _DAY_FIRST.fullmatch(text)
    try:
        if found:
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            Words("«%(text)s» is not a date: write it as 15.09.2026", {"text": text[:20]}),
            field="date",
        ) from None


Day = Annotated[date, BeforeValidator(day_of)]
"""A date field of a form or a query, written as people write it (see `day_of`)."""
MaybeDay = Annotated[date | None, BeforeValidator(day_of)]
"""The same, optional: a field left empty is None."""


def written(day: date | None, language: str) -> str:
    """The date as the page's reader writes it into a field."""
    if day is None:
        return ""
    return f"{day:%d/%m/%Y}" if language == "en" else f"{day:%d.%m.%Y}"


def placeholder(language: str) -> Any:
    return "dd/mm/yyyy" if language == "en" else "дд.мм.гггг"
