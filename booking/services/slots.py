"""Slot resolution: a request's lesson (by number through the host school's bells and
calendar, or by local clock times, or by instants) to dated slots in the host's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from booking.availability import check_bookable
from booking.bells import LessonSlot, clock_slot, lesson_slot
from booking.bookings import SessionKind
from booking.errors import InvalidInput
from booking.organisations import Organisation
from booking.recurrence import SkippedDate, expand
from booking.schoolyear import day_off
from booking.services.lookups import Lookups
from booking.services.plans import BookingRequest, check_aware
from booking.services.policy import Policy


# --- slots ------------------------------------------------------------------------------------
def one_slot(
    lookups: Lookups,
    request: BookingRequest,
    host: Organisation,
    schools: Sequence[Organisation],
) -> LessonSlot:
    zone = host.zone
    lesson_addressed = request.kind != SessionKind.EVENT
    if request.on_date is not None:
        day = request.on_date
        year = lookups.year_covering(day)
        if year is None and (lesson_addressed or request.lesson_number is not None):
            raise InvalidInput(f"{day} is outside every academic year", field="on_date")
        if year is not None and lesson_addressed:
            off = day_off(
                day,
                year,
                lookups.closures(schools, year.start, year.end),
                lookups.study_days(schools),
            )
            if off is not None:
                raise InvalidInput(f"{day} is not a study day ({off.reason})", field="on_date")
        if request.lesson_number is not None:
            bells = lookups.bells_of(host)
            if bells is None:
                raise InvalidInput(f"{host.name} has no bell schedule", field="lesson_number")
            shortened = year is not None and year.is_shortened(day)
            return lesson_slot(bells, zone, day, request.lesson_number, shortened=shortened)
        assert request.start_time is not None and request.end_time is not None
        return clock_slot(day, request.start_time, request.end_time, zone)
    if request.start is None or request.end is None:
        raise InvalidInput("give both start and end", field="end")
    start = check_aware(request.start, "start")
    end = check_aware(request.end, "end")
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.date()
    if lesson_addressed:
        year = lookups.year_for(day)
        off = day_off(
            day,
            year,
            lookups.closures(schools, year.start, year.end),
            lookups.study_days(schools),
        )
        if off is not None:
            raise InvalidInput(f"{day} is not a study day ({off.reason})", field="start")
    return LessonSlot(
        local_date=day,
        lesson_number=None,
        local_start=local_start,
        local_end=local_end,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
    )


def slots_of(
    lookups: Lookups,
    request: BookingRequest,
    host: Organisation,
    schools: Sequence[Organisation],
    now: datetime,
    setup_minutes: int,
    policy: Policy,
) -> tuple[list[LessonSlot], list[SkippedDate]]:
    """The request's dates (and those skipped, with the reason); a `SlotsFor`."""
    if request.recurrence is None:
        slot = one_slot(lookups, request, host, schools)
        check_bookable(slot, setup_minutes, now)
        return [slot], []
    recurrence = request.recurrence
    year = lookups.year_for(recurrence.starts_on)
    bells = lookups.bells_of(host) if recurrence.lesson_number is not None else None
    if recurrence.lesson_number is not None and bells is None:
        raise InvalidInput(f"{host.name} has no bell schedule", field="lesson_number")
    expansion = expand(
        recurrence,
        zone=host.zone,
        year=year,
        bells=bells,
        closures=lookups.closures(schools, year.start, year.end),
        study_days=lookups.study_days(schools),
        max_days=policy.max_range_days,
        not_before=now,
        setup_minutes=setup_minutes,
    )
    return expansion.slots, expansion.skipped


def check_slot_length(request: BookingRequest, slot: LessonSlot, policy: Policy) -> None:
    length = slot.end - slot.start
    if length > timedelta(hours=policy.max_session_hours):
        raise InvalidInput(
            f"a session may last at most {policy.max_session_hours} hours", field="end"
        )
    if request.kind == SessionKind.PARTIAL_BROADCAST:
        assert request.broadcast_offset_minutes is not None
        assert request.broadcast_minutes is not None
        sub = timedelta(minutes=request.broadcast_offset_minutes + request.broadcast_minutes)
        if sub > length:
            raise InvalidInput(
                "the broadcast sub-slot reaches beyond the end of the lesson",
                field="broadcast_minutes",
            )
