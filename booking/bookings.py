"""Bookings (sessions) and their materialised occurrences.

A `Booking` is what a network administrator asks for: a kind of session, a teacher, the
participating schools with their terminals and camera presets, a platform preference,
and either one slot or a weekly recurrence. Its `Occurrence`s are materialised rows (one
per date), and each occurrence holds one `Reservation` per terminal covering
[start − set-up buffer, end): conflicts are then range queries, not loops, and
PostgreSQL's exclusion constraint can forbid double booking by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from booking.resources import PlatformKind


class SessionKind(StrEnum):
    FULL_BROADCAST = "full_broadcast"  # online for the whole lesson
    PARTIAL_BROADCAST = "partial_broadcast"  # online for a sub-slot of the lesson
    RECORDING = "recording"  # recordings / e-resources, no live link
    LMS = "lms"  # a lesson in the learning management system
    EVENT = "event"  # meetings, seminars, municipal events

    @property
    def needs_equipment(self) -> bool:
        return self in (
            SessionKind.FULL_BROADCAST,
            SessionKind.PARTIAL_BROADCAST,
            SessionKind.EVENT,
        )


class BookingStatus(StrEnum):
    HELD = "held"  # tentative: expires at `hold_expires_at` unless confirmed
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class OccurrenceState(StrEnum):
    """Lifecycle of one occurrence, driven by the automation (vks/automation)."""

    SCHEDULED = "scheduled"
    CHECKING = "checking"
    PREPARING = "preparing"
    LIVE = "live"
    DEGRADED = "degraded"  # live, but not every school is in
    ENDING = "ending"
    ENDED = "ended"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (OccurrenceState.ENDED, OccurrenceState.FAILED, OccurrenceState.CANCELLED)


@dataclass
class Participant:
    """A school taking part, the terminal it uses and where its camera should point."""

    school_id: str
    terminal_id: str | None = None
    camera_preset: str | None = None  # "teacher", "board", "class"
    class_name: str | None = None  # the school's class ("7А"): one class, one session at a time


@dataclass
class Recurrence:
    """Weekly repetition over a date range (a quarter, a year or explicit dates).

    The lesson is addressed either by `lesson_number` (resolved through the host school's
    bell schedule, per date: shortened days use the shortened bells) or by local clock
    times `start_time`/`end_time`. `week_parity` "A"/"B" keeps only every other week,
    counted from the ISO week in which the academic year starts (A = that week), so A and B
    series stay in step whatever their `starts_on`. Holidays, public holidays and closures
    of the host and participating schools are skipped (see `booking.recurrence`).
    """

    weekdays: list[int]  # 0 = Monday … 6 = Sunday
    starts_on: date
    ends_on: date
    lesson_number: int | None = None
    start_time: time | None = None
    end_time: time | None = None
    week_parity: str | None = None  # None, "A" or "B"


@dataclass
class Booking:
    id: str
    title: str
    kind: SessionKind
    organiser_id: str  # the user who booked
    owner_org_id: str  # the organisation the booking belongs to (network, school, RCC)
    host_school_id: str  # whose bell schedule and time zone define the slot (the teacher's school)
    teacher: str
    participants: list[Participant]
    platform: PlatformKind | None = None  # preference; None = any
    setup_minutes: int = 10
    expected_participants: int = 30  # people + terminals, used for server placement
    subject: str = ""
    # one-off slot (UTC) when there is no recurrence
    start: datetime | None = None
    end: datetime | None = None
    recurrence: Recurrence | None = None
    # partial broadcast: the online sub-slot, minutes from the lesson's start
    broadcast_offset_minutes: int | None = None
    broadcast_minutes: int | None = None
    status: BookingStatus = BookingStatus.CONFIRMED
    hold_expires_at: datetime | None = None
    external_ref: str | None = None  # the external scheduler's own id (bulk upsert key)
    created_at: datetime | None = None
    version: int = 1

    @property
    def terminal_ids(self) -> list[str]:
        return [p.terminal_id for p in self.participants if p.terminal_id]


@dataclass
class Occurrence:
    """One dated session of a booking, in UTC, with its exception state and lifecycle."""

    id: str
    booking_id: str
    start: datetime  # lesson start, UTC (aware)
    end: datetime
    setup_start: datetime  # start − set-up buffer: when the equipment is taken
    local_date: date  # the date in the host school's time zone
    lesson_number: int | None = None
    teacher: str | None = None  # substitute teacher for this date, if any
    cancelled: bool = False
    moved_from: datetime | None = None  # original start if this occurrence was moved
    state: OccurrenceState = OccurrenceState.SCHEDULED
    state_reason: str = ""
    at_risk: str = ""  # why the health monitor or pre-flight thinks it may fail ("" = fine)
    room_server_id: str | None = None
    room_id: str | None = None
    version: int = 1
    terminal_ids: list[str] = field(default_factory=list)

    @property
    def busy_range(self) -> tuple[datetime, datetime]:
        return self.setup_start, self.end

    @property
    def setup(self) -> timedelta:
        return self.start - self.setup_start


@dataclass
class Reservation:
    """One terminal taken by one occurrence over [start, end) — set-up buffer included."""

    occurrence_id: str
    booking_id: str
    terminal_id: str
    start: datetime
    end: datetime
