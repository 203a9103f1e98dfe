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
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from booking.access import Principal
from booking.capacity import usage_of_all
from booking.conflicts import (
    ConflictItem,
)
from booking.errors import DomainError, InvalidInput
from booking.events import TimetableImported
from booking.repository import UnitOfWork
from booking.services.auditing import audit_load
from booking.services.batch_rules import (
    Expansions,
    Stored,
    capacity_conflicts_of,
    find_clashes,
    over_capacity_of,
)
from booking.services.changes import new_id
from booking.services.lookups import Lookups
from booking.services.planning import Draft, draft_booking
from booking.services.plans import BookingRequest, reservations_of
from booking.services.policy import Policy
from booking.services.upsert import ItemStatus, UpsertResult
from booking.services.wording import reworded
from booking.words import Words

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
        expansions = Expansions()
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
                results[index] = _failed(index, item, error.code, error.words or error.message)
        stored = Stored.read(lookups, drafts)  # what the rules compare with, before writing
        # write now: PostgreSQL copies in the background while the rules are checked
        refused = None if results else _write(uow, drafts)
        usage = usage_of_all((d.booking, o) for d in drafts.values() for o in d.planned)
        clashes = find_clashes(drafts, stored)
        over: set[datetime] = set()
        if not (results or clashes or refused):
            try:
                over = over_capacity_of(lookups, drafts, usage)  # (the ledger: not written yet)
            except DomainError as error:  # the write's refusal, surfacing at this read
                refused = error
        if results or clashes or over or refused:
            uow.rollback()  # nothing of the timetable is kept
            if refused is not None and not (results or clashes):  # a racing writer's rows
                clashes = find_clashes(drafts, Stored.read(lookups, drafts))  # are stored now
            over = over or over_capacity_of(lookups, drafts, usage)
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
            Words(
                "%(n)s of %(all)s dates conflict",
                {"n": len(dates), "all": len(drafts[index].planned)},
            ),
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
    message: str | Words,
    conflicts: Sequence[ConflictItem] = (),
) -> UpsertResult:
    return UpsertResult(
        index,
        item.external_ref,
        ItemStatus.FAILED,
        code=code,
        message=str(message),
        words=message if isinstance(message, Words) else None,
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
    for index, items in capacity_conflicts_of(lookups, drafts, over).items():
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
