"""Bulk upsert of a timetable keyed by `external_ref` (the API's timetable endpoint and
`vks import` of a timetable that changes stored bookings): each item is created, updated,
left unchanged or refused on its own, inside a savepoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from booking.access import Action, Principal, authorize
from booking.bookings import Booking, BookingStatus
from booking.conflicts import Alternative, ConflictItem
from booking.errors import BookingConflict, Conflict, DomainError, InvalidInput
from booking.repository import UnitOfWork
from booking.services.auditing import audit_load
from booking.services.changes import booking_orgs
from booking.services.creating import create, replanned
from booking.services.editing import update
from booking.services.lookups import Lookups
from booking.services.plans import BookingRequest, DateReport
from booking.services.policy import Policy
from booking.services.slots import one_slot
from booking.words import Words


class ItemStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass
class UpsertResult:
    index: int
    external_ref: str | None
    status: ItemStatus
    booking_id: str | None = None
    code: str = ""  # the domain error's code when failed
    message: str = ""
    words: Words | None = None  # the message, translatable (a page says it in Russian)
    report: list[DateReport] = field(default_factory=list)
    conflicts: list[ConflictItem] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)


def _unchanged(
    lookups: Lookups, principal: Principal, item: BookingRequest, existing: Booking, policy: Policy
) -> bool:
    """Does the item say exactly what the stored booking already says?"""
    setup = policy.default_setup_minutes if item.setup_minutes is None else item.setup_minutes
    same = (
        item.title.strip() == existing.title
        and item.kind == existing.kind
        and item.host_school_id == existing.host_school_id
        and item.teacher == existing.teacher
        and item.participants == existing.participants
        and item.platform == existing.platform
        and setup == existing.setup_minutes
        and item.expected_participants == existing.expected_participants
        and item.subject == existing.subject
        and item.recurrence == existing.recurrence
        and item.broadcast_offset_minutes == existing.broadcast_offset_minutes
        and item.broadcast_minutes == existing.broadcast_minutes
        and (item.owner_org_id or principal.org_id) == existing.owner_org_id
    )
    if not same or item.recurrence is not None:
        return same
    if item.start is not None and item.end is not None:
        return (item.start, item.end) == (existing.start, existing.end)
    host = lookups.org(item.host_school_id)
    schools = list(lookups.orgs({host.id, *(p.school_id for p in item.participants)}).values())
    slot = one_slot(lookups, item, host, schools)
    return (slot.start, slot.end) == (existing.start, existing.end)


def upsert_timetable(
    uow: UnitOfWork,
    principal: Principal,
    items: Sequence[BookingRequest],
    *,
    now: datetime,
    policy: Policy | None = None,
    skip_conflicts: bool = False,
    dry_run: bool = False,
) -> list[UpsertResult]:
    """Create or update bookings keyed by `external_ref` (within the owner organisation).

    Each item succeeds or fails on its own, with a per-item result; a failed item writes
    nothing. Items are checked against each other as well as against stored bookings."""
    policy = policy or Policy()
    results: list[UpsertResult] = []
    with uow:
        lookups = Lookups(uow)
        for index, item in enumerate(items):
            results.append(
                _upsert_one(lookups, principal, index, item, now, policy, skip_conflicts, dry_run)
            )
        if not dry_run:
            written = (ItemStatus.CREATED, ItemStatus.UPDATED)
            counts = {str(s): sum(1 for r in results if r.status is s) for s in written}
            audit_load(uow, principal, counts, now=now)
            uow.commit()
    return results


def _upsert_one(
    lookups: Lookups,
    principal: Principal,
    index: int,
    item: BookingRequest,
    now: datetime,
    policy: Policy,
    skip_conflicts: bool,
    dry_run: bool,
) -> UpsertResult:
    ref = item.external_ref
    creating = False
    existing: Booking | None = None
    try:
        if not ref:
            raise InvalidInput("every timetable item needs an external_ref", field="external_ref")
        owner_id = item.owner_org_id or principal.org_id
        with lookups.uow.savepoint():  # a failed item leaves nothing behind, the others stay
            existing = lookups.uow.bookings.by_external_ref(owner_id, ref)
            if existing is None:
                creating = True
                result = create(
                    lookups, principal, item, now=now, policy=policy, dry_run=dry_run,
                    skip_conflicts=skip_conflicts, hold=False, booking_id=None,
                )  # fmt: skip
                status = ItemStatus.CREATED
            else:
                if existing.status == BookingStatus.CANCELLED:
                    raise Conflict(f"booking {existing.id} ({ref}) is cancelled")
                authorize(principal, Action.BOOK, booking_orgs(lookups, existing))
                if _unchanged(lookups, principal, item, existing, policy):
                    return UpsertResult(index, ref, ItemStatus.UNCHANGED, existing.id)
                result = update(
                    lookups, principal, existing.id, item, now=now, expected_version=None,
                    policy=policy, dry_run=dry_run, skip_conflicts=skip_conflicts,
                )  # fmt: skip
                status = ItemStatus.UPDATED
    except DomainError as error:
        if creating and isinstance(error, BookingConflict) and not error.details.get("conflicts"):
            error = replanned(lookups, principal, item, now, policy, error)  # a lost race
        return UpsertResult(
            index,
            ref,
            ItemStatus.FAILED,
            existing.id if existing is not None else None,  # the stored booking it concerns
            code=error.code,
            message=error.message,
            words=error.words,
            report=list(error.details.get("report", [])),
            conflicts=list(error.details.get("conflicts", [])),
            alternatives=list(error.details.get("alternatives", [])),
        )
    return UpsertResult(
        index,
        ref,
        status,
        result.booking.id,
        report=result.report,
        conflicts=result.conflicts,
        alternatives=result.alternatives,
    )
