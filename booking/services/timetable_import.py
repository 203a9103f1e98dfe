"""A timetable of new bookings planned together and written at once (`vks import`).

`upsert_timetable` plans item by item: a dozen queries and ~5–10 ms per item. A
start-of-year timetable of tens of thousands of weekly lessons comes here instead. Every
item goes through the same validation and authorisation (`planning.draft_booking`) and
the same rules, but the reads are shared: organisations, terminals and closures are
fetched once for all items; stored reservations, class sessions and server usage once per
rule for the whole timetable; a recurrence is expanded once per distinct (zone, bells,
closures, recurrence). The items are checked against each other as well as against what
is stored. All or nothing: if any item is refused nothing is written and every refused
item is reported with its conflicts; otherwise everything is written in one bulk load
(COPY on PostgreSQL, whose exclusion constraint still guards against racing writers).

The order is read → write → check → commit or roll back: everything stored that the rules
compare with is read first, then the timetable is written inside the unit of work (on
PostgreSQL the COPY runs in the background, ~30 s for a year of 50,000 weekly lessons)
while the rules run as pure Python; a refused timetable is rolled back before its
conflicts are worded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from booking.access import Principal
from booking.bells import LessonSlot
from booking.bookings import Occurrence, Reservation
from booking.capacity import Usage, buckets, merged, over_capacity, usage_of_all
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
from booking.errors import DomainError, InvalidInput
from booking.events import TimetableImported
from booking.organisations import Organisation
from booking.recurrence import SkippedDate
from booking.repository import UnitOfWork
from booking.services.auditing import audit_load
from booking.services.changes import new_id
from booking.services.lookups import Lookups
from booking.services.planning import Draft, draft_booking
from booking.services.plans import BookingRequest, reservations_of
from booking.services.policy import Policy
from booking.services.slots import slots_of
from booking.services.upsert import ItemStatus, UpsertResult
from booking.services.wording import reworded

CHUNK = 2000  # ids per query when reading for thousands of terminals or classes

K = TypeVar("K")
T = TypeVar("T")


def import_timetable(
    uow: UnitOfWork,
    principal: Principal,
    items: Sequence[BookingRequest],
    *,
    now: datetime,
    policy: Policy | None = None,
) -> list[UpsertResult]:
    """Create every item as a new booking, or none: one result per item, in order
    (CREATED for all, or FAILED for each refused item and nothing written)."""
    policy = policy or Policy()
    with uow:
        lookups = Lookups(uow)
        _preload(lookups, principal, items)
        expansions = _Expansions()
        results: dict[int, UpsertResult] = {}
        drafts: dict[int, Draft] = {}
        first_of: dict[tuple[str, str], int] = {}
        for index, item in enumerate(items):
            try:
                if not item.external_ref:
                    raise InvalidInput(
                        "every timetable item needs an external_ref", field="external_ref"
                    )
                key = (item.owner_org_id or principal.org_id, item.external_ref)
                if first_of.setdefault(key, index) != index:
                    raise InvalidInput(
                        f"external_ref {item.external_ref!r} repeats item {first_of[key] + 1}",
                        field="external_ref",
                    )
                draft = draft_booking(
                    lookups, principal, item, booking_id=new_id(), now=now, policy=policy,
                    slots_for=expansions,
                )  # fmt: skip
                if not draft.planned:
                    raise InvalidInput(
                        "no date is left to book: every date is a holiday, a closure or past"
                    )
                drafts[index] = draft
            except DomainError as error:
                results[index] = _failed(index, item, error.code, error.message)
        stored = _Stored.read(lookups, drafts)  # what the rules compare with, before writing
        # write now: PostgreSQL copies in the background while the rules are checked
        refused = None if results else _write(uow, drafts)
        usage = usage_of_all((d.booking, o) for d in drafts.values() for o in d.planned)
        clashes = _clashes(drafts, stored)
        over: set[datetime] = set()
        if not (results or clashes or refused):
            try:
                over = _over_capacity(lookups, drafts, usage)  # (the ledger: not written yet)
            except DomainError as error:  # the write's refusal, surfacing at this read
                refused = error
        if results or clashes or over or refused:
            uow.rollback()  # nothing of the timetable is kept
            if refused is not None and not (results or clashes):  # a racing writer's rows
                clashes = _clashes(drafts, _Stored.read(lookups, drafts))  # are stored now
            over = over or _over_capacity(lookups, drafts, usage)
            if not (results or clashes or over) and refused is not None:
                raise refused
            found = _conflicts(lookups, drafts, clashes, over)
            return _refused(items, drafts, results, found)
        uow.occurrences.change_server_usage(usage)
        uow.record(TimetableImported(tuple(d.booking.id for d in drafts.values())))
        audit_load(uow, principal, {"created": len(drafts)}, now=now)
        uow.commit()  # (a racing writer's refusal of the copied rows surfaces here)
    return [
        UpsertResult(i, items[i].external_ref, ItemStatus.CREATED, drafts[i].booking.id)
        for i in range(len(items))
    ]


def _write(uow: UnitOfWork, drafts: dict[int, Draft]) -> DomainError | None:
    """Write the drafted bookings; the store's refusal (its own guard against a clash the
    rules will word, or against a racing writer) is returned, not raised."""
    planned = [o for draft in drafts.values() for o in draft.planned]
    try:
        uow.bookings.add_all([draft.booking for draft in drafts.values()])
        uow.occurrences.add_all(planned, reservations_of(planned))
    except DomainError as error:
        return error
    return None


def _refused(
    items: Sequence[BookingRequest],
    drafts: dict[int, Draft],
    results: dict[int, UpsertResult],
    found: dict[int, list[ConflictItem]],
) -> list[UpsertResult]:
    """One result per item: FAILED (invalid, or with its conflicts), or UNCHANGED."""
    for index, conflicts in found.items():
        dates = {c.local_date for c in conflicts}
        results[index] = _failed(
            index,
            items[index],
            "booking_conflict",
            f"{len(dates)} of {len(drafts[index].planned)} dates conflict",
            conflicts,
        )
    for index in drafts:
        if index not in results:
            results[index] = UpsertResult(
                index, items[index].external_ref, ItemStatus.UNCHANGED,
                message="not written: other items of the timetable were refused",
            )  # fmt: skip
    return [results[i] for i in range(len(items))]


def all_new(uow: UnitOfWork, principal: Principal, items: Sequence[BookingRequest]) -> bool:
    """No item's external reference is used yet (then the timetable can be imported here;
    otherwise it is an update, item by item, with `upsert_timetable`)."""
    refs: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.external_ref:
            refs[item.owner_org_id or principal.org_id].add(item.external_ref)
    return not any(uow.bookings.external_refs_taken(owner, found) for owner, found in refs.items())


def _failed(
    index: int,
    item: BookingRequest,
    code: str,
    message: str,
    conflicts: Sequence[ConflictItem] = (),
) -> UpsertResult:
    return UpsertResult(
        index,
        item.external_ref,
        ItemStatus.FAILED,
        code=code,
        message=message,
        conflicts=list(conflicts),
    )


# --- shared reads -----------------------------------------------------------------------------
def _preload(lookups: Lookups, principal: Principal, items: Sequence[BookingRequest]) -> None:
    """Every organisation, terminal and closure the items name, in a few queries."""
    org_ids = {principal.org_id}
    terminal_ids: set[str] = set()
    for item in items:
        org_ids.add(item.host_school_id)
        if item.owner_org_id:
            org_ids.add(item.owner_org_id)
        for participant in item.participants:
            org_ids.add(participant.school_id)
            if participant.terminal_id:
                terminal_ids.add(participant.terminal_id)
    try:
        orgs = lookups.orgs(org_ids)
        lookups.terminals(terminal_ids)
    except DomainError:
        return  # an unknown id: the item naming it is refused with the reason
    ancestors = {a for org in orgs.values() for a in org.path.split("/")} - org_ids
    with suppress(DomainError):
        lookups.orgs(ancestors)
    starts = {item.recurrence.starts_on for item in items if item.recurrence is not None}
    spans = set()
    for day in starts:
        year = lookups.year_covering(day)
        if year is not None:
            spans.add((year.start, year.end))
    for start, end in spans:
        lookups.preload_closures(orgs.values(), start, end)


class _Expansions:
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
# The stored reservations and class sessions are read first (`_Stored.read`); then the
# timetable is written, and the rules run as pure Python while PostgreSQL copies the rows;
# the capacity ledger is read last (the timetable's usage is written only after it).
# Each rule sweeps everything to find the items involved in any clash, then words the
# conflicts of those few items with the domain's own rule functions.
@dataclass
class _Stored:
    reservations: list[Reservation]
    sessions: list[ClassSession]

    @classmethod
    def read(cls, lookups: Lookups, drafts: dict[int, Draft]) -> _Stored:
        planned = [o for d in drafts.values() for o in d.planned]
        if not planned:
            return cls([], [])
        start, end = _span(planned)
        occurrences = lookups.uow.occurrences
        terminals = sorted({t for o in planned for t in o.terminal_ids})
        reservations: list[Reservation] = []
        for chunk in _chunks(terminals):
            reservations += occurrences.overlapping_reservations(chunk, start, end)
        pairs = sorted({pair for index in drafts for pair in _classes_of(drafts[index])})
        sessions: list[ClassSession] = []
        for classes in _chunks(pairs):
            sessions += occurrences.class_sessions(classes, [(start, end)])
        return cls(reservations, sessions)


def _classes_of(draft: Draft) -> list[tuple[str, str]]:
    return [(p.school_id, p.class_name) for p in draft.booking.participants if p.class_name]


def _clashes(drafts: dict[int, Draft], stored: _Stored) -> dict[int, list[ConflictItem]]:
    """Per item, its terminal and class conflicts with stored bookings and with the other
    items (no reads)."""
    found: dict[int, list[ConflictItem]] = defaultdict(list)
    for rule in (_terminal_rule, _class_rule):
        for index, items in rule(drafts, stored).items():
            found[index] += items
    return dict(found)


def _conflicts(
    lookups: Lookups,
    drafts: dict[int, Draft],
    clashes: dict[int, list[ConflictItem]],
    over: set[datetime],
) -> dict[int, list[ConflictItem]]:
    """Every item's conflicts, worded: the clashes, and the capacity conflicts of the
    buckets `over` capacity (these read what is stored: nothing of the timetable is)."""
    found: dict[int, list[ConflictItem]] = defaultdict(list)
    for index, items in clashes.items():
        found[index] += reworded(lookups, items)  # a stored lesson in the school's words
    for index, items in _capacity_conflicts(lookups, drafts, over).items():
        found[index] += items
    # a clash with another item names that item, not its id (which is never written)
    refs = {d.booking.id: d.booking.external_ref for d in drafts.values()}
    for items in found.values():
        items[:] = [
            replace(c, message=c.message.replace(f"booking {c.other_booking_id}",
                                                 f"item {refs[c.other_booking_id]!r}"))
            if c.other_booking_id in refs else c
            for c in items
        ]  # fmt: skip
        items.sort(key=lambda item: (item.start, item.kind, item.terminal_id or ""))
    return dict(found)


def _span(occurrences: Iterable[Occurrence]) -> tuple[datetime, datetime]:
    listed = list(occurrences)
    return min(o.setup_start for o in listed), max(o.end for o in listed)


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _terminal_rule(drafts: dict[int, Draft], stored: _Stored) -> dict[int, list[ConflictItem]]:
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


def _class_rule(drafts: dict[int, Draft], stored: _Stored) -> dict[int, list[ConflictItem]]:
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


def _over_capacity(lookups: Lookups, drafts: dict[int, Draft], new: Usage) -> set[datetime]:
    """The buckets where the stored usage (the capacity ledger) plus `new` (what the
    timetable asks of the servers, `usage_of_all`) exceeds a server's capacity."""
    servers = lookups.servers()
    if not servers or not any(d.booking.kind.needs_equipment for d in drafts.values()):
        return set()
    stored = lookups.uow.occurrences.server_usage({bucket for _, bucket in new})
    return over_capacity(merged(stored, new), server_capacity(servers))


def _capacity_conflicts(
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
