"""Create a booking: one slot or a weekly series, confirmed or held, written or dry-run.

Checks come before writes, so a refused request leaves nothing behind; a race lost at the
database's own guard is planned again so the refusal names the winner like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from booking import audit as audit_log
from booking.access import Principal
from booking.bookings import BookingStatus
from booking.capacity import usage_of
from booking.errors import (
    BookingConflict,
    Conflict,
    DomainError,
    InvalidInput,
    ReferenceChanged,
)
from booking.repository import UnitOfWork
from booking.services.auditing import audit_booking
from booking.services.changes import BookingResult, expire_due_holds, new_id, refusal
from booking.services.lookups import Lookups
from booking.services.planning import plan_booking
from booking.services.plans import BookingRequest, reservations_of
from booking.services.policy import Policy

T = TypeVar("T")


def create_booking(
    uow: UnitOfWork,
    principal: Principal,
    request: BookingRequest,
    *,
    now: datetime,
    policy: Policy | None = None,
    dry_run: bool = False,
    skip_conflicts: bool = False,
    hold: bool = False,
    booking_id: str | None = None,
) -> BookingResult:
    """Book one slot or a weekly series.

    Refuses with BookingConflict (every conflict, the alternatives and the per-date report)
    unless `skip_conflicts`, which books the free dates and reports the others. `dry_run`
    returns the same result without writing (and without raising for conflicts). `hold`
    books tentatively: the booking expires `policy.hold_ttl_minutes` after `now` unless
    confirmed with `confirm_hold`."""
    policy = policy or Policy()
    try:
        with uow:
            uow.plan_on_kept_copies()  # checked with the rules' reads: one round trip fewer
            result = on_current_copies(
                uow,
                lambda: create(
                    Lookups(uow),
                    principal,
                    request,
                    now=now,
                    policy=policy,
                    dry_run=dry_run,
                    skip_conflicts=skip_conflicts,
                    hold=hold,
                    booking_id=booking_id,
                    refusal_ends=not dry_run and not skip_conflicts,  # the unit of work is ours
                ),
            )
            if result.written:
                audit_booking(uow, principal, audit_log.BOOKING_CREATED, result.booking, now=now)
                uow.commit()
            return result
    except BookingConflict as lost:
        if lost.details.get("conflicts"):
            raise
        raise _race_lost(uow, principal, request, now, policy, lost) from lost


def on_current_copies(uow: UnitOfWork, work: Callable[[], T]) -> T:
    """`work()` (which writes nothing before its rules' reads), planned again in the same
    transaction if it planned on a copy of the reference data that had changed — found by
    its rules' reads, or, for an answer or a refusal reached without them, checked here."""
    try:
        result = work()
    except ReferenceChanged:
        return work()
    except DomainError:
        if uow.kept_copies_were_current():
            raise
        return work()
    return result if uow.kept_copies_were_current() else work()


def _race_lost(
    uow: UnitOfWork,
    principal: Principal,
    request: BookingRequest,
    now: datetime,
    policy: Policy,
    lost: BookingConflict,
) -> BookingConflict:
    """A concurrent request took the terminal between our check and our write, and the
    database refused (PostgreSQL's exclusion constraint knows the terminal, not the
    booking): plan again, now that the winner is visible, so the refusal names the
    conflicting occurrences and proposes alternatives like any other."""
    with uow:
        return replanned(Lookups(uow), principal, request, now, policy, lost, ends=True)


def replanned(
    lookups: Lookups,
    principal: Principal,
    request: BookingRequest,
    now: datetime,
    policy: Policy,
    lost: BookingConflict,
    *,
    ends: bool = False,
) -> BookingConflict:
    """The refusal of a request that lost a race (`ends`: the caller's unit of work keeps
    nothing — its transaction may end with the refusal's read)."""
    plan = plan_booking(
        lookups, principal, request, booking_id=new_id(), now=now, policy=policy,
        refusal_ends=ends,
    )  # fmt: skip
    if not plan.conflicts:  # the winner is gone again (cancelled meanwhile): say what we know
        return lost
    refused = refusal(plan)
    refused.details["race"] = True
    return refused


def create(
    lookups: Lookups,
    principal: Principal,
    request: BookingRequest,
    *,
    now: datetime,
    policy: Policy,
    dry_run: bool,
    skip_conflicts: bool,
    hold: bool,
    booking_id: str | None,
    refusal_ends: bool = False,
) -> BookingResult:
    """`refusal_ends`: the caller's unit of work keeps nothing when this refuses (it is
    the create's own, not a batch's): a refusal's last read may end its transaction."""
    uow = lookups.uow
    if booking_id is None:
        booking_id = new_id()
    elif uow.bookings.get(booking_id) is not None:
        raise Conflict(f"booking {booking_id} already exists", booking_id=booking_id)
    owner_id = request.owner_org_id or principal.org_id
    if request.external_ref is not None and uow.bookings.by_external_ref(
        owner_id, request.external_ref
    ):
        raise Conflict(
            f"a booking with external_ref {request.external_ref!r} already exists",
            external_ref=request.external_ref,
        )
    plan = plan_booking(  # a refusal's last read ends its transaction (ADR 0024)
        lookups, principal, request, booking_id=booking_id, now=now, policy=policy,
        holds_due_at=now, refusal_ends=refusal_ends and not dry_run and not skip_conflicts,
    )  # fmt: skip
    # expired holds no longer block: plan again (the refusal's read asked whether any is due;
    # if its transaction ended, this goes on in a new one — nothing was written before)
    if plan.conflicts and plan.holds_due is not False and expire_due_holds(uow, now):
        plan = plan_booking(
            lookups, principal, request, booking_id=booking_id, now=now, policy=policy
        )
    booking = plan.booking
    hold_until = now + timedelta(minutes=policy.hold_ttl_minutes) if hold else None
    if hold_until is not None:  # the dry run shows it held too
        booking.status, booking.hold_expires_at = BookingStatus.HELD, hold_until
    result = BookingResult(
        booking=booking,
        occurrences=plan.free,
        report=plan.report(written=False, skip_conflicts=skip_conflicts),
        conflicts=plan.conflicts,
        alternatives=plan.alternatives,
        warnings=plan.warnings,
    )
    if dry_run:
        return result
    if plan.conflicts and (not skip_conflicts or not plan.free):
        raise refusal(plan)
    if not plan.planned:
        raise InvalidInput(
            "no date is left to book: every date is a holiday, a closure or past",
            report=result.report,
        )
    span = (min(o.start for o in plan.free), max(o.end for o in plan.free))
    booking.book(hold_until=hold_until, span=span)
    booking.invite(booking.invited_school_ids)  # schools outside the booker's scope
    uow.bookings.add(booking)
    uow.occurrences.add_all(plan.free, reservations_of(plan.free))
    usage = usage_of(booking, plan.free)
    if usage:
        uow.occurrences.change_server_usage(usage)
    result.report = plan.report(written=True, skip_conflicts=skip_conflicts)
    result.written = True
    return result
