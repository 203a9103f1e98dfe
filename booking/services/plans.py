"""What a booking request says and what its plan reports: the request, the per-date
status and report, the `Plan` (occurrences, skipped dates, conflicts, alternatives) and
the small conversions the planning steps share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from booking.bells import LessonSlot
from booking.bookings import (
    Booking,
    Occurrence,
    Participant,
    Recurrence,
    Reservation,
    SessionKind,
)
from booking.conflicts import (
    Alternative,
    ConflictItem,
)
from booking.errors import InvalidInput
from booking.recurrence import SkippedDate
from booking.resources import PlatformKind
from booking.words import Words


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
    strict: bool = False  # refuse, rather than warn, a time outside a participant's day


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
    warnings: list[Words] = field(default_factory=list)  # e.g. outside a participant's day
    holds_due: bool | None = None  # a refusal's read found a hold due (None: not asked)

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
