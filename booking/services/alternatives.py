"""Alternatives proposed for conflicting dates: the same lesson on another free terminal of
the school, the nearest free lessons of the same day (for the first conflicting dates),
and for a series the lesson numbers free on every one of its dates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta

from booking.bells import LessonSlot, day_lessons
from booking.bookings import Occurrence
from booking.conflicts import (
    Alternative,
    AlternativeKind,
    BusyIndex,
    ConflictKind,
    nearest_free_lessons,
    overlaps,
)
from booking.organisations import Organisation
from booking.services.lookups import Lookups
from booking.services.plans import Plan
from booking.services.policy import Policy
from booking.services.school_days import in_every_day, school_days


def propose_alternatives(
    lookups: Lookups,
    plan: Plan,
    host: Organisation,
    *,
    now: datetime,
    policy: Policy,
    ignore_booking_id: str | None = None,
    ignore_occurrence_id: str | None = None,
) -> list[Alternative]:
    """Another free terminal at the same site for the same slots, and the nearest free
    lessons of the same day for the same terminals (and classes)."""
    alternatives = _other_terminals(lookups, plan, ignore_booking_id, ignore_occurrence_id)
    alternatives += _other_lessons(
        lookups,
        plan,
        host,
        now=now,
        policy=policy,
        ignore_booking_id=ignore_booking_id,
        ignore_occurrence_id=ignore_occurrence_id,
    )
    return alternatives


def _other_terminals(
    lookups: Lookups,
    plan: Plan,
    ignore_booking_id: str | None,
    ignore_occurrence_id: str | None,
) -> list[Alternative]:
    by_date = {o.local_date: o for o in plan.planned}
    busy_terminals: dict[str, list[Occurrence]] = defaultdict(list)
    for item in plan.conflicts:
        if item.kind == ConflictKind.TERMINAL_BUSY and item.terminal_id:
            occurrence = by_date[item.local_date]
            if occurrence not in busy_terminals[item.terminal_id]:
                busy_terminals[item.terminal_id].append(occurrence)
    if not busy_terminals:
        return []
    uow = lookups.uow
    current = lookups.terminals(busy_terminals)
    taken = set(plan.booking.terminal_ids)
    candidates = [
        t
        for t in uow.terminals.at_sites({t.site_id for t in current.values()})
        if t.active and t.id not in taken
    ]
    if not candidates:
        return []
    ranges = sorted({o.busy_range for os in busy_terminals.values() for o in os})
    index = BusyIndex(
        (
            r
            for r in uow.occurrences.reservations_overlapping([c.id for c in candidates], ranges)
            if r.occurrence_id != ignore_occurrence_id
        ),
        ignore_booking_id,
    )
    alternatives = []
    for terminal_id, occurrences in busy_terminals.items():
        site = current[terminal_id].site_id
        for candidate in candidates:
            if candidate.site_id == site and all(
                index.is_free(candidate.id, *o.busy_range) for o in occurrences
            ):
                alternatives.append(
                    Alternative(
                        kind=AlternativeKind.OTHER_TERMINAL,
                        terminal_id=candidate.id,
                        instead_of_terminal_id=terminal_id,
                        local_date=occurrences[0].local_date if len(occurrences) == 1 else None,
                    )
                )
    return alternatives


def _other_lessons(
    lookups: Lookups,
    plan: Plan,
    host: Organisation,
    *,
    now: datetime,
    policy: Policy,
    ignore_booking_id: str | None,
    ignore_occurrence_id: str | None,
) -> list[Alternative]:
    bells = lookups.bells_of(host)
    if bells is None:
        return []
    booking = plan.booking
    dates = sorted(plan.conflicting_dates)[: policy.alternatives_dates]
    series = sorted(plan.slots) if len(plan.planned) > 1 else []  # every date, not the first 3
    days: dict[date, list[LessonSlot]] = {}
    for day in sorted({*dates, *series}):
        year = lookups.year_covering(day)
        days[day] = day_lessons(
            bells, plan.zone, day, shortened=year is not None and year.is_shortened(day)
        )
    setup = timedelta(minutes=booking.setup_minutes)
    day_ranges = [(ls[0].start - setup, ls[-1].end) for ls in days.values() if ls]
    if not day_ranges:
        return []
    uow = lookups.uow
    terminal_ids = booking.terminal_ids if booking.kind.needs_equipment else []
    index = BusyIndex(
        (
            r
            for r in (
                uow.occurrences.reservations_overlapping(terminal_ids, day_ranges)
                if terminal_ids
                else []
            )
            if r.occurrence_id != ignore_occurrence_id
        ),
        ignore_booking_id,
    )
    classes = [(p.school_id, p.class_name) for p in booking.participants if p.class_name]
    sessions = [
        s
        for s in (uow.occurrences.class_sessions(classes, day_ranges) if classes else [])
        if s.booking_id != ignore_booking_id and s.occurrence_id != ignore_occurrence_id
    ]

    participants = lookups.orgs({host.id, *(p.school_id for p in booking.participants)})
    keep_to = school_days(lookups, participants.values())

    def is_free(slot: LessonSlot) -> bool:
        if slot.start - setup < now:
            return False
        if not in_every_day(lookups, keep_to, slot):  # never before or after a school's day
            return False
        if not all(index.is_free(t, slot.start - setup, slot.end) for t in terminal_ids):
            return False
        return not any(overlaps(slot.start, slot.end, s.start, s.end) for s in sessions)

    alternatives = []
    for day in dates:
        requested = plan.slots[day]
        for slot in nearest_free_lessons(
            requested, days[day], is_free, limit=policy.alternatives_per_date
        ):
            alternatives.append(
                Alternative(
                    kind=AlternativeKind.OTHER_LESSON,
                    local_date=day,
                    lesson_number=slot.lesson_number,
                    local_start=slot.local_start,
                    local_end=slot.local_end,
                    start=slot.start,
                    end=slot.end,
                )
            )
    return alternatives + _every_date(series, days, plan, is_free)


def _every_date(
    series: list[date],
    days: dict[date, list[LessonSlot]],
    plan: Plan,
    is_free: Callable[[LessonSlot], bool],
) -> list[Alternative]:
    """The lesson numbers (other than the requested one) free on every date of the series,
    in the order of the day."""
    if not series:
        return []
    requested = {plan.slots[day].lesson_number for day in series}
    free: dict[int, int] = defaultdict(int)
    for day in series:
        for slot in days[day]:
            number = slot.lesson_number
            if number is not None and number not in requested and is_free(slot):
                free[number] += 1
    return [
        Alternative(kind=AlternativeKind.EVERY_DATE_LESSON, lesson_number=number)
        for number, count in sorted(free.items())
        if count == len(series)
    ]
