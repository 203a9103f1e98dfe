"""The steps every booking change shares: the result it returns, loading and authorising
the booking, the refusal with its conflicts, freeing terminals and server capacity, and
cancelling the occurrences of a cancelled booking or an expired hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import uuid4

from booking import events
from booking.access import Principal
from booking.bookings import Booking, Occurrence
from booking.capacity import usage_of
from booking.conflicts import Alternative, ConflictItem
from booking.errors import BookingConflict, NotFound
from booking.organisations import Organisation
from booking.repository import UnitOfWork
from booking.services.lookups import Lookups
from booking.services.plans import DateReport, Plan
from booking.words import Words


@dataclass
class BookingResult:
    booking: Booking
    occurrences: list[Occurrence]  # written, or that would be written on a dry run
    report: list[DateReport]  # one row per date the request named
    conflicts: list[ConflictItem] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    written: bool = False
    warnings: list[Words] = field(default_factory=list)  # booked anyway, but worth a look


def new_id() -> str:
    return uuid4().hex[:16]


def refusal(plan: Plan) -> BookingConflict:
    dates = sorted(plan.conflicting_dates)
    named = ", ".join(f"{d:%Y-%m-%d}" for d in dates[:5]) + (" …" if len(dates) > 5 else "")
    return BookingConflict(
        Words(
            "%(n)s of %(all)s dates conflict (%(dates)s)",
            {"n": len(dates), "all": len(plan.planned), "dates": named},
        ),
        conflicts=plan.conflicts,
        alternatives=plan.alternatives,
        report=plan.report(written=False),
    )


def booking_orgs(lookups: Lookups, booking: Booking) -> list[Organisation]:
    """The organisations a booking concerns: its owner, its host and its participants."""
    ids = {
        booking.owner_org_id,
        booking.host_school_id,
        *(p.school_id for p in booking.participants),
    }
    return list(lookups.orgs(ids).values())


def load_booking(uow: UnitOfWork, booking_id: str) -> Booking:
    booking = uow.bookings.get(booking_id)
    if booking is None:
        raise NotFound(f"unknown booking {booking_id}", booking_id=booking_id)
    return booking


def release(uow: UnitOfWork, booking: Booking, occurrences: Sequence[Occurrence]) -> None:
    """Free the terminals and the server capacity these occurrences held."""
    for occurrence in occurrences:
        uow.occurrences.release(occurrence.id)
    deltas = usage_of(booking, occurrences, sign=-1)
    if deltas:
        uow.occurrences.change_server_usage(deltas)


def cancel_occurrences(
    uow: UnitOfWork,
    booking: Booking,
    now: datetime,
    reason: str,
    by: Principal | None = None,
) -> None:
    """Cancel the booking's occurrences that have not begun and free what they held
    (`by`: who cancelled them, noted for the reports; None: nobody — a hold expired)."""
    cancelled = []
    for occurrence in uow.occurrences.of_booking(booking.id):
        if occurrence.cancelled or not occurrence.may_change(now):
            continue
        occurrence.cancel(now, reason)
        uow.occurrences.update(occurrence)
        cancelled.append(occurrence)
        if by is not None:
            uow.record(cancelled_by(by, occurrence, reason, now))
    release(uow, booking, cancelled)


def cancelled_by(
    principal: Principal, occurrence: Occurrence, reason: str, now: datetime
) -> events.OccurrenceCancelled:
    return events.OccurrenceCancelled(
        occurrence.booking_id, occurrence.id, principal.user_id, str(principal.role), reason, now
    )


def expire_due_holds(uow: UnitOfWork, now: datetime) -> list[str]:
    """Release every hold not confirmed by `now` (inside the caller's unit of work)."""
    expired = []
    for booking in uow.bookings.expired_holds(now):
        booking.expire(now)
        uow.bookings.update(booking)
        cancel_occurrences(uow, booking, now, "hold expired")
        expired.append(booking.id)
    return expired
