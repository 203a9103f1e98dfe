"""The booking rules, as pure functions over what storage returned in a few batch queries.

- a terminal serves one occurrence at a time, set-up buffer included (`terminal_conflicts`);
- a school's class is in one session at a time (`class_conflicts`, lesson time only);
- conference servers of a platform kind never carry more rooms, participants or gateway
  ports than their summed capacity at any instant (`capacity_conflicts`, a sweep);
- a series must not overlap itself (`self_overlaps`).

The service fetches the rows with one query per rule for a whole series (every date and
terminal at once) and hands them here; nothing in this module does I/O.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from itertools import pairwise

from booking.bells import LessonSlot
from booking.bookings import Booking, Occurrence, Reservation, SessionKind
from booking.resources import ConferenceServer, PlatformKind
from booking.words import Words, listed

TimeRange = tuple[datetime, datetime]


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open ranges: [08:00, 08:40) and [08:40, 09:20) do not overlap."""
    return a_start < b_end and b_start < a_end


# --- rows the storage returns -----------------------------------------------------------------
@dataclass(frozen=True)
class ClassSession:
    """A live occurrence in which `class_name` of `school_id` takes part (lesson time)."""

    occurrence_id: str
    booking_id: str
    school_id: str
    class_name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ServerLoad:
    """What one live occurrence asks of the conference servers over [start, end)
    (set-up buffer included): one room, `participants` people, one gateway port per terminal."""

    occurrence_id: str
    booking_id: str
    kind: SessionKind
    platform: PlatformKind | None  # None: any platform
    start: datetime
    end: datetime
    participants: int
    terminals: int

    @classmethod
    def of(cls, booking: Booking, occurrence: Occurrence) -> ServerLoad:
        """What a live occurrence of `booking` asks of the servers."""
        return cls(
            occurrence_id=occurrence.id,
            booking_id=booking.id,
            kind=booking.kind,
            platform=booking.platform,
            start=occurrence.setup_start,
            end=occurrence.end,
            participants=booking.expected_participants,
            terminals=len(occurrence.terminal_ids),
        )


# --- what a check reports ---------------------------------------------------------------------
class ConflictKind(StrEnum):
    TERMINAL_BUSY = "terminal_busy"
    CLASS_BUSY = "class_busy"
    SERVER_CAPACITY = "server_capacity"


@dataclass(frozen=True)
class ConflictItem:
    """One reason one requested occurrence cannot be booked."""

    kind: ConflictKind
    local_date: date
    start: datetime  # the requested occurrence (lesson start, UTC)
    end: datetime
    message: str
    terminal_id: str | None = None
    school_id: str | None = None
    class_name: str | None = None
    platform: PlatformKind | None = None
    other_booking_id: str | None = None
    other_occurrence_id: str | None = None
    other_start: datetime | None = None
    other_end: datetime | None = None
    # the message, translatable (pages say it in Russian); not part of equality
    words: Words | None = field(default=None, compare=False)


class AlternativeKind(StrEnum):
    OTHER_TERMINAL = "other_terminal"  # same site, same slot, another free terminal
    OTHER_LESSON = "other_lesson"  # same terminal(s), the nearest free lesson that day
    EVERY_DATE_LESSON = "every_date_lesson"  # a series: a lesson number free on every date


@dataclass(frozen=True)
class Alternative:
    kind: AlternativeKind
    terminal_id: str | None = None
    instead_of_terminal_id: str | None = None
    local_date: date | None = None  # None for a terminal free on every conflicting date
    lesson_number: int | None = None
    local_start: datetime | None = None
    local_end: datetime | None = None
    start: datetime | None = None  # UTC
    end: datetime | None = None


# --- an index of busy ranges ------------------------------------------------------------------
class BusyIndex:
    """Reservations grouped per terminal and sorted, to ask "is T free over [s, e)?" fast."""

    def __init__(self, reservations: Iterable[Reservation], ignore_booking_id: str | None = None):
        grouped: dict[str, list[Reservation]] = defaultdict(list)
        for reservation in reservations:
            if ignore_booking_id is not None and reservation.booking_id == ignore_booking_id:
                continue
            grouped[reservation.terminal_id].append(reservation)
        self._by_terminal = {t: sorted(rs, key=lambda r: r.start) for t, rs in grouped.items()}
        self._starts = {t: [r.start for r in rs] for t, rs in self._by_terminal.items()}
        # a terminal's longest reservation: one starting earlier than that before `start`
        # cannot reach it, so a question reads only the reservations near its range
        self._longest = {t: max(r.end - r.start for r in rs) for t, rs in self._by_terminal.items()}

    def clashes(self, terminal_id: str, start: datetime, end: datetime) -> list[Reservation]:
        reservations = self._by_terminal.get(terminal_id)
        if not reservations:
            return []
        starts = self._starts[terminal_id]
        upto = bisect_left(starts, end)  # every reservation starting before `end` may clash
        since = bisect_left(starts, start - self._longest[terminal_id], hi=upto)
        return [r for r in reservations[since:upto] if r.end > start]

    def is_free(self, terminal_id: str, start: datetime, end: datetime) -> bool:
        return not self.clashes(terminal_id, start, end)

    def busy_terminals(self) -> set[str]:
        return set(self._by_terminal)


# --- the rules --------------------------------------------------------------------------------
def self_overlaps(planned: Sequence[Occurrence]) -> list[tuple[Occurrence, Occurrence]]:
    """Pairs of the series' own occurrences whose busy ranges (set-up included) overlap."""
    ordered = sorted(planned, key=lambda o: o.setup_start)
    pairs = []
    for before, after in pairwise(ordered):
        if after.setup_start < before.end:
            pairs.append((before, after))
    return pairs


def terminal_conflicts(
    planned: Sequence[Occurrence],
    existing: Iterable[Reservation],
    *,
    ignore_booking_id: str | None = None,
) -> list[ConflictItem]:
    """Every (requested occurrence, terminal, existing reservation) clash."""
    index = BusyIndex(existing, ignore_booking_id)
    items = []
    for occurrence in planned:
        for terminal_id in occurrence.terminal_ids:
            for other in index.clashes(terminal_id, occurrence.setup_start, occurrence.end):
                said = Words(
                    "terminal %(terminal)s is taken %(start)s–%(end)s UTC by booking %(booking)s",
                    {"terminal": terminal_id, "start": f"{other.start:%H:%M}",
                     "end": f"{other.end:%H:%M}", "booking": other.booking_id},
                )  # fmt: skip
                items.append(
                    ConflictItem(
                        kind=ConflictKind.TERMINAL_BUSY,
                        local_date=occurrence.local_date,
                        start=occurrence.start,
                        end=occurrence.end,
                        message=said.text(),
                        words=said,
                        terminal_id=terminal_id,
                        other_booking_id=other.booking_id,
                        other_occurrence_id=other.occurrence_id,
                        other_start=other.start,
                        other_end=other.end,
                    )
                )
    return items


def class_conflicts(
    planned: Sequence[Occurrence],
    classes: Iterable[tuple[str, str]],
    existing: Iterable[ClassSession],
    *,
    ignore_booking_id: str | None = None,
) -> list[ConflictItem]:
    """A participating school's class already sits in another session at the same time
    (lesson time, not the set-up buffer: the class is not busy while the codec warms up)."""
    wanted = set(classes)
    sessions: dict[tuple[str, str], list[ClassSession]] = defaultdict(list)
    for session in existing:
        if session.booking_id == ignore_booking_id:
            continue
        key = (session.school_id, session.class_name)
        if key in wanted:
            sessions[key].append(session)
    items = []
    for occurrence in planned:
        for (school_id, class_name), others in sessions.items():
            for other in others:
                if overlaps(occurrence.start, occurrence.end, other.start, other.end):
                    said = Words(
                        "class %(class_name)s of %(school)s is already in booking %(booking)s"
                        " at that time",
                        {"class_name": class_name, "school": school_id,
                         "booking": other.booking_id},
                    )  # fmt: skip
                    items.append(
                        ConflictItem(
                            kind=ConflictKind.CLASS_BUSY,
                            local_date=occurrence.local_date,
                            start=occurrence.start,
                            end=occurrence.end,
                            message=said.text(),
                            words=said,
                            school_id=school_id,
                            class_name=class_name,
                            other_booking_id=other.booking_id,
                            other_occurrence_id=other.occurrence_id,
                            other_start=other.start,
                            other_end=other.end,
                        )
                    )
    return items


@dataclass(frozen=True)
class Capacity:
    rooms: int = 0
    participants: int = 0
    ports: int = 0

    def __add__(self, other: Capacity) -> Capacity:
        return Capacity(
            self.rooms + other.rooms,
            self.participants + other.participants,
            self.ports + other.ports,
        )

    def __sub__(self, other: Capacity) -> Capacity:
        return Capacity(
            self.rooms - other.rooms,
            self.participants - other.participants,
            self.ports - other.ports,
        )

    def exceeds(self, limit: Capacity) -> list[Words]:
        """The dimensions in which self is above `limit`, worded for a message."""
        over = []
        for name, words in DIMENSIONS.items():
            if getattr(self, name) > getattr(limit, name):
                used = {"used": getattr(self, name), "limit": getattr(limit, name)}
                over.append(Words(words.template, used))
        return over


DIMENSIONS = {
    "rooms": Words("rooms %(used)s/%(limit)s"),
    "participants": Words("participants %(used)s/%(limit)s"),
    "ports": Words("ports %(used)s/%(limit)s"),
}
"""How a dimension of capacity exceeded is said ("rooms 5/4": used and the limit)."""


def server_capacity(servers: Iterable[ConferenceServer]) -> dict[PlatformKind, Capacity]:
    """What the active servers of each platform kind carry together."""
    total: dict[PlatformKind, Capacity] = {kind: Capacity() for kind in PlatformKind}
    for server in servers:
        if server.active:
            total[server.kind] = total[server.kind] + Capacity(
                server.max_rooms, server.max_participants, server.gateway_ports
            )
    return total


def demand_of(participants: int, terminals: int) -> Capacity:
    return Capacity(rooms=1, participants=participants, ports=terminals)


def capacity_conflicts(
    planned: Sequence[Occurrence],
    *,
    platform: PlatformKind | None,
    demand: Capacity,
    capacity: dict[PlatformKind, Capacity],
    load: Iterable[ServerLoad],
    ignore_booking_id: str | None = None,
) -> list[ConflictItem]:
    """Sweep over each requested occurrence's busy range: at no instant may the load on the
    servers of a kind (already booked + this occurrence) exceed their summed capacity.

    Bookings pinned to a platform count against that kind; bookings with no preference
    (`platform=None`) may land on either, so they count against the total of all kinds.
    The check is necessary at every instant (each kind's pinned load fits its kind, the
    whole load fits the whole fleet)."""
    loads = [
        item for item in load if item.kind.needs_equipment and item.booking_id != ignore_booking_id
    ]
    loads.sort(key=lambda item: item.start)
    starts = [item.start for item in loads]
    total_capacity = Capacity()
    for cap in capacity.values():
        total_capacity = total_capacity + cap
    items = []
    for occurrence in planned:
        window_start, window_end = occurrence.busy_range
        upto = bisect_left(starts, window_end)
        within = [item for item in loads[:upto] if item.end > window_start]
        # events inside the window: +demand at max(start, window_start), −demand at end
        events: list[tuple[datetime, int, ServerLoad]] = []
        for item in within:
            events.append((max(item.start, window_start), 1, item))
            if item.end < window_end:
                events.append((item.end, -1, item))
        events.sort(key=lambda event: (event[0], event[1]))  # ends (−1) before starts (+1)
        pinned: dict[PlatformKind, Capacity] = {kind: Capacity() for kind in PlatformKind}
        if platform is not None:
            pinned[platform] = demand
        overall = demand
        worst: Words | None = None
        position = 0
        instants = sorted({event[0] for event in events} | {window_start})
        for instant in instants:
            while position < len(events) and events[position][0] == instant:
                _, sign, item = events[position]
                used = demand_of(item.participants, item.terminals)
                if sign < 0:
                    used = Capacity() - used
                if item.platform is not None:
                    pinned[item.platform] = pinned[item.platform] + used
                overall = overall + used
                position += 1
            if platform is not None:
                over = pinned[platform].exceeds(capacity.get(platform, Capacity()))
                if over:
                    worst = Words(
                        "%(platform)s servers at %(at)s UTC: %(over)s",
                        {"platform": str(platform), "at": f"{instant:%Y-%m-%d %H:%M}",
                         "over": listed(over)},
                    )  # fmt: skip
            if worst is None:
                over = overall.exceeds(total_capacity)
                if over:
                    worst = Words(
                        "all servers at %(at)s UTC: %(over)s",
                        {"at": f"{instant:%Y-%m-%d %H:%M}", "over": listed(over)},
                    )
            if worst is not None:
                break
        if worst is not None:
            said = Words("conference capacity exceeded — %(worst)s", {"worst": worst})
            items.append(
                ConflictItem(
                    kind=ConflictKind.SERVER_CAPACITY,
                    local_date=occurrence.local_date,
                    start=occurrence.start,
                    end=occurrence.end,
                    message=said.text(),
                    words=said,
                    platform=platform,
                )
            )
    return items


# --- alternatives -----------------------------------------------------------------------------
def nearest_free_lessons(
    requested: LessonSlot,
    lessons: Sequence[LessonSlot],
    is_free: Callable[[LessonSlot], bool],
    *,
    limit: int = 3,
) -> list[LessonSlot]:
    """The other lessons of the day for which `is_free` holds, nearest to the requested one
    first (the earlier one wins a tie)."""

    def distance(slot: LessonSlot) -> tuple[float, int]:
        seconds = abs((slot.start - requested.start).total_seconds())
        return seconds, 0 if slot.start < requested.start else 1

    free = [slot for slot in lessons if slot.start != requested.start and is_free(slot)]
    free.sort(key=distance)
    return free[:limit]
