"""The reports' store in SQL (`booking.reports_store.ReportStore`): each public method is
one short transaction on the engine (`BatchStore`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, true, tuple_

from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.reports.tables import (
    report_cancellations,
    report_closed_months,
    report_deliveries,
    report_lessons,
    report_school_lessons,
    report_settled,
)
from adapters.storage.tables import occurrences
from booking.outcomes import Cancellation
from booking.reports_store import (
    PLANNED,
    ClosedMonth,
    LessonRow,
    PupilRecord,
    SchoolLessonRow,
    SchoolTotal,
)

CHUNK = 500
L, SL = report_lessons.c, report_school_lessons.c
LESSON_FIELDS = (
    "booking_id",
    "month",
    "start",
    "title",
    "subject",
    "teacher",
    "host_school_id",
    "kind",
    "cause",
    "reason",
    "late_s",
    "online_s",
    "cancelled_by",
    "cancel_lead_s",
    "moved_from",
)
OUTCOME_FIELDS = (
    "org_path",
    "month",
    "kind",
    "cause",
    "late_s",
    "missing_s",
    "present_s",
    "day",
    "online_s",
    "moved",
    "joined_by_link",
)


_CONNECTED = or_(SL.present_s > 0, SL.kind == PLANNED)
_SUMS = (  # what `SchoolTotal` holds after its key, in its order
    SL.kind,
    SL.cause,
    func.count(),
    func.coalesce(func.sum(case((SL.moved.is_(True), 1), else_=0)), 0),
    func.coalesce(func.sum(SL.late_s), 0),
    func.coalesce(func.sum(SL.present_s), 0),
    func.coalesce(func.sum(SL.online_s), 0),
    func.coalesce(func.sum(case((_CONNECTED, func.coalesce(SL.pupils_present, 0)), else_=0)), 0),
    func.count(SL.pupils_present),
    func.coalesce(func.sum(SL.joined_by_link), 0),
)


def _within(column: Any, path: str | None) -> Any:
    if path is None:
        return true()
    return or_(column == path, column.like(path.replace("%", r"\%") + "/%", escape="\\"))


class SqlReportStore(BatchStore):
    def save_lessons(self, rows: Sequence[LessonRow]) -> None:
        if not rows:
            return
        with self._tx() as c:
            for part in chunks(rows, CHUNK):
                insert = self._insert(report_lessons)
                c.execute(
                    insert.on_conflict_do_update(
                        index_elements=["occurrence_id"],
                        set_={f: insert.excluded[f] for f in LESSON_FIELDS},
                    ),
                    [
                        {
                            "occurrence_id": r.occurrence_id,
                            **{f: getattr(r, f) for f in LESSON_FIELDS},
                        }
                        for r in part
                    ],
                )
            schools = [s for r in rows for s in r.schools]
            for school_part in chunks(schools, CHUNK):
                insert = self._insert(report_school_lessons)
                c.execute(
                    insert.on_conflict_do_update(
                        index_elements=["occurrence_id", "school_id"],
                        set_={f: insert.excluded[f] for f in OUTCOME_FIELDS},
                    ),
                    [
                        {
                            "occurrence_id": s.occurrence_id,
                            "school_id": s.school_id,
                            **{f: getattr(s, f) for f in OUTCOME_FIELDS},
                            "pupils_present": None,
                            "pupils_absent": [],
                            "recorded_by": "",
                            "recorded_at": None,
                        }
                        for s in school_part
                    ],
                )

    def final_ids(self, month: str, occurrence_ids: Iterable[str]) -> set[str]:
        ids = list(occurrence_ids)
        out: set[str] = set()
        with self._tx() as c:
            for part in chunks(ids, CHUNK):
                query = select(L.occurrence_id).where(L.occurrence_id.in_(part), L.kind != PLANNED)
                out.update(c.scalars(query))
        return out

    def unsettled(self, start: datetime, end: datetime, now: datetime) -> list[str]:
        o = occurrences.c
        query = (
            select(o.id)
            .select_from(occurrences.outerjoin(report_lessons, L.occurrence_id == o.id))
            .where(
                o.start >= start,
                o.start < end,
                or_(
                    L.occurrence_id.is_(None),
                    and_(
                        L.kind == PLANNED,
                        or_(o.end <= now, o.cancelled.is_(True), L.start != o.start),
                    ),
                ),
            )
            .order_by(o.id)
        )
        with self._tx() as c:
            return list(c.scalars(query))

    def settled_until(self, month: str) -> datetime | None:
        t = report_settled.c
        with self._tx() as c:
            return c.execute(select(t.until).where(t.month == month)).scalar()

    def settle(self, month: str, until: datetime) -> None:
        insert = self._insert(report_settled)
        with self._tx() as c:
            c.execute(
                insert.on_conflict_do_update(index_elements=["month"], set_={"until": until}),
                {"month": month, "until": until},
            )

    def lessons(self, month: str, org_path: str | None) -> list[LessonRow]:
        query = (
            select(
                report_school_lessons,
                *[L[f].label(f"l_{f}") for f in LESSON_FIELDS if f != "month"],
            )
            .join(report_lessons, L.occurrence_id == SL.occurrence_id)
            .where(SL.month == month, _within(SL.org_path, org_path))
        )
        by_lesson: dict[str, tuple[dict[str, Any], list[SchoolLessonRow]]] = {}
        with self._tx() as c:
            for row in c.execute(query).mappings():
                found = by_lesson.get(row["occurrence_id"])
                if found is None:
                    lesson = {f: row[f"l_{f}"] for f in LESSON_FIELDS if f != "month"}
                    found = by_lesson[row["occurrence_id"]] = (lesson, [])
                found[1].append(_school(row))
        out = [
            LessonRow(
                occurrence_id=occurrence_id,
                month=month,
                schools=tuple(sorted(schools, key=lambda s: s.school_id)),
                **lesson,
            )
            for occurrence_id, (lesson, schools) in by_lesson.items()
        ]
        return sorted(out, key=lambda r: (r.start, r.occurrence_id))

    def school_totals(
        self, month: str, org_path: str | None, *, by_day: bool = False
    ) -> list[SchoolTotal]:
        key = SL.day if by_day else SL.school_id
        path = () if by_day else (SL.org_path,)  # the school's, last (`SchoolTotal.org_path`)
        query = (
            select(key, *_SUMS, *path)
            .where(SL.month == month, _within(SL.org_path, org_path))
            .group_by(key, SL.kind, SL.cause, *path)
        )
        with self._tx() as c:
            rows = c.execute(query).all()
        if by_day:
            return [SchoolTotal("", *row) for row in rows]
        return [SchoolTotal(school, None, *rest) for school, *rest in rows]

    def month_totals(
        self, month: str, org_path: str | None
    ) -> tuple[list[SchoolTotal], list[SchoolTotal]]:
        if not self.postgres:
            return self.school_totals(month, org_path), self.school_totals(
                month, org_path, by_day=True
            )
        # one pass over the month's rows: both groupings at once (GROUPING SETS), told
        # apart by GROUPING(school_id) — a day may be NULL (a record before any outcome)
        per_school = tuple_(SL.school_id, SL.org_path, SL.kind, SL.cause)
        per_day = tuple_(SL.day, SL.kind, SL.cause)
        query = (
            select(func.grouping(SL.school_id), SL.school_id, SL.day, *_SUMS, SL.org_path)
            .where(SL.month == month, _within(SL.org_path, org_path))
            .group_by(func.grouping_sets(per_school, per_day))
        )
        schools, days = [], []
        with self._tx() as c:
            rows = c.execute(query).all()
        for by_day, school, day, *rest in rows:
            if by_day:
                rest[-1] = ""
                days.append(SchoolTotal("", day, *rest))
            else:
                schools.append(SchoolTotal(school, None, *rest))
        return schools, days

    def school_lessons(self, occurrence_id: str) -> list[SchoolLessonRow]:
        query = (
            select(report_school_lessons)
            .where(SL.occurrence_id == occurrence_id)
            .order_by(SL.school_id)
        )
        with self._tx() as c:
            return [_school(row) for row in c.execute(query).mappings()]

    def record_pupils(self, record: PupilRecord) -> None:
        insert = self._insert(report_school_lessons)
        written = {
            "pupils_present": record.present,
            "pupils_absent": list(record.absent),
            "recorded_by": record.by,
            "recorded_at": record.at,
        }
        with self._tx() as c:
            c.execute(
                insert.on_conflict_do_update(
                    index_elements=["occurrence_id", "school_id"], set_=written
                ),
                {
                    "occurrence_id": record.occurrence_id,
                    "school_id": record.school_id,
                    "org_path": record.org_path,
                    "month": record.month,
                    "kind": PLANNED,
                    "cause": "",
                    "late_s": 0,
                    "missing_s": 0,
                    "present_s": 0,
                    "day": None,
                    "online_s": 0,
                    "moved": False,
                    "joined_by_link": 0,
                    **written,
                },
            )

    def note_cancellation(self, cancellation: Cancellation) -> None:
        insert = self._insert(report_cancellations)
        values = {
            "by": cancellation.by,
            "role": cancellation.role,
            "reason": cancellation.reason,
            "at": cancellation.at,
        }
        with self._tx() as c:
            c.execute(
                insert.on_conflict_do_update(index_elements=["occurrence_id"], set_=values),
                {"occurrence_id": cancellation.occurrence_id, **values},
            )

    def cancellations(self, occurrence_ids: Iterable[str]) -> dict[str, Cancellation]:
        ids = list(occurrence_ids)
        out = {}
        t = report_cancellations.c
        with self._tx() as c:
            for part in chunks(ids, CHUNK):
                for row in c.execute(select(report_cancellations).where(t.occurrence_id.in_(part))):
                    out[row.occurrence_id] = Cancellation(
                        row.occurrence_id, row.by, row.role, row.reason, row.at
                    )
        return out

    def close_month(self, closed: ClosedMonth) -> None:
        insert = self._insert(report_closed_months)
        values = {
            "org_path": closed.org_path,
            "closed_by": closed.closed_by,
            "closed_at": closed.closed_at,
            "report": closed.report,
        }
        with self._tx() as c:
            c.execute(
                insert.on_conflict_do_update(index_elements=["org_id", "month"], set_=values),
                {"org_id": closed.org_id, "month": closed.month, **values},
            )

    def delivered(self, key: str) -> bool:
        t = report_deliveries.c
        with self._tx() as c:
            return c.execute(select(t.key).where(t.key == key)).first() is not None

    def mark_delivered(self, key: str, at: datetime) -> bool:
        insert = self._insert(report_deliveries)
        with self._tx() as c:
            done = c.execute(
                insert.on_conflict_do_nothing(index_elements=["key"]), {"key": key, "at": at}
            )
            return bool(done.rowcount)

    def reopen_month(self, org_id: str, month: str) -> bool:
        t = report_closed_months.c
        with self._tx() as c:
            c.execute(delete(report_settled).where(report_settled.c.month == month))
            done = c.execute(
                delete(report_closed_months).where(t.org_id == org_id, t.month == month)
            )
            return bool(done.rowcount)

    def closed_month(self, org_id: str, month: str) -> ClosedMonth | None:
        t = report_closed_months.c
        with self._tx() as c:
            row = c.execute(
                select(report_closed_months).where(t.org_id == org_id, t.month == month)
            ).first()
        return _closed(row._mapping) if row is not None else None

    def closed_months_over(self, org_path: str, month: str) -> list[ClosedMonth]:
        t = report_closed_months.c
        with self._tx() as c:
            rows = c.execute(select(report_closed_months).where(t.month == month)).mappings()
            found = [_closed(r) for r in rows]
        return [c for c in found if org_path == c.org_path or org_path.startswith(c.org_path + "/")]


def _school(row: Any) -> SchoolLessonRow:
    return SchoolLessonRow(
        occurrence_id=row["occurrence_id"],
        school_id=row["school_id"],
        org_path=row["org_path"],
        month=row["month"],
        kind=row["kind"],
        cause=row["cause"],
        late_s=row["late_s"],
        missing_s=row["missing_s"],
        present_s=row["present_s"],
        day=row["day"],
        online_s=row["online_s"],
        moved=row["moved"],
        pupils_present=row["pupils_present"],
        pupils_absent=tuple(row["pupils_absent"] or ()),
        recorded_by=row["recorded_by"],
        recorded_at=row["recorded_at"],
        joined_by_link=row["joined_by_link"],
    )


def _closed(row: Any) -> ClosedMonth:
    return ClosedMonth(
        row["org_id"],
        row["org_path"],
        row["month"],
        row["closed_by"],
        row["closed_at"],
        row["report"],
    )
