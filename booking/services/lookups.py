"""Reads that several steps of one service call share, fetched once and remembered.

A bulk timetable upsert plans thousands of bookings against the same few schools, bell
schedule, academic year and closures; `Lookups` makes those one query each for the whole
call instead of one per item. Unknown ids raise NotFound here, in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from booking.bells import BellSchedule
from booking.errors import InvalidInput, NotFound
from booking.organisations import Organisation, study_days_of
from booking.repository import UnitOfWork
from booking.resources import ConferenceServer, Terminal
from booking.schoolyear import SIX_DAY_WEEK, AcademicYear, Closure
from booking.words import Words


class Lookups:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._orgs: dict[str, Organisation] = {}
        self._terminals: dict[str, Terminal] = {}
        self._bells: dict[str, BellSchedule] = {}
        self._years: list[AcademicYear] = []
        self._closures: dict[tuple[frozenset[str], date, date], list[Closure]] = {}
        self._preloaded: dict[tuple[date, date], tuple[set[str], list[Closure]]] = {}
        self._servers: Sequence[ConferenceServer] | None = None

    def orgs(self, ids: Iterable[str]) -> dict[str, Organisation]:
        wanted = set(ids)
        missing = {i for i in wanted if i not in self._orgs}  # (not `- keys()`: a set copy)
        if missing:
            self._orgs.update(self.uow.organisations.get_many(missing))
        unknown = {i for i in missing if i not in self._orgs}
        if unknown:
            raise NotFound(
                Words("unknown organisation %(ids)s", {"ids": ", ".join(sorted(unknown))}),
                ids=sorted(unknown),
            )
        return {i: self._orgs[i] for i in wanted}

    def org(self, id: str) -> Organisation:
        return self.orgs([id])[id]

    def terminals(self, ids: Iterable[str]) -> dict[str, Terminal]:
        wanted = set(ids)
        missing = {i for i in wanted if i not in self._terminals}
        if missing:
            self._terminals.update(self.uow.terminals.get_many(missing))
        unknown = {i for i in missing if i not in self._terminals}
        if unknown:
            raise NotFound(
                Words("unknown terminal %(ids)s", {"ids": ", ".join(sorted(unknown))}),
                ids=sorted(unknown),
            )
        return {i: self._terminals[i] for i in wanted}

    def bells_of(self, school: Organisation) -> BellSchedule | None:
        if school.bell_schedule_id is None:
            return None
        if school.bell_schedule_id not in self._bells:
            schedule = self.uow.bell_schedules.get(school.bell_schedule_id)
            if schedule is None:
                raise NotFound(f"unknown bell schedule {school.bell_schedule_id}")
            self._bells[school.bell_schedule_id] = schedule
        return self._bells[school.bell_schedule_id]

    def year_covering(self, day: date) -> AcademicYear | None:
        for known in self._years:
            if known.contains(day):
                return known
        found = self.uow.academic_years.covering(day)
        if found is not None:
            self._years.append(found)
        return found

    def year_for(self, day: date) -> AcademicYear:
        year = self.year_covering(day)
        if year is None:
            raise InvalidInput(f"{day} is outside every academic year", field="date", date=day)
        return year

    def study_days(self, orgs: Iterable[Organisation]) -> int:
        """The study week shared by these organisations: the shortest of theirs (each its
        own or inherited from above); six days for none."""
        orgs = list(orgs)
        if not orgs:
            return SIX_DAY_WEEK
        if all(o.study_days is not None for o in orgs):  # (no ancestor to read)
            return min(o.study_days or SIX_DAY_WEEK for o in orgs)
        above = self.orgs({i for o in orgs for i in o.path.split("/")[:-1]})
        return min(study_days_of(o, above) for o in orgs)

    def closures(self, orgs: Iterable[Organisation], start: date, end: date) -> list[Closure]:
        """Closures of these organisations and of every organisation above them (a
        municipality's closure closes its schools)."""
        ids: set[str] = set()
        for org in orgs:
            ids.update(org.path.split("/"))
        key = (frozenset(ids), start, end)
        if key not in self._closures:
            preloaded = self._preloaded.get((start, end))
            if preloaded is not None and ids <= preloaded[0]:
                found = [c for c in preloaded[1] if c.org_id in ids]
            else:
                found = list(self.uow.closures.for_orgs(ids, start, end))
            self._closures[key] = found
        return self._closures[key]

    def preload_closures(self, orgs: Iterable[Organisation], start: date, end: date) -> None:
        """Fetch the closures of all these organisations (and those above them) at once;
        `closures` then answers for any of them without a query (a bulk import)."""
        ids: set[str] = set()
        for org in orgs:
            ids.update(org.path.split("/"))
        self._preloaded[(start, end)] = (ids, list(self.uow.closures.for_orgs(ids, start, end)))

    def servers(self) -> Sequence[ConferenceServer]:
        if self._servers is None:
            self._servers = self.uow.servers.active()
        return self._servers
