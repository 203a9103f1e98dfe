"""School time: bell schedules, academic years and closures.

Bells, quarters and holidays are read whole, so they live in JSON columns with ISO dates
and times (`{"1": ["08:00:00", "08:40:00"]}`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, time
from typing import Any

from sqlalchemy import Row, select

from adapters.storage.collection import SqlCollection
from adapters.storage.reference_cache import kept_rows, mark_changed
from adapters.storage.tables import academic_years, bell_schedules, closures
from booking.bells import Bells, BellSchedule
from booking.schoolyear import AcademicYear, Closure, Holiday, Quarter

# Calendars are small tables read by every booking: read whole, kept per process while
# the database's "calendar" counter is unchanged (`reference_cache`), searched here.
YEARS = select(academic_years).order_by(academic_years.c.start, academic_years.c.id)
CLOSURES = select(closures).order_by(closures.c.start, closures.c.id)


def bells_to_json(bells: Bells) -> dict[str, list[str]]:
    return {
        str(number): [start.isoformat(), end.isoformat()] for number, (start, end) in bells.items()
    }


def bells_from_json(data: dict[str, list[str]]) -> Bells:
    return {
        int(number): (time.fromisoformat(start), time.fromisoformat(end))
        for number, (start, end) in data.items()
    }


class SqlBellSchedules(SqlCollection[BellSchedule]):
    table = bell_schedules
    noun = "bell schedule"

    def to_row(self, item: BellSchedule) -> dict[str, Any]:
        return {
            "id": item.id,
            "name": item.name,
            "lessons": bells_to_json(item.lessons),
            "shortened": bells_to_json(item.shortened),
            "version": item.version,
        }

    def from_row(self, row: Row[Any]) -> BellSchedule:
        return BellSchedule(
            id=row.id,
            name=row.name,
            lessons=bells_from_json(row.lessons),
            shortened=bells_from_json(row.shortened),
            version=row.version,
        )


class SqlAcademicYears(SqlCollection[AcademicYear]):
    table = academic_years
    noun = "academic year"

    def to_row(self, item: AcademicYear) -> dict[str, Any]:
        return {
            "id": item.id,
            "start": item.start,
            "end": item.end,
            "quarters": [
                {"number": q.number, "start": q.start.isoformat(), "end": q.end.isoformat()}
                for q in item.quarters
            ],
            "holidays": [
                {"name": h.name, "start": h.start.isoformat(), "end": h.end.isoformat()}
                for h in item.holidays
            ],
            "public_holidays": [day.isoformat() for day in item.public_holidays],
            "shortened_days": [day.isoformat() for day in item.shortened_days],
            "version": item.version,
        }

    def from_row(self, row: Row[Any]) -> AcademicYear:
        return AcademicYear(
            id=row.id,
            start=row.start,
            end=row.end,
            quarters=[
                Quarter(q["number"], date.fromisoformat(q["start"]), date.fromisoformat(q["end"]))
                for q in row.quarters
            ],
            holidays=[
                Holiday(h["name"], date.fromisoformat(h["start"]), date.fromisoformat(h["end"]))
                for h in row.holidays
            ],
            public_holidays=[date.fromisoformat(day) for day in row.public_holidays],
            shortened_days=[date.fromisoformat(day) for day in row.shortened_days],
            version=row.version,
        )

    def covering(self, day: date) -> AcademicYear | None:
        rows = kept_rows(self._connection, "academic_years", lambda: self._execute(YEARS).all())
        for row in rows:
            if row.start <= day <= row.end:
                return self._load(row)
        return None


class SqlClosures(SqlCollection[Closure]):
    table = closures
    noun = "closure"

    def to_row(self, item: Closure) -> dict[str, Any]:
        return {
            "id": item.id,
            "org_id": item.org_id,
            "start": item.start,
            "end": item.end,
            "reason": item.reason,
            "version": item.version,
        }

    def from_row(self, row: Row[Any]) -> Closure:
        return Closure(
            id=row.id,
            org_id=row.org_id,
            start=row.start,
            end=row.end,
            reason=row.reason,
            version=row.version,
        )

    def for_orgs(self, org_ids: Iterable[str], start: date, end: date) -> Sequence[Closure]:
        wanted = set(org_ids)
        if not wanted:
            return []
        rows = kept_rows(self._connection, "closures", lambda: self._execute(CLOSURES).all())
        return [
            self._load(row)
            for row in rows
            if row.org_id in wanted and row.start <= end and row.end >= start
        ]

    def delete(self, closure: Closure) -> None:
        mark_changed(self._connection, "closures")
        self._execute(closures.delete().where(closures.c.id == closure.id))
