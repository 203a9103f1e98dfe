"""Booking use cases: create (single or weekly series), holds, edit, cancel, per-occurrence
exceptions (move, cancel, substitute teacher), bulk upsert of a timetable, and reads.

Every function opens the unit of work itself, commits only on success, and takes `now`
explicitly. Checks come before writes, so a refused request leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from uuid import uuid4

from booking.access import Action, Principal, authorize, scope_of, visible
from booking.bells import LessonSlot, clock_slot, lesson_slot
from booking.bookings import Booking, BookingStatus, Occurrence, OccurrenceState, SessionKind
from booking.capacity import UsageKey, usage_of
from booking.conflicts import Alternative, Capacity, ConflictItem
from booking.errors import (
    BookingConflict,
    Conflict,
    DomainError,
    Forbidden,
    HoldExpired,
    ImmutablePast,
    InvalidInput,
    NotFound,
    VersionMismatch,
)
from booking.lifecycle import may_change
from booking.organisations import Organisation
from booking.paging import Page, check_page
from booking.repository import UnitOfWork
from booking.schoolyear import day_off
from booking.services.lookups import Lookups
from booking.services.planning import (
    BookingRequest,
    DateReport,
    DateStatus,
    Plan,
    check_aware,
    check_rules,
    one_slot,
    plan_booking,
    propose_alternatives,
    reservations_of,
)
from booking.services.policy import Policy

__all__ = [
    "BookingRequest",
    "BookingResult",
    "DateReport",
    "DateStatus",
    "ItemStatus",
    "Policy",
    "Session",
    "UpsertResult",
    "bookings_page",
    "calendar_sessions",
    "cancel_booking",
    "cancel_occurrence",
    "confirm_hold",
    "create_booking",
    "expire_holds",
    "get_booking",
    "get_occurrence",
    "list_bookings",
    "move_occurrence",
    "occurrences_of",
    "sessions_between",
    "sessions_page",
    "substitute_teacher",
    "update_booking",
    "upsert_timetable",
]


@dataclass
class BookingResult:
    booking: Booking
    occurrences: list[Occurrence]  # written, or that would be written on a dry run
    report: list[DateReport]  # one row per date the request named
    conflicts: list[ConflictItem] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    written: bool = False


def new_id() -> str:
    return uuid4().hex[:16]


# --- helpers shared by the use cases ----------------------------------------------------------
def _refusal(plan: Plan) -> BookingConflict:
    dates = sorted(plan.conflicting_dates)
    named = ", ".join(f"{d:%Y-%m-%d}" for d in dates[:5]) + (" …" if len(dates) > 5 else "")
    return BookingConflict(
        f"{len(dates)} of {len(plan.planned)} dates conflict ({named})",
        conflicts=plan.conflicts,
        alternatives=plan.alternatives,
        report=plan.report(written=False),
    )


def _booking_orgs(lookups: Lookups, booking: Booking) -> list[Organisation]:
    ids = {
        booking.owner_org_id,
        booking.host_school_id,
        *(p.school_id for p in booking.participants),
    }
    return list(lookups.orgs(ids).values())


def _load_booking(uow: UnitOfWork, booking_id: str) -> Booking:
    booking = uow.bookings.get(booking_id)
    if booking is None:
        raise NotFound(f"unknown booking {booking_id}", booking_id=booking_id)
    return booking


def _check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and expected != current:
        raise VersionMismatch(
            f"{what} has changed (version {current}, you sent {expected}); reload and retry",
            current=current,
            expected=expected,
        )


def _has_begun(occurrence: Occurrence, now: datetime) -> bool:
    return not may_change(occurrence.state, occurrence.setup_start, now)


def _change_usage(uow: UnitOfWork, deltas: Mapping[UsageKey, Capacity]) -> None:
    # TRANSITIONAL: skipped while a storage does not implement the usage ledger yet
    if deltas and hasattr(uow.occurrences, "change_server_usage"):
        uow.occurrences.change_server_usage(deltas)


def _release(uow: UnitOfWork, booking: Booking, occurrences: Sequence[Occurrence]) -> None:
    """Free the terminals and the server capacity these occurrences held."""
    for occurrence in occurrences:
        uow.occurrences.release(occurrence.id)
    _change_usage(uow, usage_of(booking, occurrences, sign=-1))


def _cancel_occurrences(uow: UnitOfWork, booking: Booking, now: datetime, reason: str) -> None:
    cancelled = []
    for occurrence in uow.occurrences.of_booking(booking.id):
        if occurrence.cancelled or _has_begun(occurrence, now):
            continue
        occurrence.cancelled = True
        occurrence.state = OccurrenceState.CANCELLED
        occurrence.state_reason = reason
        occurrence.version += 1
        uow.occurrences.update(occurrence)
        cancelled.append(occurrence)
    _release(uow, booking, cancelled)


def _expire_holds(uow: UnitOfWork, now: datetime) -> list[str]:
    expired = []
    for booking in uow.bookings.expired_holds(now):
        booking.status = BookingStatus.CANCELLED
        booking.version += 1
        _cancel_occurrences(uow, booking, now, "hold expired")
        uow.bookings.update(booking)
        expired.append(booking.id)
    return expired


# --- create -----------------------------------------------------------------------------------
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
            result = _create(
                Lookups(uow),
                principal,
                request,
                now=now,
                policy=policy,
                dry_run=dry_run,
                skip_conflicts=skip_conflicts,
                hold=hold,
                booking_id=booking_id,
            )
            if result.written:
                uow.commit()
            return result
    except BookingConflict as lost:
        if lost.details.get("conflicts"):
            raise
        raise _race_lost(uow, principal, request, now, policy, lost) from lost


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
        return _replanned(Lookups(uow), principal, request, now, policy, lost)


def _replanned(
    lookups: Lookups,
    principal: Principal,
    request: BookingRequest,
    now: datetime,
    policy: Policy,
    lost: BookingConflict,
) -> BookingConflict:
    plan = plan_booking(lookups, principal, request, booking_id=new_id(), now=now, policy=policy)
    if not plan.conflicts:  # the winner is gone again (cancelled meanwhile): say what we know
        return lost
    refusal = _refusal(plan)
    refusal.details["race"] = True
    return refusal


def _create(
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
) -> BookingResult:
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
    plan = plan_booking(lookups, principal, request, booking_id=booking_id, now=now, policy=policy)
    if plan.conflicts and _expire_holds(uow, now):  # expired holds no longer block: plan again
        plan = plan_booking(
            lookups, principal, request, booking_id=booking_id, now=now, policy=policy
        )
    booking = plan.booking
    if hold:
        booking.status = BookingStatus.HELD
        booking.hold_expires_at = now + timedelta(minutes=policy.hold_ttl_minutes)
    result = BookingResult(
        booking=booking,
        occurrences=plan.free,
        report=plan.report(written=False, skip_conflicts=skip_conflicts),
        conflicts=plan.conflicts,
        alternatives=plan.alternatives,
    )
    if dry_run:
        return result
    if plan.conflicts and (not skip_conflicts or not plan.free):
        raise _refusal(plan)
    if not plan.planned:
        raise InvalidInput(
            "no date is left to book: every date is a holiday, a closure or past",
            report=result.report,
        )
    uow.bookings.add(booking)
    uow.occurrences.add_all(plan.free, reservations_of(plan.free))
    _change_usage(uow, usage_of(booking, plan.free))
    result.report = plan.report(written=True, skip_conflicts=skip_conflicts)
    result.written = True
    return result


# --- holds ------------------------------------------------------------------------------------
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
        booking = _load_booking(uow, booking_id)
        authorize(principal, Action.BOOK, _booking_orgs(lookups, booking))
        _check_version(booking.version, expected_version, f"booking {booking_id}")
        if booking.status == BookingStatus.CONFIRMED:
            return booking
        if booking.status == BookingStatus.CANCELLED and booking.hold_expires_at is not None:
            raise HoldExpired(
                f"the hold on booking {booking_id} expired at {booking.hold_expires_at:%H:%M} UTC",
                booking_id=booking_id,
            )
        if booking.status != BookingStatus.HELD:
            raise Conflict(f"booking {booking_id} is {booking.status}, not held")
        if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
            _expire_holds(uow, now)
            uow.commit()
            raise HoldExpired(
                f"the hold on booking {booking_id} expired at {booking.hold_expires_at:%H:%M} UTC",
                booking_id=booking_id,
            )
        booking.status = BookingStatus.CONFIRMED
        booking.hold_expires_at = None
        booking.version += 1
        uow.bookings.update(booking)
        uow.commit()
        return booking


def expire_holds(uow: UnitOfWork, *, now: datetime) -> list[str]:
    """Cancel every hold not confirmed in time and free its terminals; returns their ids.
    Run periodically by the jobs; booking creation also does it first."""
    with uow:
        expired = _expire_holds(uow, now)
        uow.commit()
        return expired


# --- cancel and edit --------------------------------------------------------------------------
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
        booking = _load_booking(uow, booking_id)
        authorize(principal, Action.BOOK, _booking_orgs(Lookups(uow), booking))
        _check_version(booking.version, expected_version, f"booking {booking_id}")
        if booking.status == BookingStatus.CANCELLED:
            return booking
        booking.status = BookingStatus.CANCELLED
        booking.hold_expires_at = None
        booking.version += 1
        _cancel_occurrences(uow, booking, now, "booking cancelled")
        uow.bookings.update(booking)
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
        result = _update(
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
            uow.commit()
        return result


def _update(
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
    current = _load_booking(uow, booking_id)
    authorize(principal, Action.BOOK, _booking_orgs(lookups, current))
    _check_version(current.version, expected_version, f"booking {booking_id}")
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
    frozen = [o for o in existing if _has_begun(o, now)]
    exceptions = [
        o for o in existing if not _has_begun(o, now) and (o.cancelled or o.moved_from is not None)
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
    if plan.conflicts and _expire_holds(uow, now):  # expired holds no longer block: plan again
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
    )
    if dry_run:
        return result
    if plan.conflicts and (not skip_conflicts or not plan.free):
        raise _refusal(plan)
    keep = {o.id: o for o in plan.free}
    # free the old reservations first: the new ones may take the same terminal-time
    _release(uow, current, list(regular.values()))
    uow.occurrences.delete([i for i in regular if i not in keep])
    fresh = []
    changed = []
    for occurrence_id, planned in keep.items():
        old = regular.get(occurrence_id)
        if old is None:
            fresh.append(planned)
            continue
        old.start, old.end, old.setup_start = planned.start, planned.end, planned.setup_start
        old.local_date, old.lesson_number = planned.local_date, planned.lesson_number
        old.terminal_ids = list(planned.terminal_ids)
        old.version += 1
        uow.occurrences.update(old)
        changed.append(old)
    uow.occurrences.reserve(reservations_of(changed))
    uow.occurrences.add_all(fresh, reservations_of(fresh))
    _change_usage(uow, usage_of(booking, changed + fresh))
    booking.version = current.version + 1
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


# --- single-occurrence exceptions -------------------------------------------------------------
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
    booking = _load_booking(uow, occurrence.booking_id)
    authorize(principal, Action.BOOK, _booking_orgs(lookups, booking))
    _check_version(occurrence.version, expected_version, f"occurrence {occurrence_id}")
    if _has_begun(occurrence, now):
        raise ImmutablePast(
            f"occurrence {occurrence_id} has begun or is over and cannot be changed",
            occurrence_id=occurrence_id,
        )
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
        if occurrence.cancelled:
            raise Conflict(f"occurrence {occurrence_id} is cancelled; it cannot be moved")
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
        if conflicts and _expire_holds(uow, now):  # expired holds no longer block
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
            raise _refusal(plan)
        _release(uow, booking, [occurrence])
        if occurrence.moved_from is None:
            occurrence.moved_from = occurrence.start
        occurrence.start, occurrence.end = moved.start, moved.end
        occurrence.setup_start = moved.setup_start
        occurrence.local_date, occurrence.lesson_number = moved.local_date, moved.lesson_number
        occurrence.version += 1
        uow.occurrences.update(occurrence)
        uow.occurrences.reserve(reservations_of([occurrence]))
        _change_usage(uow, usage_of(booking, [occurrence]))
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
        schools = _booking_orgs(lookups, booking)
        off = day_off(slot.local_date, year, lookups.closures(schools, year.start, year.end))
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
        if occurrence.cancelled:
            return occurrence
        occurrence.cancelled = True
        occurrence.state = OccurrenceState.CANCELLED
        occurrence.state_reason = reason or "cancelled"
        occurrence.version += 1
        uow.occurrences.update(occurrence)
        _release(uow, booking, [occurrence])
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
        occurrence, _ = _occurrence_for_change(
            Lookups(uow), principal, occurrence_id, now, expected_version
        )
        if occurrence.cancelled:
            raise Conflict(f"occurrence {occurrence_id} is cancelled; nobody teaches it")
        if teacher is not None and not teacher.strip():
            raise InvalidInput("the substitute teacher needs a name", field="teacher")
        occurrence.teacher = teacher.strip() if teacher else None
        occurrence.version += 1
        uow.occurrences.update(occurrence)
        uow.commit()
        return occurrence


# --- bulk upsert of a timetable ---------------------------------------------------------------
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
    try:
        if not ref:
            raise InvalidInput("every timetable item needs an external_ref", field="external_ref")
        owner_id = item.owner_org_id or principal.org_id
        with lookups.uow.savepoint():  # a failed item leaves nothing behind, the others stay
            existing = lookups.uow.bookings.by_external_ref(owner_id, ref)
            if existing is None:
                creating = True
                result = _create(
                    lookups, principal, item, now=now, policy=policy, dry_run=dry_run,
                    skip_conflicts=skip_conflicts, hold=False, booking_id=None,
                )  # fmt: skip
                status = ItemStatus.CREATED
            else:
                if existing.status == BookingStatus.CANCELLED:
                    raise Conflict(f"booking {existing.id} ({ref}) is cancelled")
                authorize(principal, Action.BOOK, _booking_orgs(lookups, existing))
                if _unchanged(lookups, principal, item, existing, policy):
                    return UpsertResult(index, ref, ItemStatus.UNCHANGED, existing.id)
                result = _update(
                    lookups, principal, existing.id, item, now=now, expected_version=None,
                    policy=policy, dry_run=dry_run, skip_conflicts=skip_conflicts,
                )  # fmt: skip
                status = ItemStatus.UPDATED
    except DomainError as error:
        if creating and isinstance(error, BookingConflict) and not error.details.get("conflicts"):
            error = _replanned(lookups, principal, item, now, policy, error)  # a lost race
        return UpsertResult(
            index,
            ref,
            ItemStatus.FAILED,
            code=error.code,
            message=error.message,
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


# --- reads ------------------------------------------------------------------------------------
def _ensure_visible(lookups: Lookups, principal: Principal, booking: Booking) -> None:
    authorize(principal, Action.READ)
    if not any(visible(principal, org) for org in _booking_orgs(lookups, booking)):
        raise Forbidden(
            f"booking {booking.id} is outside the scope of this {principal.role}",
            booking_id=booking.id,
        )


def get_booking(uow: UnitOfWork, principal: Principal, booking_id: str) -> Booking:
    """A booking visible to the caller: its owner, host or a participant is in their scope."""
    with uow:
        booking = _load_booking(uow, booking_id)
        _ensure_visible(Lookups(uow), principal, booking)
        return booking


def occurrences_of(uow: UnitOfWork, principal: Principal, booking_id: str) -> list[Occurrence]:
    with uow:
        booking = _load_booking(uow, booking_id)
        _ensure_visible(Lookups(uow), principal, booking)
        return list(uow.occurrences.of_booking(booking_id))


def get_occurrence(uow: UnitOfWork, principal: Principal, occurrence_id: str) -> Occurrence:
    with uow:
        occurrence = uow.occurrences.get(occurrence_id)
        if occurrence is None:
            raise NotFound(f"unknown occurrence {occurrence_id}", occurrence_id=occurrence_id)
        _ensure_visible(Lookups(uow), principal, _load_booking(uow, occurrence.booking_id))
        return occurrence


def _check_range(start: datetime, end: datetime, max_days: int) -> None:
    check_aware(start, "start")
    check_aware(end, "end")
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    if end - start > timedelta(days=max_days):
        raise InvalidInput(
            f"the range spans more than {max_days} days", field="end", max_days=max_days
        )


def list_bookings(
    uow: UnitOfWork,
    principal: Principal,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
    policy: Policy | None = None,
) -> list[Booking]:
    """Bookings owned inside the caller's subtree, optionally with an occurrence in
    [start, end); ordered by id, paginated."""
    found = bookings_page(
        uow, principal, start=start, end=end, offset=offset, limit=limit, policy=policy
    )
    return list(found.items)


def bookings_page(
    uow: UnitOfWork,
    principal: Principal,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
    policy: Policy | None = None,
) -> Page[Booking]:
    """One page of `list_bookings` and how many bookings there are in all (one count)."""
    policy = policy or Policy()
    authorize(principal, Action.READ)
    if start is not None and end is not None:
        _check_range(start, end, policy.max_range_days)
    check_page(offset, limit)
    org_path = scope_of(principal)
    with uow:
        return Page(
            items=list(
                uow.bookings.search(
                    org_path=org_path, start=start, end=end, offset=offset, limit=limit
                )
            ),
            total=uow.bookings.count(org_path=org_path, start=start, end=end),
        )


@dataclass(frozen=True)
class Session:
    """An occurrence with its booking: what a calendar feed or a day view shows."""

    occurrence: Occurrence
    booking: Booking

    @property
    def teacher(self) -> str:
        return self.occurrence.teacher or self.booking.teacher


def sessions_page(
    uow: UnitOfWork,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    terminal_id: str | None = None,
    school_id: str | None = None,
    teacher: str | None = None,
    include_cancelled: bool = False,
    offset: int = 0,
    limit: int = 100,
    policy: Policy | None = None,
) -> Page[Session]:
    """One page of `sessions_between` and how many there are in all. One terminal's, one
    school's or one teacher's sessions are few and read whole; everything the caller may
    see is paged and counted by storage (a region has a million occurrences a year)."""
    check_page(offset, limit)
    if terminal_id is not None or school_id is not None or teacher is not None:
        found = sessions_between(
            uow, principal, start, end, terminal_id=terminal_id, school_id=school_id,
            teacher=teacher, include_cancelled=include_cancelled, policy=policy,
        )  # fmt: skip
        return Page(items=found[offset : offset + limit], total=len(found))
    policy = policy or Policy()
    _check_range(start, end, policy.max_range_days)
    authorize(principal, Action.READ)
    org_path = scope_of(principal)
    with uow:
        occurrences = uow.occurrences.visible(
            start, end, org_path=org_path, include_cancelled=include_cancelled,
            offset=offset, limit=limit,
        )  # fmt: skip
        total = uow.occurrences.count_visible(
            start, end, org_path=org_path, include_cancelled=include_cancelled
        )
        bookings = uow.bookings.get_many({o.booking_id for o in occurrences})
        items = [
            Session(o, bookings[o.booking_id]) for o in occurrences if o.booking_id in bookings
        ]
        return Page(items=items, total=total)


# a feed's range is widened by a day before and two after (whole local days in every zone)
FIRST_FEED_DATE = date.min + timedelta(days=1)
LAST_FEED_DATE = date.max - timedelta(days=2)


def calendar_sessions(
    uow: UnitOfWork,
    principal: Principal,
    first: date,
    last: date,
    *,
    terminal_id: str | None = None,
    school_id: str | None = None,
    teacher: str | None = None,
    policy: Policy | None = None,
) -> list[Session]:
    """A calendar feed's sessions: those of `sessions_between` (cancelled too) whose local
    date lies in [first, last] — exactly the lessons of the range, in every time zone."""
    for name, value in (("from", first), ("to", last)):
        if not FIRST_FEED_DATE <= value <= LAST_FEED_DATE:
            raise InvalidInput(
                f"{name} must lie between {FIRST_FEED_DATE} and {LAST_FEED_DATE}, got {value}",
                field=name,
            )
    if last < first:
        raise InvalidInput(f"to ({last}) is before from ({first})", field="to")
    start = datetime.combine(first - timedelta(days=1), time(), UTC)
    end = datetime.combine(last + timedelta(days=2), time(), UTC)
    sessions = sessions_between(
        uow, principal, start, end, terminal_id=terminal_id, school_id=school_id,
        teacher=teacher, include_cancelled=True, policy=policy,
    )  # fmt: skip
    return [s for s in sessions if first <= s.occurrence.local_date <= last]


def sessions_between(
    uow: UnitOfWork,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    terminal_id: str | None = None,
    school_id: str | None = None,
    teacher: str | None = None,
    include_cancelled: bool = False,
    policy: Policy | None = None,
) -> list[Session]:
    """Occurrences in [start, end) for one terminal, one school (its terminals, and the
    sessions it hosts or joins) or one teacher (including substitutions), ordered by start.
    Feeds (iCalendar) and day views are built on this."""
    policy = policy or Policy()
    _check_range(start, end, policy.max_range_days)
    authorize(principal, Action.READ)
    with uow:
        lookups = Lookups(uow)
        terminal_ids: list[str] | None = None
        if terminal_id is not None:
            terminal = lookups.terminals([terminal_id])[terminal_id]
            site = lookups.org(terminal.site_id)
            authorize(principal, Action.READ, [site])
            terminal_ids = [terminal_id]
        elif school_id is not None:
            authorize(principal, Action.READ, [lookups.org(school_id)])
        repository = uow.occurrences
        if terminal_ids is not None:
            found = repository.between(start, end, terminal_ids=terminal_ids)
        elif school_id is not None and hasattr(repository, "of_schools"):
            found = repository.of_schools([school_id], start, end)
        elif teacher is not None and hasattr(repository, "of_teacher"):
            found = repository.of_teacher(teacher, start, end)
        else:  # TRANSITIONAL (hasattr above): a storage without of_schools/of_teacher yet
            found = repository.between(start, end)
        occurrences = [o for o in found if include_cancelled or not o.cancelled]
        bookings = uow.bookings.get_many({o.booking_id for o in occurrences})
        sessions = []
        for occurrence in occurrences:
            if occurrence.booking_id not in bookings:
                continue
            booking = bookings[occurrence.booking_id]
            session = Session(occurrence, booking)
            if school_id is not None and school_id not in (
                booking.host_school_id,
                *(p.school_id for p in booking.participants),
            ):
                continue
            if teacher is not None and session.teacher != teacher:
                continue
            if terminal_id is None and school_id is None:
                orgs = _booking_orgs(lookups, booking)
                if not any(visible(principal, org) for org in orgs):
                    continue
            sessions.append(session)
        return sessions
