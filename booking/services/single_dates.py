"""Single-date exceptions: move one occurrence, cancel it, or give it a substitute
teacher — while it has not begun (`Occurrence.may_change`). The rest of the series stays."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from booking import audit as audit_log
from booking.access import Action, Principal, authorize
from booking.bells import LessonSlot, clock_slot, lesson_slot
from booking.bookings import Booking, BookingStatus, Occurrence, SessionKind
from booking.capacity import usage_of
from booking.conflicts import ConflictItem
from booking.errors import Conflict, ImmutablePast, InvalidInput, NotFound
from booking.organisations import Organisation
from booking.repository import UnitOfWork
from booking.schoolyear import day_off
from booking.services.alternatives import propose_alternatives
from booking.services.auditing import audit_booking
from booking.services.changes import (
    booking_orgs,
    cancelled_by,
    expire_due_holds,
    load_booking,
    refusal,
    release,
)
from booking.services.lookups import Lookups
from booking.services.plans import Plan, check_aware, reservations_of
from booking.services.policy import Policy
from booking.services.rules import check_rules
from booking.services.versions import check_version


def _occurrence_for_change(
    lookups: Lookups,
    principal: Principal,
    occurrence_id: str,
    now: datetime,
    expected_version: int | None,
) -> tuple[Occurrence, Booking]:
    uow = lookups.uow
    occurrence = uow.occurrences.get(occurrence_id)
    if occurrence is None:
        raise NotFound(f"unknown occurrence {occurrence_id}", occurrence_id=occurrence_id)
    booking = load_booking(uow, occurrence.booking_id)
    authorize(principal, Action.BOOK, booking_orgs(lookups, booking))
    check_version(f"occurrence {occurrence_id}", occurrence.version, expected_version)
    occurrence.check_changeable(now)
    if booking.status == BookingStatus.CANCELLED:
        raise Conflict(f"booking {booking.id} is cancelled")
    return occurrence, booking


def move_occurrence(
    uow: UnitOfWork,
    principal: Principal,
    occurrence_id: str,
    *,
    now: datetime,
    on_date: date | None = None,
    lesson_number: int | None = None,
    start_time: time | None = None,
    end_time: time | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    expected_version: int | None = None,
    policy: Policy | None = None,
) -> Occurrence:
    """Move one occurrence to another lesson (`lesson_number`, on its date or `on_date`),
    to local clock times, or to `start`/`end` instants. The new slot is checked like a new
    booking (BookingConflict with alternatives); the original start is kept in `moved_from`."""
    policy = policy or Policy()
    with uow:
        lookups = Lookups(uow)
        occurrence, booking = _occurrence_for_change(
            lookups, principal, occurrence_id, now, expected_version
        )
        host = lookups.org(booking.host_school_id)
        slot = _target_slot(
            lookups, booking, host, occurrence.local_date,
            on_date=on_date, lesson_number=lesson_number, start_time=start_time,
            end_time=end_time, start=start, end=end,
        )  # fmt: skip
        setup = timedelta(minutes=booking.setup_minutes)
        if slot.start - setup < now:
            raise ImmutablePast("an occurrence cannot be moved into the past", start=slot.start)
        if slot.end - slot.start > timedelta(hours=policy.max_session_hours):
            raise InvalidInput(
                f"a session may last at most {policy.max_session_hours} hours", field="end"
            )
        moved = replace(
            occurrence,
            start=slot.start,
            end=slot.end,
            setup_start=slot.start - setup,
            local_date=slot.local_date,
            lesson_number=slot.lesson_number,
        )

        def check() -> list[ConflictItem]:
            return check_rules(
                lookups,
                booking,
                [moved],
                ignore_occurrence_id=occurrence.id,
                replacing=usage_of(booking, [occurrence], sign=-1),
            )

        conflicts = check()
        if conflicts and expire_due_holds(uow, now):  # expired holds no longer block
            conflicts = check()
        if conflicts:
            plan = Plan(
                booking=booking,
                zone=host.zone,
                slots={slot.local_date: slot},
                planned=[moved],
                conflicts=conflicts,
            )
            plan.alternatives = propose_alternatives(
                lookups, plan, host, now=now, policy=policy, ignore_occurrence_id=occurrence.id
            )
            raise refusal(plan)
        release(uow, booking, [occurrence])
        was = occurrence.start
        occurrence.move_to(moved, now)
        uow.occurrences.update(occurrence)
        uow.occurrences.reserve(reservations_of([occurrence]))
        uow.occurrences.change_server_usage(usage_of(booking, [occurrence]))
        audit_booking(
            uow, principal, audit_log.OCCURRENCE_MOVED, booking, now=now,
            object_type="occurrence", object_id=occurrence.id,
            summary=f"«{booking.title}»: {was.isoformat()} → {occurrence.start.isoformat()}",
            details={"from": was.isoformat(), "to": occurrence.start.isoformat()},
        )  # fmt: skip
        uow.commit()
        return occurrence


def _target_slot(
    lookups: Lookups,
    booking: Booking,
    host: Organisation,
    current_date: date,
    *,
    on_date: date | None,
    lesson_number: int | None,
    start_time: time | None,
    end_time: time | None,
    start: datetime | None,
    end: datetime | None,
) -> LessonSlot:
    if start is not None or end is not None:
        if (
            start is None
            or end is None
            or any(v is not None for v in (on_date, lesson_number, start_time, end_time))
        ):
            raise InvalidInput("give start and end, and nothing else", field="start")
        start, end = check_aware(start, "start"), check_aware(end, "end")
        if end <= start:
            raise InvalidInput("end must be after start", field="end")
        local_start = start.astimezone(host.zone)
        day = local_start.date()
        slot = LessonSlot(day, None, local_start, end.astimezone(host.zone), start, end)
    else:
        day = on_date or current_date
        if lesson_number is not None:
            bells = lookups.bells_of(host)
            if bells is None:
                raise InvalidInput(f"{host.name} has no bell schedule", field="lesson_number")
            year = lookups.year_covering(day)
            shortened = year is not None and year.is_shortened(day)
            slot = lesson_slot(bells, host.zone, day, lesson_number, shortened=shortened)
        elif start_time is not None and end_time is not None:
            slot = clock_slot(day, start_time, end_time, host.zone)
        else:
            raise InvalidInput(
                "give a lesson number, local start and end times, or start/end instants",
                field="lesson_number",
            )
    if booking.kind != SessionKind.EVENT:  # lessons happen on study days of the year
        year = lookups.year_for(slot.local_date)
        schools = booking_orgs(lookups, booking)
        off = day_off(
            slot.local_date,
            year,
            lookups.closures(schools, year.start, year.end),
            lookups.study_days(schools),
        )
        if off is not None:
            raise InvalidInput(f"{slot.local_date} is not a study day ({off.reason})", field="date")
    return slot


def cancel_occurrence(
    uow: UnitOfWork,
    principal: Principal,
    occurrence_id: str,
    *,
    now: datetime,
    reason: str = "",
    expected_version: int | None = None,
) -> Occurrence:
    """Cancel one date of a booking and free its terminals."""
    with uow:
        occurrence, booking = _occurrence_for_change(
            Lookups(uow), principal, occurrence_id, now, expected_version
        )
        if not occurrence.cancel(now, reason or "cancelled"):
            return occurrence
        uow.occurrences.update(occurrence)
        release(uow, booking, [occurrence])
        audit_booking(
            uow, principal, audit_log.OCCURRENCE_CANCELLED, booking, now=now,
            object_type="occurrence", object_id=occurrence.id,
            summary=f"«{booking.title}»: {occurrence.start.isoformat()}",
            details={"reason": reason},
        )  # fmt: skip
        uow.record(cancelled_by(principal, occurrence, reason or "cancelled", now))
        uow.commit()
        return occurrence


def substitute_teacher(
    uow: UnitOfWork,
    principal: Principal,
    occurrence_id: str,
    teacher: str | None,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> Occurrence:
    """Another teacher gives this one lesson (None: back to the booking's teacher)."""
    with uow:
        occurrence, booking = _occurrence_for_change(
            Lookups(uow), principal, occurrence_id, now, expected_version
        )
        occurrence.substitute(teacher, now)
        uow.occurrences.update(occurrence)
        audit_booking(
            uow, principal, audit_log.OCCURRENCE_TEACHER, booking, now=now,
            object_type="occurrence", object_id=occurrence.id,
            summary=f"«{booking.title}»: {teacher or booking.teacher}",
            details={"teacher": teacher},
        )  # fmt: skip
        uow.commit()
        return occurrence
