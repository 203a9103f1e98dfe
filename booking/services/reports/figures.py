"""The figures every report is made of, counted from stored lesson rows: one `Figures`
per school (or per teacher, municipality, network) and their sum.

- `planned`: lessons with a live link in the month (cancelled ones included);
- `on_time`, `late`, `partial`: held — in the room by the start (+1 min), later, or with
  a school out of the room for 5 min or more (for that school: its class was missing);
- `failed` by cause, `cancelled` by who cancelled; `moved`: lessons moved to another slot
  (counted besides their outcome); `pending`: not over yet;
- `presence_rate`: the share of the planned online time of the lessons not cancelled
  during which the school's class was in the room;
- `pupils`: pupils recorded present, summed over lessons (a lesson's attendance is the
  classes connected × the pupils recorded); `recorded`: lessons with a record;
- `late_s`: the summed lateness of the late lessons (`mean_late_s` = per late lesson).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from booking.outcomes import OutcomeKind
from booking.reports_store import PLANNED, SchoolLessonRow, SchoolTotal


@dataclass
class Figures:
    planned: int = 0
    on_time: int = 0
    late: int = 0
    partial: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # by cause
    cancelled: dict[str, int] = field(default_factory=dict)  # by who cancelled
    moved: int = 0
    pending: int = 0
    late_s: int = 0
    present_s: int = 0
    online_s: int = 0
    pupils: int = 0
    recorded: int = 0
    joined_by_link: int = 0  # people in the rooms by the web link (each lesson's peak)

    @property
    def held(self) -> int:
        return self.on_time + self.late + self.partial

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def cancelled_total(self) -> int:
        return sum(self.cancelled.values())

    @property
    def on_time_rate(self) -> float | None:
        """Held on time among the lessons that were due to be held (not cancelled, over)."""
        due = self.held + self.failed_total
        return round(self.on_time / due, 4) if due else None

    @property
    def failure_rate(self) -> float | None:
        due = self.held + self.failed_total
        return round(self.failed_total / due, 4) if due else None

    @property
    def presence_rate(self) -> float | None:
        return round(self.present_s / self.online_s, 4) if self.online_s else None

    @property
    def mean_late_s(self) -> int | None:
        return self.late_s // self.late if self.late else None

    def add(self, row: SchoolLessonRow, online_s: int, moved: bool) -> None:
        self.planned += 1
        if moved:
            self.moved += 1
        kind = row.kind
        if kind == PLANNED:
            self.pending += 1
        elif kind == OutcomeKind.ON_TIME:
            self.on_time += 1
        elif kind == OutcomeKind.LATE:
            self.late += 1
            self.late_s += row.late_s
        elif kind == OutcomeKind.PARTIAL:
            self.partial += 1
        elif kind == OutcomeKind.FAILED:
            _count(self.failed, row.cause or "other", 1)
        elif kind == OutcomeKind.CANCELLED:
            _count(self.cancelled, row.cause or "unknown", 1)
        if kind not in (PLANNED, OutcomeKind.CANCELLED):
            self.online_s += online_s
            self.present_s += min(row.present_s, online_s)
        self.joined_by_link += row.joined_by_link
        if row.pupils_present is not None:
            self.recorded += 1
            if row.present_s > 0 or kind == PLANNED:
                self.pupils += row.pupils_present

    def add_total(self, t: SchoolTotal) -> None:
        """`add` for a store's sum of rows (`ReportStore.school_totals`)."""
        self.planned += t.lessons
        self.moved += t.moved
        kind = t.kind
        if kind == PLANNED:
            self.pending += t.lessons
        elif kind == OutcomeKind.ON_TIME:
            self.on_time += t.lessons
        elif kind == OutcomeKind.LATE:
            self.late += t.lessons
            self.late_s += t.late_s
        elif kind == OutcomeKind.PARTIAL:
            self.partial += t.lessons
        elif kind == OutcomeKind.FAILED:
            _count(self.failed, t.cause or "other", t.lessons)
        elif kind == OutcomeKind.CANCELLED:
            _count(self.cancelled, t.cause or "unknown", t.lessons)
        if kind not in (PLANNED, OutcomeKind.CANCELLED):
            self.online_s += t.online_s
            self.present_s += t.present_s
        self.pupils += t.pupils
        self.recorded += t.recorded
        self.joined_by_link += t.joined_by_link

    def merge(self, other: Figures) -> None:
        # attribute by attribute, not a loop of getattr/setattr: a region's month merges
        # each of its thousands of schools twice (into its municipality and the total)
        self.planned += other.planned
        self.on_time += other.on_time
        self.late += other.late
        self.partial += other.partial
        self.moved += other.moved
        self.pending += other.pending
        self.late_s += other.late_s
        self.present_s += other.present_s
        self.online_s += other.online_s
        self.pupils += other.pupils
        self.recorded += other.recorded
        self.joined_by_link += other.joined_by_link
        for cause, n in other.failed.items():
            _count(self.failed, cause, n)
        for cause, n in other.cancelled.items():
            _count(self.cancelled, cause, n)

    def as_dict(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "held": self.held,
            "on_time": self.on_time,
            "late": self.late,
            "partial": self.partial,
            "failed": self.failed_total,
            "failed_by_cause": dict(sorted(self.failed.items())),
            "cancelled": self.cancelled_total,
            "cancelled_by": dict(sorted(self.cancelled.items())),
            "moved": self.moved,
            "pending": self.pending,
            "on_time_rate": self.on_time_rate,
            "failure_rate": self.failure_rate,
            "mean_late_s": self.mean_late_s,
            "presence_rate": self.presence_rate,
            "pupils": self.pupils,
            "recorded": self.recorded,
            "joined_by_link": self.joined_by_link,
        }


def _count(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def total(figures: Iterable[Figures]) -> Figures:
    out = Figures()
    for one in figures:
        out.merge(one)
    return out


CHANGED = ("planned", "held", "on_time", "late", "partial", "failed", "cancelled", "pupils")
RATES = ("on_time_rate", "failure_rate", "presence_rate")


def change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The change of the headline figures from the month before (counts: difference;
    rates: difference in points of share; None where either month has none)."""
    out: dict[str, Any] = {}
    for name in CHANGED:
        out[name] = now[name] - before[name]
    for name in RATES:
        a, b = now[name], before[name]
        out[name] = round(a - b, 4) if a is not None and b is not None else None
    return out
