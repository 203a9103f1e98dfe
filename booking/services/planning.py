"""From a booking request to checked, dated occurrences — without writing anything.

`plan_booking` validates the request (`validation`), authorises it, resolves its slots
(`slots`: lesson numbers through the host school's bells and calendar, in its time zone),
materialises candidate occurrences and checks every rule (`rules`) with one batch query per
rule over the whole series. It returns a `Plan` (`plans`: occurrences, skipped dates,
conflicts, alternatives from `alternatives`) that the booking use cases either write,
report or refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from booking.access import Principal, outside_scope
from booking.bells import LessonSlot
from booking.bookings import (
    Booking,
    BookingStatus,
    Occurrence,
    Participant,
    ParticipantState,
)
from booking.capacity import Usage
from booking.conflicts import self_overlaps
from booking.errors import InvalidInput
from booking.organisations import Organisation
from booking.recurrence import SkippedDate
from booking.services.alternatives import propose_alternatives, refuse_with_alternatives
from booking.services.lookups import Lookups
from booking.services.plans import (
    BookingRequest,
    DateReport,
    DateStatus,
    Plan,
    check_aware,
    occurrence_id,
    reservations_of,
)
from booking.services.policy import Policy
from booking.services.rules import check_rules
from booking.services.school_days import outside_days, school_days
from booking.services.slots import check_slot_length, one_slot, slots_of
from booking.services.validation import check_participants, check_request
from booking.words import Words

__all__ = [  # the request and plan types are used together with the planning
    "BookingRequest",
    "DateReport",
    "DateStatus",
    "Draft",
    "Plan",
    "check_aware",
    "check_rules",
    "draft_booking",
    "one_slot",
    "plan_booking",
    "propose_alternatives",
    "reservations_of",
    "slots_of",
]


# --- the plan ---------------------------------------------------------------------------------
SlotsFor = Callable[
    [Lookups, BookingRequest, Organisation, Sequence[Organisation], datetime, int, Policy],
    tuple[list[LessonSlot], list[SkippedDate]],
]


@dataclass
class Draft:
    """A request validated, authorised and resolved to dated occurrences — not yet
    checked against anything stored."""

    booking: Booking
    host: Organisation
    schools: list[Organisation]  # the host and every participating school
    slots: list[LessonSlot]
    skipped: list[SkippedDate]
    planned: list[Occurrence]


def draft_booking(
    lookups: Lookups,
    principal: Principal,
    request: BookingRequest,
    *,
    booking_id: str,
    now: datetime,
    policy: Policy,
    previous: Booking | None = None,
    exclude_dates: Iterable[date] = (),
    slots_for: SlotsFor | None = None,
) -> Draft:
    """Validate, authorise and resolve a request (see `plan_booking`); `slots_for` may
    replace the expansion of its dates (a bulk import shares expansions)."""
    check_aware(now, "now")
    setup_minutes = check_request(request, policy)
    owner, host = check_participants(lookups, principal, request)
    schools = list(lookups.orgs({host.id, *(p.school_id for p in request.participants)}).values())
    slots, skipped = (slots_for or slots_of)(
        lookups, request, host, schools, now, setup_minutes, policy
    )
    excluded = set(exclude_dates)
    slots = [s for s in slots if s.local_date not in excluded]
    for slot in slots:
        check_slot_length(request, slot, policy)
    booking = Booking(
        id=booking_id,
        title=request.title.strip(),
        kind=request.kind,
        organiser_id=previous.organiser_id if previous else principal.user_id,
        owner_org_id=owner.id,
        host_school_id=host.id,
        teacher=request.teacher,
        participants=_participants(lookups, principal, request, host, previous),
        platform=request.platform,
        setup_minutes=setup_minutes,
        expected_participants=request.expected_participants,
        subject=request.subject,
        start=slots[0].start if request.recurrence is None and slots else None,
        end=slots[0].end if request.recurrence is None and slots else None,
        recurrence=request.recurrence,
        broadcast_offset_minutes=request.broadcast_offset_minutes,
        broadcast_minutes=request.broadcast_minutes,
        status=previous.status if previous else BookingStatus.CONFIRMED,
        hold_expires_at=previous.hold_expires_at if previous else None,
        external_ref=request.external_ref,
        created_at=previous.created_at if previous else now,
        version=previous.version if previous else 1,
    )
    setup = timedelta(minutes=setup_minutes)
    terminal_ids = booking.terminal_ids if request.kind.needs_equipment else []
    planned = [
        Occurrence(
            id=occurrence_id(booking_id, slot.local_date),
            booking_id=booking_id,
            start=slot.start,
            end=slot.end,
            setup_start=slot.start - setup,
            local_date=slot.local_date,
            lesson_number=slot.lesson_number,
            terminal_ids=list(terminal_ids),
        )
        for slot in slots
    ]
    clashes = self_overlaps(planned)
    if clashes:
        first, second = clashes[0]
        raise InvalidInput(
            f"the series overlaps itself ({first.local_date} and {second.local_date})",
            field="recurrence",
        )
    return Draft(
        booking=booking,
        host=host,
        schools=schools,
        slots=slots,
        skipped=skipped,
        planned=planned,
    )


def _participants(
    lookups: Lookups,
    principal: Principal,
    request: BookingRequest,
    host: Organisation,
    previous: Booking | None,
) -> list[Participant]:
    """The request's participants; those outside the caller's scope invited — unless the
    stored booking already has their answer (an edit keeps an accepted or declined one)."""
    schools = lookups.orgs(p.school_id for p in request.participants)
    outside = {o.id for o in outside_scope(principal, schools.values(), host)}
    answered = {
        (p.school_id, p.terminal_id): p.state
        for p in (previous.participants if previous else [])
        if p.state != ParticipantState.INVITED
    }
    found = []
    for p in request.participants:
        participant = Participant(**vars(p))
        if p.school_id in outside:
            key = (p.school_id, p.terminal_id)
            participant.state = answered.get(key, ParticipantState.INVITED)
        found.append(participant)
    return found


def plan_booking(
    lookups: Lookups,
    principal: Principal,
    request: BookingRequest,
    *,
    booking_id: str,
    now: datetime,
    policy: Policy,
    previous: Booking | None = None,
    exclude_dates: Iterable[date] = (),
    replacing: Usage | None = None,
    holds_due_at: datetime | None = None,
    refusal_ends: bool = False,
) -> Plan:
    """Validate, authorise, resolve and check a request. Writes nothing.

    `previous` is the stored booking when editing (its own reservations are ignored and its
    id, creation time and version are kept); `exclude_dates` are dates an edit leaves as they
    are (existing moved or cancelled occurrences). With conflicts and `holds_due_at`,
    `plan.holds_due` tells whether a hold is due by then (read with the alternatives);
    `refusal_ends`: conflicts refuse the request and nothing read or written so far is
    kept — the transaction ends with the alternatives' read (see `refuse_with_alternatives`)."""
    draft = draft_booking(
        lookups,
        principal,
        request,
        booking_id=booking_id,
        now=now,
        policy=policy,
        previous=previous,
        exclude_dates=exclude_dates,
    )
    booking, host, planned = draft.booking, draft.host, draft.planned
    days = school_days(lookups, draft.schools)
    warnings = outside_days(lookups, days, draft.slots)
    if warnings and request.strict:
        joined = "; ".join(f"%(w{n})s" for n in range(len(warnings)))
        raise InvalidInput(
            Words(joined, {f"w{n}": w for n, w in enumerate(warnings)}),
            field="start", warnings=[w.text() for w in warnings],
        )  # fmt: skip
    plan = Plan(
        booking=booking,
        zone=host.zone,
        slots={s.local_date: s for s in draft.slots},
        planned=planned,
        skipped=draft.skipped,
        warnings=warnings,
    )
    if planned:
        plan.conflicts = check_rules(
            lookups, booking, planned, ignore_booking_id=booking_id, replacing=replacing,
            worded=False,
        )  # fmt: skip
    if plan.conflicts:  # alternatives, words, due holds: one read (ADR 0024)
        refuse_with_alternatives(
            lookups, plan, host, now=now, policy=policy, ignore_booking_id=booking_id,
            holds_due_at=holds_due_at, ending=refusal_ends,
        )  # fmt: skip
    return plan
