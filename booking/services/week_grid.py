"""The timetable grid: one week of a school, a network (its schools) or a set of terminals
as lesson numbers by each school's bells in its local time — per terminal (or per school)
× day × lesson, free, busy (by which lesson: title, teacher, every other school in its own
numbering and wall clock), past, holiday, closure or day off.

A fixed number of queries whatever the size: the scope, its schools, their terminals, the
bells and years (cached), the closures, the week's reservations of every terminal at once,
then the bookings, occurrences and partner schools those reservations name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from booking.access import Action, Principal, authorize
from booking.bells import LessonSlot, day_lessons, lesson_number_at
from booking.bookings import BookingBrief, OccurrenceBrief, Reservation
from booking.conflicts import BusyIndex
from booking.errors import InvalidInput
from booking.joint import LocalLesson
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Terminal
from booking.schoolyear import DayOff, DayOffKind, day_off
from booking.services.lookups import Lookups
from booking.services.plans import check_aware
from booking.services.policy import Policy
from booking.week_grid import (
    CellState,
    GridCell,
    GridDay,
    GridLesson,
    GridRow,
    RowDay,
    WeekGrid,
    grid_day,
    week_days,
    week_of,
)

__all__ = [
    "CellState",
    "GridCell",
    "GridDay",
    "GridLesson",
    "GridRow",
    "WeekGrid",
    "week_grid",
    "week_of",
]

MAX_TERMINALS = 400  # a network's grid stays one page; a whole region is too much to read


def week_grid(
    uow: UnitOfWork,
    principal: Principal,
    *,
    week: date,
    school_id: str | None = None,
    network_id: str | None = None,
    terminal_ids: Sequence[str] = (),
    by_school: bool = False,
    now: datetime | None = None,
    setup_minutes: int | None = None,
    policy: Policy | None = None,
) -> WeekGrid:
    """The week containing `week` (Monday to Sunday, each school's local dates) for one
    scope: a school, a network, or terminals (all at schools). Rows are terminals, or with
    `by_school` the schools (a cell free while one of the school's terminals is)."""
    policy = policy or Policy()
    setup = policy.default_setup_minutes if setup_minutes is None else setup_minutes
    if now is not None:
        check_aware(now, "now")
    given = [x for x in (school_id, network_id, terminal_ids or None) if x]
    if len(given) != 1:
        raise InvalidInput("give one of a school, a network or terminals", field="school")
    monday = week_of(week)
    days = week_days(monday)
    with uow:
        lookups = Lookups(uow)
        scope_kind, scope_id, schools, terminals = _scope(
            lookups, principal, school_id, network_id, terminal_ids
        )
        if len(terminals) > MAX_TERMINALS:
            raise InvalidInput(
                f"the grid would have {len(terminals)} terminals, more than {MAX_TERMINALS}:"
                " choose a network or a school",
                field="network",
            )
        lookups.preload_closures(schools, days[0], days[-1])
        shared: dict[tuple[str, str, date, bool], list[LessonSlot]] = {}
        calendars = {s.id: _calendar(lookups, s, days, shared) for s in schools}
        slots = [
            lesson for calendar in calendars.values() for day in calendar for lesson in day.lessons
        ]
        ids = [t.id for t in terminals]
        reservations: Sequence[Reservation] = []
        if slots and ids:
            span = (
                min(s.start for s in slots) - timedelta(minutes=setup),
                max(s.end for s in slots),
            )
            reservations = uow.occurrences.reservations_overlapping(ids, [span])
        lessons = _lessons(lookups, reservations)
        busy = BusyIndex(reservations)
        rows = []
        numbers: set[int] = set()
        for school in sorted(schools, key=lambda s: (s.name, s.id)):
            own = sorted(
                (t for t in terminals if t.site_id == school.id), key=lambda t: (t.name, t.id)
            )
            if not own:
                continue
            numbers.update(
                lesson.lesson_number
                for day in calendars[school.id]
                for lesson in day.lessons
                if lesson.lesson_number
            )
            groups = [(tuple(t.id for t in own), "")] if by_school else [
                ((t.id,), t.name) for t in own
            ]  # fmt: skip
            for group, name in groups:
                cells = tuple(
                    grid_day(day, group, busy, lessons, setup_minutes=setup, now=now)
                    for day in calendars[school.id]
                )
                rows.append(GridRow(school.id, school.name, school.time_zone, group, name, cells))
        return WeekGrid(
            scope_kind, scope_id, monday, tuple(days), tuple(sorted(numbers)), setup, tuple(rows)
        )


def _scope(
    lookups: Lookups,
    principal: Principal,
    school_id: str | None,
    network_id: str | None,
    terminal_ids: Sequence[str],
) -> tuple[str, str, list[Organisation], list[Terminal]]:
    """What the grid covers — its kind, its id, the schools with bells, their active
    terminals — once the principal may read it."""
    uow = lookups.uow
    if school_id is not None:
        school = lookups.org(school_id)
        if school.kind != OrgKind.SCHOOL:
            raise InvalidInput(f"{school.name} is not a school", field="school")
        authorize(principal, Action.READ, [school])
        schools = _with_bells(lookups, [school], field="school")
        sites = [school.id] if schools else []
        terminals = [t for t in uow.terminals.at_sites(sites) if t.active]
        return "school", school.id, schools, terminals
    if network_id is not None:
        network = lookups.org(network_id)
        if network.kind != OrgKind.NETWORK:
            raise InvalidInput(f"{network.name} is not a network", field="network")
        authorize(principal, Action.READ, [network])
        kinds = [OrgKind.SCHOOL]  # read from the organisations kept by path: no query
        every = uow.organisations.count(network.path, kinds=kinds)
        found = uow.organisations.search(network.path, kinds=kinds, limit=every)
        schools = [s for s in found if s.bell_schedule_id is not None]
        terminals = [t for t in uow.terminals.at_sites([s.id for s in schools]) if t.active]
        return "network", network.id, schools, terminals
    wanted = list(dict.fromkeys(terminal_ids))
    if len(wanted) > MAX_TERMINALS:
        raise InvalidInput(f"at most {MAX_TERMINALS} terminals", field="terminals")
    chosen = lookups.terminals(wanted)
    found_sites = lookups.orgs({t.site_id for t in chosen.values()})
    authorize(principal, Action.READ, found_sites.values())
    for site in found_sites.values():
        if site.kind != OrgKind.SCHOOL:
            raise InvalidInput(
                f"{site.name} is not a school: its terminals have no lessons", field="terminals"
            )
    schools = _with_bells(lookups, list(found_sites.values()), field="terminals")
    terminals = [chosen[i] for i in wanted if chosen[i].active]
    return "terminals", ",".join(wanted), schools, terminals


def _with_bells(lookups: Lookups, schools: list[Organisation], *, field: str) -> list[Organisation]:
    for school in schools:
        if lookups.bells_of(school) is None:
            raise InvalidInput(f"{school.name} has no bell schedule", field=field)
    return schools


def _calendar(
    lookups: Lookups,
    school: Organisation,
    days: Sequence[date],
    shared: dict[tuple[str, str, date, bool], list[LessonSlot]],
) -> list[RowDay]:
    """A school's days of the week (its own local dates): lessons by its bells, or why not.
    The lessons of a day are the same for every school with the same bells and zone:
    resolved once (`shared`)."""
    bells = lookups.bells_of(school)
    assert bells is not None
    study_days = lookups.study_days([school])
    closures = lookups.closures([school], days[0], days[-1])
    found = []
    for day in days:
        year = lookups.year_covering(day)
        off: DayOff | None
        shortened = False
        if year is None:
            off = DayOff(DayOffKind.OUTSIDE_YEAR, "outside every academic year")
        else:
            off = day_off(day, year, closures, study_days)
            shortened = year.is_shortened(day)
        lessons: list[LessonSlot] = []
        if off is None:
            key = (bells.id, school.time_zone, day, shortened)
            if key not in shared:
                shared[key] = day_lessons(bells, school.zone, day, shortened=shortened)
            lessons = shared[key]
        found.append(RowDay(day, off, shortened, lessons))
    return found


def _lessons(lookups: Lookups, reservations: Sequence[Reservation]) -> dict[str, GridLesson]:
    """The lessons behind the reservations (by occurrence id), each with every school taking
    part in its own wall clock and numbering: four narrow queries (the bookings' briefs and
    their schools, the occurrences' briefs, schools) — no full `Booking` or `Occurrence`
    is built."""
    if not reservations:
        return {}
    uow = lookups.uow
    wanted = {r.occurrence_id for r in reservations}
    bookings = uow.bookings.briefs({r.booking_id for r in reservations})
    occurrences = uow.occurrences.briefs(wanted).values()  # by key: not the region's week
    schools = lookups.orgs({s for b in bookings.values() for s in b.taking_part})
    return {
        o.id: _lesson(lookups, o, bookings[o.booking_id], schools)
        for o in occurrences
        if o.booking_id in bookings
    }


def _lesson(
    lookups: Lookups,
    occurrence: OccurrenceBrief,
    booking: BookingBrief,
    schools: dict[str, Organisation],
) -> GridLesson:
    local = []
    for school_id in booking.taking_part:
        school = schools[school_id]
        zone = school.zone
        local_start = occurrence.start.astimezone(zone)
        number: int | None = None
        if school.id == booking.host_school_id:
            number = occurrence.lesson_number
        elif school.kind == OrgKind.SCHOOL and (bells := lookups.bells_of(school)) is not None:
            year = lookups.year_covering(local_start.date())
            shortened = year is not None and year.is_shortened(local_start.date())
            number = lesson_number_at(bells, zone, occurrence.start, shortened=shortened)
        local.append(
            LocalLesson(
                school.id, local_start.date(), local_start, occurrence.end.astimezone(zone), number
            )
        )
    return GridLesson(
        booking.id,
        occurrence.id,
        booking.title,
        occurrence.teacher or booking.teacher,
        booking.host_school_id,
        occurrence.start,
        occurrence.end,
        str(occurrence.state),
        (),
        tuple(local),
        tuple(schools[s.school_id].name for s in local),
    )


def series_span(uow: UnitOfWork, principal: Principal, on: date, *, over: str) -> tuple[date, date]:
    """The dates a weekly lesson booked from the grid on `on` runs over: from `on` to the
    end of its quarter ("quarter") or of its academic year ("year"). On a date between
    quarters the quarter is the next one."""
    if over not in ("quarter", "year"):
        raise InvalidInput(f"a series runs over a quarter or a year, not {over!r}", field="over")
    authorize(principal, Action.READ)
    with uow:
        year = Lookups(uow).year_for(on)
        if over == "year":
            return on, year.end
        for quarter in sorted(year.quarters, key=lambda q: q.start):
            if on <= quarter.end:
                return on, quarter.end
        raise InvalidInput(f"{on} is after the last quarter of {year.id}", field="date")
