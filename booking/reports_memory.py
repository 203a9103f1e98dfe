"""The reports' store in memory (tests, and the specifications' memory variant)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from booking.bookings import Occurrence
from booking.outcomes import Cancellation
from booking.reports_store import (
    PLANNED,
    ClosedMonth,
    LessonRow,
    PupilRecord,
    SchoolLessonRow,
    SchoolTotal,
)


def _within(path: str, prefix: str | None) -> bool:
    return prefix is None or path == prefix or path.startswith(prefix + "/")


class MemoryReportStore:
    """`occurrences` gives the booking side's occurrences (the memory unit of work's data):
    the SQL store reads the occurrences table for `unsettled`."""

    def __init__(self, occurrences: Callable[[], Iterable[Occurrence]] = tuple) -> None:
        self._occurrences = occurrences
        self._lock = threading.Lock()
        self._lessons: dict[str, LessonRow] = {}
        self._schools: dict[tuple[str, str], SchoolLessonRow] = {}
        self._cancellations: dict[str, Cancellation] = {}
        self._closed: dict[tuple[str, str], ClosedMonth] = {}
        self._delivered: dict[str, datetime] = {}
        self._settled: dict[str, datetime] = {}

    def save_lessons(self, rows: Sequence[LessonRow]) -> None:
        with self._lock:
            for row in rows:
                self._lessons[row.occurrence_id] = replace(row, schools=())
                for school in row.schools:
                    key = (school.occurrence_id, school.school_id)
                    kept = self._schools.get(key)
                    if kept is not None:
                        school = replace(
                            school,
                            pupils_present=kept.pupils_present,
                            pupils_absent=kept.pupils_absent,
                            recorded_by=kept.recorded_by,
                            recorded_at=kept.recorded_at,
                        )
                    self._schools[key] = school

    def final_ids(self, month: str, occurrence_ids: Iterable[str]) -> set[str]:
        with self._lock:
            return {
                i
                for i in occurrence_ids
                if (row := self._lessons.get(i)) is not None and row.kind != PLANNED
            }

    def unsettled(self, start: datetime, end: datetime, now: datetime) -> list[str]:
        with self._lock:
            out = []
            for o in list(self._occurrences()):
                if not start <= o.start < end:
                    continue
                row = self._lessons.get(o.id)
                if row is None or (
                    row.kind == PLANNED and (o.end <= now or o.cancelled or o.start != row.start)
                ):
                    out.append(o.id)
            return sorted(out)

    def settled_until(self, month: str) -> datetime | None:
        with self._lock:
            return self._settled.get(month)

    def settle(self, month: str, until: datetime) -> None:
        with self._lock:
            self._settled[month] = until

    def lessons(self, month: str, org_path: str | None) -> list[LessonRow]:
        with self._lock:
            by_lesson: dict[str, list[SchoolLessonRow]] = {}
            for school in self._schools.values():
                if school.month == month and _within(school.org_path, org_path):
                    by_lesson.setdefault(school.occurrence_id, []).append(school)
            out = []
            for occurrence_id, schools in by_lesson.items():
                lesson = self._lessons.get(occurrence_id)
                if lesson is not None:
                    ordered = tuple(sorted(schools, key=lambda s: s.school_id))
                    out.append(replace(lesson, schools=ordered))
            return sorted(out, key=lambda r: (r.start, r.occurrence_id))

    def school_totals(
        self, month: str, org_path: str | None, *, by_day: bool = False
    ) -> list[SchoolTotal]:
        with self._lock:
            rows = [
                replace(s, school_id="", org_path="") if by_day else replace(s, day=None)
                for s in self._schools.values()
                if s.month == month and _within(s.org_path, org_path)
            ]
        return totals_of(rows)

    def month_totals(
        self, month: str, org_path: str | None
    ) -> tuple[list[SchoolTotal], list[SchoolTotal]]:
        return self.school_totals(month, org_path), self.school_totals(month, org_path, by_day=True)

    def school_lessons(self, occurrence_id: str) -> list[SchoolLessonRow]:
        with self._lock:
            rows = [s for (o, _), s in self._schools.items() if o == occurrence_id]
            return sorted(rows, key=lambda s: s.school_id)

    def record_pupils(self, record: PupilRecord) -> None:
        with self._lock:
            key = (record.occurrence_id, record.school_id)
            kept = self._schools.get(key) or SchoolLessonRow(
                record.occurrence_id, record.school_id, record.org_path, record.month, PLANNED
            )
            self._schools[key] = replace(
                kept,
                pupils_present=record.present,
                pupils_absent=record.absent,
                recorded_by=record.by,
                recorded_at=record.at,
            )

    def note_cancellation(self, cancellation: Cancellation) -> None:
        with self._lock:
            self._cancellations[cancellation.occurrence_id] = cancellation

    def cancellations(self, occurrence_ids: Iterable[str]) -> dict[str, Cancellation]:
        with self._lock:
            return {i: c for i in occurrence_ids if (c := self._cancellations.get(i)) is not None}

    def close_month(self, closed: ClosedMonth) -> None:
        with self._lock:
            self._closed[(closed.org_id, closed.month)] = closed

    def delivered(self, key: str) -> bool:
        with self._lock:
            return key in self._delivered

    def mark_delivered(self, key: str, at: datetime) -> bool:
        with self._lock:
            if key in self._delivered:
                return False
            self._delivered[key] = at
            return True

    def reopen_month(self, org_id: str, month: str) -> bool:
        with self._lock:
            self._settled.pop(month, None)
            return self._closed.pop((org_id, month), None) is not None

    def closed_month(self, org_id: str, month: str) -> ClosedMonth | None:
        with self._lock:
            return self._closed.get((org_id, month))

    def closed_months_over(self, org_path: str, month: str) -> list[ClosedMonth]:
        with self._lock:
            return [
                c
                for (_, m), c in self._closed.items()
                if m == month and (org_path == c.org_path or org_path.startswith(c.org_path + "/"))
            ]


def totals_of(rows: Iterable[SchoolLessonRow]) -> list[SchoolTotal]:
    """School rows summed as `ReportStore.school_totals` sums them."""
    sums: dict[tuple[str, object, str, str, str], list[int]] = {}
    for row in rows:
        key = (row.school_id, row.day, row.kind, row.cause, row.org_path)
        found = sums.setdefault(key, [0] * 8)
        connected = row.present_s > 0 or row.kind == PLANNED
        pupils = row.pupils_present or 0
        for i, value in enumerate(
            (
                1,
                int(row.moved),
                row.late_s,
                row.present_s,
                row.online_s,
                pupils if connected else 0,
                int(row.pupils_present is not None),
                row.joined_by_link,
            )
        ):
            found[i] += value
    return [
        SchoolTotal(school, day, kind, cause, *values, org_path=path)  # type: ignore[arg-type, misc]
        for (school, day, kind, cause, path), values in sums.items()
    ]
