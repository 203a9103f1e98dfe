"""The rules over many drafted bookings at once, with shared reads: a timetable import
(`timetable_import`) and the RCC's approval of a combined request (`workflow.approval`).

Stored reservations and class sessions are read once for all drafts (`Stored.read`), the
capacity ledger once (`over_capacity`); the drafts are checked against what is stored and
against each other (`clashes`) in pure Python; a recurrence is expanded once per distinct
calendar (`Expansions`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from booking.bells import LessonSlot
from booking.bookings import Occurrence, Reservation
from booking.capacity import Usage, buckets, merged, over_capacity
from booking.conflicts import (
    ClassSession,
    ConflictItem,
    ServerLoad,
    capacity_conflicts,
    class_conflicts,
    demand_of,
    server_capacity,
    terminal_conflicts,
)
from booking.organisations import Organisation
from booking.recurrence import SkippedDate
from booking.services.lookups import Lookups
from booking.services.planning import Draft
from booking.services.plans import BookingRequest, reservations_of
from booking.services.policy import Policy
from booking.services.slots import slots_of

CHUNK = 2000  # ids per query when reading for thousands of terminals or classes

K = TypeVar("K")
T = TypeVar("T")


class Expansions:
    """A weekly recurrence expanded once per distinct (zone, bells, closures, recurrence,
    set-up): thousands of lessons of a timetable share a few hundred calendars."""

    def __init__(self) -> None:
        self._known: dict[tuple[object, ...], tuple[list[LessonSlot], list[SkippedDate]]] = {}

    def __call__(
        self,
        lookups: Lookups,
        request: BookingRequest,
        host: Organisation,
        schools: Sequence[Organisation],
        now: datetime,
        setup_minutes: int,
        policy: Policy,
    ) -> tuple[list[LessonSlot], list[SkippedDate]]:
        recurrence = request.recurrence
        if recurrence is None:
            return slots_of(lookups, request, host, schools, now, setup_minutes, policy)
        year = lookups.year_for(recurrence.starts_on)
        closures = lookups.closures(schools, year.start, year.end)
        key = (
            str(host.zone),
            host.bell_schedule_id if recurrence.lesson_number is not None else None,
            tuple(sorted(c.id for c in closures)),
            repr(recurrence),
            setup_minutes,
        )
        if key not in self._known:
            self._known[key] = slots_of(lookups, request, host, schools, now, setup_minutes, policy)
        slots, skipped = self._known[key]
        return list(slots), list(skipped)


# --- the rules over the whole timetable --------------------------------------------------------
# The stored reservations and class sessions are read first (`Stored.read`); then the
# timetable is written, and the rules run as pure Python while PostgreSQL copies the rows;
# the capacity ledger is read last (the timetable's usage is written only after it).
# Each rule sweeps everything to find the items involved in any clash, then words the
# conflicts of those few items with the domain's own rule functions.
@dataclass
class Stored:
    reservations: list[Reservation]
    sessions: list[ClassSession]

    @classmethod
    def read(cls, lookups: Lookups, drafts: dict[int, Draft], *, precise: bool = False) -> Stored:
        """What is stored over the drafts' whole span; `precise`: only the reservations
        overlapping one of their busy ranges (fewer rows when few of them clash, as in an
        approval; a whole year's timetable asks for nearly everything anyway)."""
        planned = [o for d in drafts.values() for o in d.planned]
        if not planned:
            return cls([], [])
        start, end = _span(planned)
        occurrences = lookups.uow.occurrences
        terminals = sorted({t for o in planned for t in o.terminal_ids})
        ranges = sorted({o.busy_range for o in planned}) if precise else []
        reservations: list[Reservation] = []
        for chunk in _chunks(terminals):
            if precise:
                reservations += occurrences.reservations_overlapping(chunk, ranges)
            else:
                reservations += occurrences.overlapping_reservations(chunk, start, end)
        pairs = sorted({pair for index in drafts for pair in _classes_of(drafts[index])})
        sessions: list[ClassSession] = []
        for classes in _chunks(pairs):
            sessions += occurrences.class_sessions(classes, [(start, end)])
        return cls(reservations, sessions)


def _classes_of(draft: Draft) -> list[tuple[str, str]]:
    return [(p.school_id, p.class_name) for p in draft.booking.participants if p.class_name]


def find_clashes(drafts: dict[int, Draft], stored: Stored) -> dict[int, list[ConflictItem]]:
    """Per item, its terminal and class conflicts with stored bookings and with the other
    items (no reads)."""
    found: dict[int, list[ConflictItem]] = defaultdict(list)
    for rule in (_terminal_rule, _class_rule):
        for index, items in rule(drafts, stored).items():
            found[index] += items
    return dict(found)


def _span(occurrences: Iterable[Occurrence]) -> tuple[datetime, datetime]:
    listed = list(occurrences)
    return min(o.setup_start for o in listed), max(o.end for o in listed)


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _terminal_rule(drafts: dict[int, Draft], stored: Stored) -> dict[int, list[ConflictItem]]:
    new = [(index, r) for index, d in drafts.items() for r in reservations_of(d.planned)]
    if not new:
        return {}
    by_terminal: dict[str, list[tuple[int | None, Reservation]]] = defaultdict(list)
    for index, reservation in [*new, *((None, r) for r in stored.reservations)]:
        by_terminal[reservation.terminal_id].append((index, reservation))
    involved = _involved(by_terminal, lambda r: (r.start, r.end))
    found: dict[int, list[ConflictItem]] = {}
    for index in sorted(involved):
        draft = drafts[index]
        mine = {t for o in draft.planned for t in o.terminal_ids}
        others = [r for t in mine for i, r in by_terminal[t] if i != index]
        found[index] = terminal_conflicts(draft.planned, others)
    return found


def _class_rule(drafts: dict[int, Draft], stored: Stored) -> dict[int, list[ConflictItem]]:
    classes_of = {index: _classes_of(d) for index, d in drafts.items()}
    new = [
        (index, ClassSession(o.id, o.booking_id, school, name, o.start, o.end))
        for index, d in drafts.items()
        for o in d.planned
        for school, name in classes_of[index]
    ]
    if not new:
        return {}
    by_class: dict[tuple[str, str], list[tuple[int | None, ClassSession]]] = defaultdict(list)
    for index, session in [*new, *((None, s) for s in stored.sessions)]:
        by_class[(session.school_id, session.class_name)].append((index, session))
    involved = _involved(by_class, lambda s: (s.start, s.end))
    found: dict[int, list[ConflictItem]] = {}
    for index in sorted(involved):
        draft = drafts[index]
        others = [s for c in classes_of[index] for i, s in by_class[c] if i != index]
        found[index] = class_conflicts(draft.planned, classes_of[index], others)
    return found


def _involved(
    groups: Mapping[K, Sequence[tuple[int | None, T]]],
    span: Callable[[T], tuple[datetime, datetime]],
) -> set[int]:
    """Items (indexes; None: stored) with a range overlapping another's in the same group
    (a terminal, a class): one sweep per group in start order."""
    involved: set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        ordered = sorted(members, key=lambda member: span(member[1]))
        reach: tuple[int | None, datetime] | None = None
        for index, item in ordered:
            start, end = span(item)
            if reach is not None and reach[1] > start:
                if index is not None:
                    involved.add(index)
                if reach[0] is not None and reach[0] != index:
                    involved.add(reach[0])
            if reach is None or end > reach[1]:
                reach = (index, end)
    return involved


def over_capacity_of(lookups: Lookups, drafts: dict[int, Draft], new: Usage) -> set[datetime]:
    """The buckets where the stored usage (the capacity ledger) plus `new` (what the
    timetable asks of the servers, `usage_of_all`) exceeds a server's capacity."""
    servers = lookups.servers()
    if not servers or not any(d.booking.kind.needs_equipment for d in drafts.values()):
        return set()
    stored = lookups.uow.occurrences.server_usage({bucket for _, bucket in new})
    return over_capacity(merged(stored, new), server_capacity(servers))


def capacity_conflicts_of(
    lookups: Lookups, drafts: dict[int, Draft], over: set[datetime]
) -> dict[int, list[ConflictItem]]:
    if not over:
        return {}
    capacity = server_capacity(lookups.servers())
    equipped = {i: d for i, d in drafts.items() if d.booking.kind.needs_equipment}
    doubtful = {
        index: [o for o in d.planned if any(b in over for b in buckets(*o.busy_range))]
        for index, d in equipped.items()
    }
    doubtful = {index: found for index, found in doubtful.items() if found}
    ranges = [o.busy_range for found in doubtful.values() for o in found]
    load = list(lookups.uow.occurrences.server_load(ranges))
    # new sessions that touch no over-full bucket cannot make one over-full
    load += [
        ServerLoad.of(drafts[index].booking, o) for index, found in doubtful.items() for o in found
    ]
    found: dict[int, list[ConflictItem]] = {}
    for index, occurrences in doubtful.items():
        booking = drafts[index].booking
        items = capacity_conflicts(
            occurrences,
            platform=booking.platform,
            demand=demand_of(booking.expected_participants, len(booking.terminal_ids)),
            capacity=capacity,
            load=[item for item in load if item.booking_id != booking.id],
        )
        if items:
            found[index] = items
    return found
