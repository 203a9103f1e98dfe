"""What an import did, or why it did nothing: counts per kind and one line per bad row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from booking.words import Words, listed

COUNTED = (
    "bell schedules", "academic years", "organisations", "servers", "terminals", "cameras",
    "bookings",
)  # fmt: skip
"""What an import counts, each "created", "updated" or "unchanged" (`OUTCOMES`)."""
OUTCOMES = ("created", "updated", "unchanged")


@dataclass(frozen=True)
class RowError:
    where: str  # "line 57 (schools kem-school-20)", "timetable.csv line 4"
    message: str
    # both translatable (the web page says them in Russian); the texts above are English
    place: Words | None = field(default=None, compare=False)
    words: Words | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class ImportReport:
    source: str
    errors: list[RowError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # "terminals created" → 30
    warnings: list[Words] = field(default_factory=list)  # not errors: ignored sections…
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, where: str | Words, message: str | Words | None) -> None:
        """A bad row: where it is and what is wrong, each plain English or `Words`."""
        words = message if isinstance(message, Words) else None
        place = where if isinstance(where, Words) else None
        self.errors.append(RowError(str(where), str(message or ""), place, words))

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[f"{kind} {outcome}"] += n

    def summary(self) -> str:
        return self.said().text()

    def said(self) -> Words:
        """The counts as words ("30 terminals created, 2 schools updated")."""
        if not self.counts:
            return Words("nothing to import")
        counted = [
            Words("%(n)s %(what)s", {"n": n, "what": Words(what)})
            for what, n in sorted(self.counts.items())
        ]
        return listed(counted)


class ImportFailed(Exception):
    """Nothing was written; `report.errors` says why, row by row."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.errors)} rows are wrong; nothing was imported")
        self.report = report


class SourceError(Exception):
    """The file itself cannot be read (missing, not YAML/CSV, wrong shape)."""
