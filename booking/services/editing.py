"""Edit or cancel a whole booking. An edit replaces its definition (PUT semantics) and
re-plans the occurrences that have not begun; a cancellation cancels them. Begun and past
occurrences stay as they are; so do single-date exceptions (moved or cancelled dates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from booking import audit as audit_log
from booking.access import Action, Principal, authorize
from booking.bookings import Booking, BookingStatus
from booking.capacity import usage_of
from booking.errors import Conflict
from booking.repository import UnitOfWork
from booking.services.auditing import audit_booking
from booking.services.changes import (
    BookingResult,
    booking_orgs,
    cancel_occurrences,
    expire_due_holds,
    load_booking,
    refusal,
    release,
)
from booking.services.lookups import Lookups
from booking.services.planning import plan_booking
from booking.services.plans import BookingRequest, DateReport, DateStatus, Plan, reservations_of
from booking.services.policy import Policy
from booking.services.versions import check_version


def cancel_booking(
    uow: UnitOfWork,
    principal: Principal,
    booking_id: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> Booking:
    """Cancel a booking: its occurrences that have not begun are cancelled and their
    terminals freed; occurrences that have begun or ended stay as they were."""
    with uow:
        booking = load_booking(uow, booking_id)
        authorize(principal, Action.BOOK, booking_orgs(Lookups(uow), booking))
        check_version(f"booking {booking_id}", booking.version, expected_version)
        if not booking.cancel():
            return booking
        uow.bookings.update(booking)
        cancel_occurrences(uow, booking, now, "booking cancelled", principal)
        audit_booking(uow, principal, audit_log.BOOKING_CANCELLED, booking, now=now)
        uow.commit()
        return booking


def update_booking(
    uow: UnitOfWork,
    principal: Principal,
    booking_id: str,
    request: BookingRequest,
    *,
    now: datetime,
    expected_version: int | None,
    policy: Policy | None = None,
    dry_run: bool = False,
    skip_conflicts: bool = False,
) -> BookingResult:
    """Replace a booking's definition (PUT semantics) and re-materialise the occurrences
    that have not begun. Begun and past occurrences stay; so do single-occurrence exceptions
    (moved or cancelled dates). `expected_version` must match (VersionMismatch)."""
    policy = policy or Policy()
    with uow:
        result = update(
            Lookups(uow),
            principal,
            booking_id,
            request,
            now=now,
            expected_version=expected_version,
            policy=policy,
            dry_run=dry_run,
            skip_conflicts=skip_conflicts,
        )
        if result.written:
            audit_booking(uow, principal, audit_log.BOOKING_EDITED, result.booking, now=now)
            uow.commit()
        return result


def update(
    lookups: Lookups,
    principal: Principal,
    booking_id: str,
    request: BookingRequest,
    *,
    now: datetime,
    expected_version: int | None,
    policy: Policy,
    dry_run: bool,
    skip_conflicts: bool,
) -> BookingResult:
    uow = lookups.uow
    current = load_booking(uow, booking_id)
    authorize(principal, Action.BOOK, booking_orgs(lookups, current))
    check_version(f"booking {booking_id}", current.version, expected_version)
    if current.status == BookingStatus.CANCELLED:
        raise Conflict(f"booking {booking_id} is cancelled and cannot be edited")
    if request.external_ref not in (None, current.external_ref):
        other = uow.bookings.by_external_ref(
            request.owner_org_id or current.owner_org_id, request.external_ref
        )
        if other is not None and other.id != booking_id:
            raise Conflict(
                f"external_ref {request.external_ref!r} belongs to booking {other.id}",
                external_ref=request.external_ref,
            )
    existing = list(uow.occurrences.of_booking(booking_id))
    frozen = [o for o in existing if not o.may_change(now)]
    exceptions = [
        o for o in existing if o.may_change(now) and (o.cancelled or o.moved_from is not None)
    ]
    regular = {o.id: o for o in existing if o not in frozen and o not in exceptions}
    zone = lookups.org(current.host_school_id).zone
    exclude = {o.local_date for o in frozen + exceptions}
    exclude |= {o.moved_from.astimezone(zone).date() for o in exceptions if o.moved_from}

    def make_plan() -> Plan:
        return plan_booking(
            lookups,
            principal,
            request,
            booking_id=booking_id,
            now=now,
            policy=policy,
            previous=current,
            exclude_dates=exclude,
            replacing=usage_of(current, list(regular.values()), sign=-1),
        )

    plan = make_plan()
    if plan.conflicts and expire_due_holds(uow, now):  # expired holds no longer block: plan again
        plan = make_plan()
    booking = plan.booking
    report = plan.report(written=False, skip_conflicts=skip_conflicts)
    report += [
        DateReport(o.local_date, DateStatus.KEPT, "cancelled" if o.cancelled else "moved")
        for o in exceptions
    ]
    result = BookingResult(
        booking=booking,
        occurrences=plan.free,
        report=sorted(report, key=lambda r: r.local_date),
        conflicts=plan.conflicts,
        alternatives=plan.alternatives,
        warnings=plan.warnings,
    )
    if dry_run:
        return result
    if plan.conflicts and (not skip_conflicts or not plan.free):
        raise refusal(plan)
    keep = {o.id: o for o in plan.free}
    # free the old reservations first: the new ones may take the same terminal-time
    release(uow, current, list(regular.values()))
    uow.occurrences.delete([i for i in regular if i not in keep])
    fresh = []
    changed = []
    for occurrence_id, planned in keep.items():
        old = regular.get(occurrence_id)
        if old is None:
            fresh.append(planned)
            continue
        old.replan(planned, now)
        uow.occurrences.update(old)
        changed.append(old)
    uow.occurrences.reserve(reservations_of(changed))
    uow.occurrences.add_all(fresh, reservations_of(fresh))
    usage = usage_of(booking, changed + fresh)
    if usage:
        uow.occurrences.change_server_usage(usage)
    booking.replaces(current)
    # schools outside the editor's scope added by this edit are invited, as at creation
    newly = set(booking.invited_school_ids) - set(current.invited_school_ids)
    if newly:
        booking.invite(sorted(newly))
    uow.bookings.update(booking)
    result.booking = booking
    result.occurrences = sorted(changed + fresh, key=lambda o: o.start)
    result.report = sorted(
        [
            replace(r, status=DateStatus.BOOKED) if r.status == DateStatus.FREE else r
            for r in report
        ],
        key=lambda r: r.local_date,
    )
    result.written = True
    return result
