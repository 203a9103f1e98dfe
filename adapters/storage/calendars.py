"""School time: bell schedules, academic years and closures.

Bells, quarters and holidays are read whole, so they live in JSON columns with ISO dates
and times (`{"1": ["08:00:00", "08:40:00"]}`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, time
from typing import Any

from sqlalchemy import Date, Row, bindparam, select

from adapters.storage.collection import SqlCollection
from adapters.storage.tables import academic_years, bell_schedules, closures
from booking.bells import Bells, BellSchedule
from booking.schoolyear import AcademicYear, Closure, Holiday, Quarter

YEAR_COVERING = (
    select(academic_years)
    .where(
        academic_years.c.start <= bindparam("day", type_=Date),
        academic_years.c.end >= bindparam("day", type_=Date),
    )
    .order_by(academic_years.c.start)
    .limit(1)
)
CLOSURES_OF = (
    select(closures)
    .where(
        closures.c.org_id.in_(bindparam("orgs", expanding=True)),
        closures.c.start <= bindparam("end", type_=Date),
        closures.c.end >= bindparam("start", type_=Date),
    )
    .order_by(closures.c.start, closures.c.id)
)


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
        row = self._execute(YEAR_COVERING, {"day": day}).first()
        return None if row is None else self._load(row)


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
        wanted = list(dict.fromkeys(org_ids))
        if not wanted:
            return []
        rows = self._execute(CLOSURES_OF, {"orgs": wanted, "start": start, "end": end}).all()
        return [self._load(row) for row in rows]

    def delete(self, closure: Closure) -> None:
        self._execute(closures.delete().where(closures.c.id == closure.id))
