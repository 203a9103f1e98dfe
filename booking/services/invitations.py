"""Invitations: a school taking part in a booking made outside its scope answers it.

Its people — whoever may book in its subtree: its local coordinator, its network
administrator, its municipal coordinator, the RCC — accept (the school is then confirmed)
or decline. While invited the school's terminal is reserved, so nobody else takes it; a
decline frees it from the lessons still to come. Either answer records
`InvitationAnswered`, published after the commit (notifications and the request workflow
of issue 15 build on it)."""

from __future__ import annotations

from datetime import datetime

from booking import audit as audit_log
from booking.access import Action, Principal, authorize
from booking.bookings import Booking
from booking.capacity import merged, usage_of
from booking.errors import NotFound
from booking.repository import UnitOfWork
from booking.services.auditing import audit_booking
from booking.services.lookups import Lookups
from booking.services.plans import check_aware, reservations_of


def answer_invitation(
    uow: UnitOfWork,
    principal: Principal,
    booking_id: str,
    school_id: str,
    *,
    accept: bool,
    now: datetime,
) -> Booking:
    """Accept or decline `school_id`'s invitation to the booking; the booking as stored."""
    check_aware(now, "now")
    with uow:
        booking = uow.bookings.get(booking_id)
        if booking is None:
            raise NotFound(f"unknown booking {booking_id}", booking_id=booking_id)
        school = Lookups(uow).org(school_id)
        authorize(principal, Action.BOOK, [school])
        freed = set(booking.answer_invitation(school_id, accept=accept))
        if freed:
            for occurrence in uow.occurrences.of_booking(booking_id):
                if occurrence.setup_start <= now or not freed & set(occurrence.terminal_ids):
                    continue  # begun or over: the past stays as it was
                uow.occurrences.release(occurrence.id)
                before = usage_of(booking, [occurrence], sign=-1)
                occurrence.terminal_ids = [t for t in occurrence.terminal_ids if t not in freed]
                uow.occurrences.update(occurrence)
                uow.occurrences.reserve(reservations_of([occurrence]))
                # one terminal fewer dials in: the gateway port it held is free again
                uow.occurrences.change_server_usage(merged(before, usage_of(booking, [occurrence])))
        uow.bookings.update(booking)
        audit_booking(
            uow, principal, audit_log.INVITATION_ANSWERED, booking, now=now,
            summary=f"«{booking.title}»: {school.name} — {'да' if accept else 'нет'}",
            details={"school_id": school_id, "accepted": accept},
        )  # fmt: skip
        uow.commit()
        return booking
