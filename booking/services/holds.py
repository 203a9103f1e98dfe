"""Tentative holds: confirm one in time, or release those that expired (the API's
periodic sweep; creating a booking also does it when an expired hold is in the way)."""

from __future__ import annotations

from datetime import datetime

from booking import audit as audit_log
from booking.access import Action, Principal, authorize
from booking.bookings import Booking, BookingStatus
from booking.errors import HoldExpired
from booking.repository import UnitOfWork
from booking.services.auditing import audit_booking
from booking.services.changes import booking_orgs, expire_due_holds, load_booking
from booking.services.lookups import Lookups
from booking.services.versions import check_version


def confirm_hold(
    uow: UnitOfWork,
    principal: Principal,
    booking_id: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> Booking:
    """Turn a tentative hold into a confirmed booking; an expired hold is released and
    HoldExpired raised."""
    with uow:
        lookups = Lookups(uow)
        booking = load_booking(uow, booking_id)
        authorize(principal, Action.BOOK, booking_orgs(lookups, booking))
        check_version(f"booking {booking_id}", booking.version, expected_version)
        if booking.status == BookingStatus.CONFIRMED:
            return booking
        if booking.status == BookingStatus.CANCELLED and booking.hold_expires_at is not None:
            raise HoldExpired(
                f"the hold on booking {booking_id} expired at {booking.hold_expires_at:%H:%M} UTC",
                booking_id=booking_id,
            )
        if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
            expire_due_holds(uow, now)
            uow.commit()
            raise HoldExpired(
                f"the hold on booking {booking_id} expired at {booking.hold_expires_at:%H:%M} UTC",
                booking_id=booking_id,
            )
        booking.confirm()
        uow.bookings.update(booking)
        audit_booking(uow, principal, audit_log.BOOKING_HOLD_CONFIRMED, booking, now=now)
        uow.commit()
        return booking


def expire_holds(uow: UnitOfWork, *, now: datetime) -> list[str]:
    """Cancel every hold not confirmed in time and free its terminals; returns their ids.
    Run periodically by the jobs; booking creation also does it first."""
    with uow:
        expired = expire_due_holds(uow, now)
        uow.commit()
        return expired
