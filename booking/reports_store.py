"""What the reports keep, and the port they keep it through.

- `LessonRow`: the outcome of one occurrence (`booking.outcomes.Outcome`) with what a
  report groups it by (month, teacher, host school, subject); stored once the occurrence
  reached a final state, or as `planned` while it may still change.
- `SchoolLessonRow`: one school's part in one occurrence: its outcome for that school,
  the minutes its class was in the room (from the automation's observations) and the
  pupils its tutor or coordinator recorded (from people). A person's record and the
  platform's figures are written independently: neither overwrites the other.
- `ClosedMonth`: a month closed by a municipal coordinator, with the report as it was then.

`ReportStore` is implemented in memory (`booking.reports_memory`) and in SQL
(`adapters.storage.reports`). Every method is one short transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from booking.outcomes import Cancellation

PLANNED = "planned"  # the kind of a lesson whose outcome is not final yet


@dataclass(frozen=True)
class SchoolLessonRow:
    occurrence_id: str
    school_id: str
    org_path: str  # the school's path: reports filter by subtree
    month: str  # "2026-11": the host school's local month of the lesson
    kind: str  # an OutcomeKind for this school, or PLANNED
    cause: str = ""
    late_s: int = 0
    missing_s: int = 0
    present_s: int = 0  # seconds its class was in the room (at most `online_s`)
    day: date | None = None  # the lesson's local date
    online_s: int = 0  # the lesson's planned online time
    moved: bool = False
    pupils_present: int | None = None  # recorded by a person; None: nobody recorded
    pupils_absent: tuple[str, ...] = ()
    recorded_by: str = ""
    recorded_at: datetime | None = None
    joined_by_link: int = 0  # the most people in the room by its web link: host school's row


class SchoolTotal(NamedTuple):
    """The sums of one school's lessons of one kind and cause on one day (what the reports
    count, summed by the store rather than row by row). A named tuple, not a dataclass: a
    region's month is tens of thousands of these, built as the rows arrive."""

    school_id: str
    day: date | None
    kind: str
    cause: str
    lessons: int
    moved: int = 0
    late_s: int = 0
    present_s: int = 0
    online_s: int = 0
    pupils: int = 0  # pupils recorded at lessons their class was connected to (or upcoming)
    recorded: int = 0  # lessons with pupils recorded
    joined_by_link: int = 0  # the lessons' peaks of people in the room by its web link
    org_path: str = ""  # the school's path (per school; "" in the sums per day)


@dataclass(frozen=True)
class LessonRow:
    occurrence_id: str
    booking_id: str
    month: str
    start: datetime
    title: str
    subject: str
    teacher: str
    host_school_id: str
    kind: str  # an OutcomeKind, or PLANNED
    cause: str = ""
    reason: str = ""
    late_s: int = 0
    online_s: int = 0  # how long the live link was planned for
    cancelled_by: str = ""
    cancel_lead_s: int | None = None
    moved_from: datetime | None = None
    schools: tuple[SchoolLessonRow, ...] = ()


@dataclass(frozen=True)
class PupilRecord:
    occurrence_id: str
    school_id: str
    org_path: str
    month: str
    present: int
    absent: tuple[str, ...]
    by: str
    at: datetime


@dataclass(frozen=True)
class ClosedMonth:
    org_id: str
    org_path: str
    month: str
    closed_by: str
    closed_at: datetime
    report: dict[str, Any] = field(default_factory=dict)


class ReportStore(Protocol):
    def save_lessons(self, rows: Sequence[LessonRow]) -> None:
        """Upsert the outcomes of these lessons and of their schools (a school's recorded
        pupils are kept)."""
        ...

    def final_ids(self, month: str, occurrence_ids: Iterable[str]) -> set[str]:
        """Which of these occurrences already have a final outcome stored."""
        ...

    def unsettled(self, start: datetime, end: datetime, now: datetime) -> list[str]:
        """The occurrences starting in [start, end) whose outcome must be (re)derived: those
        with no row, and those stored as planned that have ended by `now`, were cancelled
        or were moved since."""
        ...

    def settled_until(self, month: str) -> datetime | None:
        """Every lesson of `month` that ended before this instant has its final outcome
        (the past does not change: the services refuse to edit it)."""
        ...

    def settle(self, month: str, until: datetime) -> None: ...

    def lessons(self, month: str, org_path: str | None) -> list[LessonRow]:
        """The stored lessons of the month that involve a school of the subtree (None: all),
        with only that subtree's schools."""
        ...

    def school_totals(
        self, month: str, org_path: str | None, *, by_day: bool = False
    ) -> list[SchoolTotal]:
        """The month's school rows of the subtree (None: all) summed per school, kind and
        cause (`day` None; `org_path` the school's) — or, `by_day`, per day, kind and cause
        (`school_id` and `org_path` "")."""
        ...

    def month_totals(
        self, month: str, org_path: str | None
    ) -> tuple[list[SchoolTotal], list[SchoolTotal]]:
        """`school_totals` per school and per day at once (one pass over the month's
        rows where the database can)."""
        ...

    def school_lessons(self, occurrence_id: str) -> list[SchoolLessonRow]: ...

    def record_pupils(self, record: PupilRecord) -> None: ...

    def note_cancellation(self, cancellation: Cancellation) -> None: ...

    def cancellations(self, occurrence_ids: Iterable[str]) -> dict[str, Cancellation]: ...

    def close_month(self, closed: ClosedMonth) -> None: ...

    def delivered(self, key: str) -> bool:
        """Was the scheduled report `key` sent already?"""
        ...

    def mark_delivered(self, key: str, at: datetime) -> bool:
        """Note `key` as sent; False if it already was (another process sent it)."""
        ...

    def reopen_month(self, org_id: str, month: str) -> bool:
        """Forget the closing, and what was settled of the month (it is looked at afresh)."""
        ...

    def closed_month(self, org_id: str, month: str) -> ClosedMonth | None: ...

    def closed_months_over(self, org_path: str, month: str) -> list[ClosedMonth]:
        """The closed months `month` of `org_path` and of the organisations above it."""
        ...
