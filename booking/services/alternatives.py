"""Alternatives proposed for conflicting dates: the same lesson on another free terminal of
the school, the nearest free lessons of the same day (for the first conflicting dates),
and for a series the lesson numbers free on every one of its dates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from booking.bells import LessonSlot, day_lessons
from booking.bookings import Occurrence, Reservation
from booking.conflicts import (
    Alternative,
    AlternativeKind,
    BusyIndex,
    ClassSession,
    ConflictKind,
    nearest_free_lessons,
    overlaps,
)
from booking.organisations import Organisation
from booking.resources import Terminal
from booking.services.lookups import Lookups
from booking.services.plans import Plan
from booking.services.policy import Policy
from booking.services.school_days import in_every_day, school_days
from booking.services.wording import briefs_wanted, reworded


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
    lessons of the same day for the same terminals (and classes). What both need is read
    at once (`Occurrences.rule_reads`: one round trip on PostgreSQL): the reservations of
    the candidate and the booking's own terminals over the conflicting slots and the
    lesson days, and the classes' sessions over those days."""
    wanted = alternatives_wanted(lookups, plan, host, policy)
    read = lookups.uow.occurrences.rule_reads(
        wanted.terminal_ids, wanted.ranges, wanted.classes, wanted.class_ranges, []
    )
    return alternatives_found(
        lookups, plan, host, wanted, read.reservations, read.sessions, now=now, policy=policy,
        ignore_booking_id=ignore_booking_id, ignore_occurrence_id=ignore_occurrence_id,
    )  # fmt: skip


def refuse_with_alternatives(
    lookups: Lookups,
    plan: Plan,
    host: Organisation,
    *,
    now: datetime,
    policy: Policy,
    ignore_booking_id: str | None = None,
    holds_due_at: datetime | None = None,
    ending: bool = False,
) -> None:
    """Complete a plan that has conflicts (found by `check_rules(worded=False)`): its
    alternatives, its conflicts told in words, and — when `holds_due_at` is given —
    whether a hold is due by then (`plan.holds_due`). What the three need is read at once
    (`Occurrences.refusal_reads`: one round trip on PostgreSQL). `ending`: the plan will
    be refused, nothing is kept — the transaction ends with that read (unless a hold is
    due, the caller reads and writes nothing more)."""
    wanted = alternatives_wanted(lookups, plan, host, policy)
    read = lookups.uow.occurrences.refusal_reads(
        briefs_wanted(plan.conflicts), wanted.terminal_ids, wanted.ranges, wanted.classes,
        wanted.class_ranges, holds_due_at=holds_due_at, ending=ending,
    )  # fmt: skip
    plan.alternatives = alternatives_found(
        lookups, plan, host, wanted, read.reservations, read.sessions, now=now, policy=policy,
        ignore_booking_id=ignore_booking_id,
    )  # fmt: skip
    plan.conflicts = reworded(lookups, plan.conflicts, read.briefs)
    plan.holds_due = read.holds_due


@dataclass
class Wanted:
    """What the alternatives of a plan are checked against: the reservations of
    `terminal_ids` over `ranges`, the sessions of `classes` over `class_ranges`."""

    others: _OtherTerminals | None
    lessons: _Lessons | None
    terminal_ids: list[str]
    ranges: list[tuple[datetime, datetime]]
    classes: list[tuple[str, str]]
    class_ranges: list[tuple[datetime, datetime]]


def alternatives_wanted(lookups: Lookups, plan: Plan, host: Organisation, policy: Policy) -> Wanted:
    others = _other_terminals_wanted(lookups, plan)
    lessons = _lessons_wanted(lookups, plan, host, policy)
    terminal_ids = sorted(
        {*(c.id for c in (others.candidates if others else [])),
         *(lessons.terminal_ids if lessons else [])}
    )  # fmt: skip
    ranges = sorted({*(others.ranges if others else []), *(lessons.day_ranges if lessons else [])})
    classes = lessons.classes if lessons else []
    class_ranges = lessons.day_ranges if lessons and classes else []
    return Wanted(others, lessons, terminal_ids, ranges, classes, class_ranges)


def alternatives_found(
    lookups: Lookups,
    plan: Plan,
    host: Organisation,
    wanted: Wanted,
    reservations: Iterable[Reservation],
    found_sessions: Iterable[ClassSession],
    *,
    now: datetime,
    policy: Policy,
    ignore_booking_id: str | None = None,
    ignore_occurrence_id: str | None = None,
) -> list[Alternative]:
    """The alternatives, from what `wanted` said to read."""
    index = BusyIndex(
        (r for r in reservations if r.occurrence_id != ignore_occurrence_id),
        ignore_booking_id,
    )
    sessions = [
        s
        for s in found_sessions
        if s.booking_id != ignore_booking_id and s.occurrence_id != ignore_occurrence_id
    ]
    others, lessons = wanted.others, wanted.lessons
    alternatives = _other_terminals(others, index) if others else []
    if lessons:
        alternatives += _other_lessons(
            lookups, plan, host, lessons, index, sessions, now=now, policy=policy
        )
    return alternatives


@dataclass
class _OtherTerminals:
    """The terminals found busy, on which dates, and the free candidates of their sites."""

    busy: dict[str, list[Occurrence]]
    current: dict[str, Terminal]
    candidates: list[Terminal]
    ranges: list[tuple[datetime, datetime]]


def _other_terminals_wanted(lookups: Lookups, plan: Plan) -> _OtherTerminals | None:
    by_date = {o.local_date: o for o in plan.planned}
    busy_terminals: dict[str, list[Occurrence]] = defaultdict(list)
    for item in plan.conflicts:
        if item.kind == ConflictKind.TERMINAL_BUSY and item.terminal_id:
            occurrence = by_date[item.local_date]
            if occurrence not in busy_terminals[item.terminal_id]:
                busy_terminals[item.terminal_id].append(occurrence)
    if not busy_terminals:
        return None
    current = dict(lookups.terminals(busy_terminals))
    taken = set(plan.booking.terminal_ids)
    candidates = [
        t
        for t in lookups.uow.terminals.at_sites({t.site_id for t in current.values()})
        if t.active and t.id not in taken
    ]
    if not candidates:
        return None
    ranges = sorted({o.busy_range for os in busy_terminals.values() for o in os})
    return _OtherTerminals(busy_terminals, current, candidates, ranges)


def _other_terminals(wanted: _OtherTerminals, index: BusyIndex) -> list[Alternative]:
    alternatives = []
    for terminal_id, occurrences in wanted.busy.items():
        site = wanted.current[terminal_id].site_id
        for candidate in wanted.candidates:
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


@dataclass
class _Lessons:
    """The lesson days to search (the first conflicting dates, and every date of a
    series), their time ranges, the booking's terminals and classes."""

    dates: list[date]
    series: list[date]
    days: dict[date, list[LessonSlot]]
    day_ranges: list[tuple[datetime, datetime]]
    terminal_ids: list[str]
    classes: list[tuple[str, str]]


def _lessons_wanted(
    lookups: Lookups, plan: Plan, host: Organisation, policy: Policy
) -> _Lessons | None:
    bells = lookups.bells_of(host)
    if bells is None:
        return None
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
        return None
    terminal_ids = list(booking.terminal_ids) if booking.kind.needs_equipment else []
    classes = [(p.school_id, p.class_name) for p in booking.participants if p.class_name]
    return _Lessons(dates, series, days, day_ranges, terminal_ids, classes)


def _other_lessons(
    lookups: Lookups,
    plan: Plan,
    host: Organisation,
    wanted: _Lessons,
    index: BusyIndex,
    sessions: list[ClassSession],
    *,
    now: datetime,
    policy: Policy,
) -> list[Alternative]:
    booking = plan.booking
    setup = timedelta(minutes=booking.setup_minutes)
    terminal_ids = wanted.terminal_ids
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
    for day in wanted.dates:
        requested = plan.slots[day]
        for slot in nearest_free_lessons(
            requested, wanted.days[day], is_free, limit=policy.alternatives_per_date
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
    return alternatives + _every_date(wanted.series, wanted.days, plan, is_free)


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
