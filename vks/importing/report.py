"""What an import did, or why it did nothing: counts per kind and one line per bad row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    where: str  # "line 57 (schools kem-school-20)", "timetable.csv line 4"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class ImportReport:
    source: str
    errors: list[RowError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # "terminals created" → 30
    warnings: list[str] = field(default_factory=list)  # not errors: ignored sections…
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, where: str, message: str) -> None:
        self.errors.append(RowError(where, message))

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[f"{kind} {outcome}"] += n

    def summary(self) -> str:
        if not self.counts:
            return "nothing to import"
        return ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))


class ImportFailed(Exception):
    """Nothing was written; `report.errors` says why, row by row."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.errors)} rows are wrong; nothing was imported")
        self.report = report


class SourceError(Exception):
    """The file itself cannot be read (missing, not YAML/CSV, wrong shape)."""
