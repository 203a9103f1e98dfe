"""From a booking request to checked, dated occurrences — without writing anything.

`plan_booking` validates the request, authorises it, resolves its slots (lesson numbers
through the host school's bells and calendar, in its time zone), materialises candidate
occurrences and checks every rule with one batch query per rule over the whole series.
It returns a `Plan` (occurrences, skipped dates, conflicts, alternatives) that the use
cases in `booking.services.bookings` either write, report or refuse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from booking.access import Action, Principal, authorize
from booking.bells import LessonSlot, clock_slot, day_lessons, lesson_slot
from booking.bookings import (
    Booking,
    BookingStatus,
    Occurrence,
    Participant,
    Recurrence,
    Reservation,
    SessionKind,
)
from booking.capacity import Usage, buckets, merged, suspects
from booking.conflicts import (
    Alternative,
    AlternativeKind,
    BusyIndex,
    ConflictItem,
    ConflictKind,
    capacity_conflicts,
    class_conflicts,
    demand_of,
    nearest_free_lessons,
    overlaps,
    self_overlaps,
    server_capacity,
    terminal_conflicts,
)
from booking.errors import ImmutablePast, InvalidInput, ResourceInactive
from booking.organisations import Organisation, OrgKind
from booking.recurrence import SkippedDate, expand
from booking.resources import PlatformKind
from booking.schoolyear import day_off
from booking.services.lookups import Lookups
from booking.services.policy import Policy


@dataclass
class BookingRequest:
    """What a caller asks for. Give exactly one way of saying when:

    - `recurrence` (weekly, by lesson number or clock times), or
    - `on_date` + `lesson_number` (one lesson, through the host school's bells), or
    - `on_date` + `start_time`/`end_time` (local clock time at the host school), or
    - `start`/`end` (aware instants).
    """

    title: str
    kind: SessionKind
    host_school_id: str
    teacher: str
    participants: list[Participant]
    owner_org_id: str | None = None  # default: the caller's organisation
    platform: PlatformKind | None = None
    setup_minutes: int | None = None  # default: the policy's
    expected_participants: int = 30
    subject: str = ""
    recurrence: Recurrence | None = None
    on_date: date | None = None
    lesson_number: int | None = None
    start_time: time | None = None
    end_time: time | None = None
    start: datetime | None = None
    end: datetime | None = None
    broadcast_offset_minutes: int | None = None
    broadcast_minutes: int | None = None
    external_ref: str | None = None


class DateStatus(StrEnum):
    BOOKED = "booked"  # written
    FREE = "free"  # dry run: would be booked
    CONFLICT = "conflict"  # refused (or left out with skip_conflicts)
    SKIPPED = "skipped"  # holiday, closure, past…
    KEPT = "kept"  # an edit left an existing exception (moved/cancelled) as it was


@dataclass(frozen=True)
class DateReport:
    local_date: date
    status: DateStatus
    reason: str = ""
    lesson_number: int | None = None
    local_start: datetime | None = None
    local_end: datetime | None = None
    start: datetime | None = None  # UTC
    end: datetime | None = None
    conflicts: tuple[ConflictItem, ...] = ()


@dataclass
class Plan:
    booking: Booking  # the booking as it would be stored
    zone: ZoneInfo
    slots: dict[date, LessonSlot]
    planned: list[Occurrence]  # every candidate occurrence, conflicting or not
    skipped: list[SkippedDate] = field(default_factory=list)
    conflicts: list[ConflictItem] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)

    @property
    def conflicting_dates(self) -> set[date]:
        return {item.local_date for item in self.conflicts}

    @property
    def free(self) -> list[Occurrence]:
        bad = self.conflicting_dates
        return [o for o in self.planned if o.local_date not in bad]

    def report(self, *, written: bool, skip_conflicts: bool = False) -> list[DateReport]:
        by_date: dict[date, list[ConflictItem]] = defaultdict(list)
        for item in self.conflicts:
            by_date[item.local_date].append(item)
        rows = [
            DateReport(local_date=s.local_date, status=DateStatus.SKIPPED, reason=s.reason)
            for s in self.skipped
        ]
        for occurrence in self.planned:
            slot = self.slots[occurrence.local_date]
            clashes = by_date.get(occurrence.local_date, [])
            if clashes:
                status = DateStatus.CONFLICT
                reason = "; ".join(item.message for item in clashes)
                if skip_conflicts:
                    reason = f"left out: {reason}"
            else:
                status = DateStatus.BOOKED if written else DateStatus.FREE
                reason = ""
            rows.append(
                DateReport(
                    local_date=occurrence.local_date,
                    status=status,
                    reason=reason,
                    lesson_number=occurrence.lesson_number,
                    local_start=slot.local_start,
                    local_end=slot.local_end,
                    start=occurrence.start,
                    end=occurrence.end,
                    conflicts=tuple(clashes),
                )
            )
        rows.sort(key=lambda row: row.local_date)
        return rows


def occurrence_id(booking_id: str, day: date) -> str:
    return f"{booking_id}-{day.year:04d}{day.month:02d}{day.day:02d}"  # (strftime is slow)


def reservations_of(occurrences: Iterable[Occurrence]) -> list[Reservation]:
    return [
        Reservation(o.id, o.booking_id, terminal_id, o.setup_start, o.end)
        for o in occurrences
        for terminal_id in o.terminal_ids
    ]


def check_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must carry a time zone (naive datetime given)", field=name)
    return value


# --- validation of the request itself ---------------------------------------------------------
def check_request(request: BookingRequest, policy: Policy) -> int:
    """Shape checks that need no lookup; returns the set-up minutes to use."""
    if not request.title.strip():
        raise InvalidInput("a booking needs a title", field="title")
    if not request.participants:
        raise InvalidInput(
            "a booking needs at least one participating school", field="participants"
        )
    setup = policy.default_setup_minutes if request.setup_minutes is None else request.setup_minutes
    if not 0 <= setup <= 240:
        raise InvalidInput("the set-up buffer is 0…240 minutes", field="setup_minutes")
    if request.expected_participants < 1:
        raise InvalidInput(
            "expected participants must be at least 1", field="expected_participants"
        )
    terminals = [p.terminal_id for p in request.participants if p.terminal_id]
    if len(terminals) != len(set(terminals)):
        raise InvalidInput("a terminal is listed twice", field="participants")
    classes = [(p.school_id, p.class_name) for p in request.participants if p.class_name]
    if len(classes) != len(set(classes)):
        raise InvalidInput("a class is listed twice", field="participants")
    if terminals and not request.kind.needs_equipment:
        raise InvalidInput(
            f"a {request.kind} session uses no VKS equipment: give no terminals",
            field="participants",
        )
    partial = (request.broadcast_offset_minutes, request.broadcast_minutes)
    if request.kind == SessionKind.PARTIAL_BROADCAST:
        if partial[0] is None or partial[1] is None:
            raise InvalidInput(
                "a partial broadcast needs broadcast_offset_minutes and broadcast_minutes",
                field="broadcast_minutes",
            )
        if partial[0] < 0 or partial[1] <= 0:
            raise InvalidInput("the broadcast sub-slot must be positive", field="broadcast_minutes")
    elif partial != (None, None):
        raise InvalidInput(
            "only a partial broadcast has a broadcast sub-slot", field="broadcast_minutes"
        )
    ways = [
        request.recurrence is not None,
        request.on_date is not None,
        request.start is not None or request.end is not None,
    ]
    if sum(ways) != 1:
        raise InvalidInput(
            "say when exactly one way: a recurrence, a date with a lesson number or clock"
            " times, or start/end instants",
            field="recurrence",
        )
    if request.on_date is not None and (request.lesson_number is None) == (
        request.start_time is None or request.end_time is None
    ):
        raise InvalidInput(
            "with a date give either a lesson number or both start and end times",
            field="lesson_number",
        )
    return setup


def check_participants(
    lookups: Lookups, principal: Principal, request: BookingRequest
) -> tuple[Organisation, Organisation]:
    """Resolve and authorise every organisation and terminal the booking touches;
    returns (owner, host school)."""
    owner_id = request.owner_org_id or principal.org_id
    org_ids = {owner_id, request.host_school_id, *(p.school_id for p in request.participants)}
    orgs = lookups.orgs(org_ids)
    host = orgs[request.host_school_id]
    if host.kind != OrgKind.SCHOOL:
        raise InvalidInput(f"host {host.id} is a {host.kind}, not a school", field="host_school_id")
    for participant in request.participants:
        org = orgs[participant.school_id]
        if org.kind not in (OrgKind.SCHOOL, OrgKind.REGION):
            raise InvalidInput(
                f"participant {org.id} is a {org.kind}; participants are schools (or the RCC)",
                field="participants",
            )
    terminals = lookups.terminals(p.terminal_id for p in request.participants if p.terminal_id)
    for participant in request.participants:
        if participant.terminal_id is None:
            continue
        terminal = terminals[participant.terminal_id]
        if not terminal.active:
            raise ResourceInactive(
                f"terminal {terminal.id} ({terminal.name}) is retired", terminal_id=terminal.id
            )
        if terminal.site_id != participant.school_id:
            raise InvalidInput(
                f"terminal {terminal.id} stands at {terminal.site_id}, not at"
                f" {participant.school_id}",
                field="participants",
            )
    authorize(principal, Action.BOOK, orgs.values())
    return orgs[owner_id], host


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
            off = day_off(day, year, lookups.closures(schools, year.start, year.end))
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
        off = day_off(day, year, lookups.closures(schools, year.start, year.end))
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
        if slot.start - timedelta(minutes=setup_minutes) < now:
            raise ImmutablePast(
                f"{slot.local_start:%Y-%m-%d %H:%M} has already begun: nothing can be booked"
                " in the past",
                start=slot.start,
            )
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
        participants=[Participant(**vars(p)) for p in request.participants],
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
    return Draft(booking=booking, host=host, slots=slots, skipped=skipped, planned=planned)


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
) -> Plan:
    """Validate, authorise, resolve and check a request. Writes nothing.

    `previous` is the stored booking when editing (its own reservations are ignored and its
    id, creation time and version are kept); `exclude_dates` are dates an edit leaves as they
    are (existing moved or cancelled occurrences)."""
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
    plan = Plan(
        booking=booking,
        zone=host.zone,
        slots={s.local_date: s for s in draft.slots},
        planned=planned,
        skipped=draft.skipped,
    )
    if planned:
        plan.conflicts = check_rules(
            lookups, booking, planned, ignore_booking_id=booking_id, replacing=replacing
        )
    if plan.conflicts:
        plan.alternatives = propose_alternatives(
            lookups, plan, host, now=now, policy=policy, ignore_booking_id=booking_id
        )
    return plan


def check_rules(
    lookups: Lookups,
    booking: Booking,
    planned: Sequence[Occurrence],
    *,
    ignore_booking_id: str | None = None,
    ignore_occurrence_id: str | None = None,
    replacing: Usage | None = None,
) -> list[ConflictItem]:
    """Every rule over every candidate occurrence: one query per rule for the whole series.

    `replacing` is the (negative) server usage of the occurrences this change releases
    (an edit's or a move's old dates), so they do not count against the new ones."""
    uow = lookups.uow
    items: list[ConflictItem] = []
    busy_ranges = [o.busy_range for o in planned]
    terminal_ids = sorted({t for o in planned for t in o.terminal_ids})
    if terminal_ids:
        existing = [
            r
            for r in uow.occurrences.reservations_overlapping(terminal_ids, busy_ranges)
            if r.occurrence_id != ignore_occurrence_id
        ]
        items += terminal_conflicts(planned, existing, ignore_booking_id=ignore_booking_id)
    classes = [(p.school_id, p.class_name) for p in booking.participants if p.class_name]
    if classes:
        sessions = [
            s
            for s in uow.occurrences.class_sessions(classes, [(o.start, o.end) for o in planned])
            if s.occurrence_id != ignore_occurrence_id
        ]
        items += class_conflicts(planned, classes, sessions, ignore_booking_id=ignore_booking_id)
    if booking.kind.needs_equipment:
        items += _capacity_rules(
            lookups, booking, planned, ignore_booking_id, ignore_occurrence_id, replacing
        )
    items.sort(key=lambda item: (item.start, item.kind, item.terminal_id or ""))
    return items


def _capacity_rules(
    lookups: Lookups,
    booking: Booking,
    planned: Sequence[Occurrence],
    ignore_booking_id: str | None,
    ignore_occurrence_id: str | None,
    replacing: Usage | None,
) -> list[ConflictItem]:
    """The usage ledger says which occurrences may exceed the fleet's capacity (one query
    over their buckets); only those are confirmed with the exact sweep (one more query)."""
    servers = lookups.servers()
    if not servers:  # no conference server registered yet: nothing to count against
        return []
    uow = lookups.uow
    capacity = server_capacity(servers)
    wanted = sorted({b for o in planned for b in buckets(*o.busy_range)})
    stored = merged(uow.occurrences.server_usage(wanted), replacing or {})
    doubtful = suspects(booking, planned, capacity, stored)
    if not doubtful:
        return []
    load = [
        item
        for item in uow.occurrences.server_load([o.busy_range for o in doubtful])
        if item.occurrence_id != ignore_occurrence_id
    ]
    return capacity_conflicts(
        doubtful,
        platform=booking.platform,
        demand=demand_of(booking.expected_participants, len(booking.terminal_ids)),
        capacity=capacity,
        load=load,
        ignore_booking_id=ignore_booking_id,
    )


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
    days: dict[date, list[LessonSlot]] = {}
    for day in dates:
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

    def is_free(slot: LessonSlot) -> bool:
        if slot.start - setup < now:
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
    return alternatives
