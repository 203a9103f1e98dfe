"""Bookings (sessions) and their materialised occurrences.

A `Booking` is what a network administrator asks for: a kind of session, a teacher, the
participating schools with their terminals and camera presets, a platform preference,
and either one slot or a weekly recurrence. Its `Occurrence`s are materialised rows (one
per date), and each occurrence holds one `Reservation` per terminal covering
[start − set-up buffer, end): conflicts are then range queries, not loops, and
PostgreSQL's exclusion constraint can forbid double booking by itself.

Their state changes are methods that enforce the lifecycle (`booking.lifecycle`), bump the
version once and record a domain event (`booking.events`) for the unit of work to publish
after commit. Building them stays plain dataclass construction: a timetable import builds
millions of occurrences, so nothing runs in `__post_init__`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from booking import events
from booking.errors import Conflict, ImmutablePast, InvalidInput
from booking.events import RecordsEvents
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


class ParticipantState(StrEnum):
    """A participating school's answer. A school outside the scope of whoever booked is
    `invited`: its terminal is reserved meanwhile (nobody else takes it), its people (in
    whose scope it lies: its coordinator, network administrator, municipal coordinator)
    accept — `confirmed` — or decline, which frees the terminal from the lessons to come."""

    CONFIRMED = "confirmed"
    INVITED = "invited"
    DECLINED = "declined"


@dataclass
class Participant:
    """A school taking part, the terminal it uses and where its camera should point."""

    school_id: str
    terminal_id: str | None = None
    camera_preset: str | None = None  # "teacher", "board", "class"
    class_name: str | None = None  # the school's class ("7А"): one class, one session at a time
    state: ParticipantState = ParticipantState.CONFIRMED


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


@dataclass(frozen=True)
class BookingBrief:
    """What a read-only view of many lessons (the week grid) needs of a booking: no
    recurrence, terminals or audit columns — cheap to read by the hundred."""

    id: str
    title: str
    teacher: str
    host_school_id: str
    taking_part: tuple[str, ...]  # the host, then the schools not declined, in order, once

    @classmethod
    def of(
        cls,
        id: str,
        title: str,
        teacher: str,
        host_school_id: str,
        participants: Iterable[tuple[str, ParticipantState]],
    ) -> BookingBrief:
        """From the booking's columns and its participants (school, state) in order."""
        schools = [host_school_id] + [
            school for school, state in participants if state != ParticipantState.DECLINED
        ]
        return cls(id, title, teacher, host_school_id, tuple(dict.fromkeys(schools)))


@dataclass
class Booking(RecordsEvents):
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
        """The terminals the lessons take: every participant's but a declined one's."""
        return [
            p.terminal_id
            for p in self.participants
            if p.terminal_id and p.state != ParticipantState.DECLINED
        ]

    @property
    def invited_school_ids(self) -> list[str]:
        return [p.school_id for p in self.participants if p.state == ParticipantState.INVITED]

    def invite(self, school_ids: Iterable[str]) -> None:
        """These participating schools lie outside the booker's scope: they are invited."""
        wanted = set(school_ids)
        for participant in self.participants:
            if participant.school_id in wanted:
                participant.state = ParticipantState.INVITED
        if wanted:
            self.record(events.ParticipantInvited(self.id, tuple(sorted(wanted))))

    def answer_invitation(self, school_id: str, *, accept: bool) -> list[str]:
        """The invited school accepts or declines; the terminals a decline frees."""
        invited = [p for p in self.participants if p.school_id == school_id]
        if not invited:
            raise InvalidInput(f"{school_id} does not take part in booking {self.id}")
        if self.status == BookingStatus.CANCELLED:
            raise Conflict(f"booking {self.id} is cancelled")
        if all(p.state != ParticipantState.INVITED for p in invited):
            raise Conflict(
                f"{school_id} has no open invitation to booking {self.id}"
                f" (it is {invited[0].state})",
                school_id=school_id,
                state=str(invited[0].state),
            )
        freed = []
        for participant in invited:
            if accept:
                participant.state = ParticipantState.CONFIRMED
            else:
                participant.state = ParticipantState.DECLINED
                if participant.terminal_id:
                    freed.append(participant.terminal_id)
        self.version += 1
        self.record(events.InvitationAnswered(self.id, school_id, accept))
        return freed

    # --- behaviour ----------------------------------------------------------------------------
    def book(
        self,
        *,
        hold_until: datetime | None = None,
        span: tuple[datetime, datetime] | None = None,
    ) -> None:
        """A new booking is written: confirmed, or tentatively held until `hold_until`;
        `span`: its occurrences' first start and last end, told with the event."""
        if hold_until is not None:
            self.status = BookingStatus.HELD
            self.hold_expires_at = hold_until
        self.record(events.BookingCreated(self.id, span))

    def replaces(self, previous: Booking) -> None:
        """This definition replaces `previous` (an edit): one version after it."""
        if previous.status == BookingStatus.CANCELLED:
            raise Conflict(f"booking {previous.id} is cancelled and cannot be edited")
        self.version = previous.version + 1
        self.record(events.BookingChanged(self.id))

    def confirm(self) -> bool:
        """A hold becomes a confirmed booking; False if it already was one."""
        if self.status == BookingStatus.CONFIRMED:
            return False
        if self.status != BookingStatus.HELD:
            raise Conflict(f"booking {self.id} is {self.status}, not held")
        self.status = BookingStatus.CONFIRMED
        self.hold_expires_at = None
        self.version += 1
        self.record(events.BookingChanged(self.id))
        return True

    def cancel(self) -> bool:
        """Cancelled by its owner; False if it already was. (Its occurrences are cancelled
        one by one with `Occurrence.cancel`: those that have begun stay as they are.)"""
        if self.status == BookingStatus.CANCELLED:
            return False
        self.status = BookingStatus.CANCELLED
        self.hold_expires_at = None
        self.version += 1
        self.record(events.BookingCancelled(self.id))
        return True

    def expire(self, now: datetime) -> None:
        """A hold not confirmed by `now` is released (`hold_expires_at` stays: it says why)."""
        if self.status != BookingStatus.HELD or self.hold_expires_at is None:
            raise Conflict(f"booking {self.id} is {self.status}, not held")
        if now < self.hold_expires_at:
            raise Conflict(f"the hold on booking {self.id} has not expired yet")
        self.status = BookingStatus.CANCELLED
        self.version += 1
        self.record(events.HoldExpired(self.id))


@dataclass
class Occurrence(RecordsEvents):
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
    at_risk_since: datetime | None = None  # flagged without a break since (None: not flagged)
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

    # --- behaviour ----------------------------------------------------------------------------
    def may_change(self, now: datetime) -> bool:
        """May the booking side still change it (see `booking.lifecycle.may_change`)?"""
        from booking.lifecycle import may_change

        return may_change(self.state, self.setup_start, now)

    def transition(self, new: OccurrenceState, reason: str = "") -> None:
        """Go to `new` if the lifecycle allows it (IllegalTransition otherwise)."""
        from booking.lifecycle import check_transition

        check_transition(self.state, new)
        self.state = new
        self.state_reason = reason
        self.version += 1

    def cancel(self, now: datetime, reason: str = "cancelled") -> bool:
        """Cancel this date and record it; False if it already was cancelled."""
        if self.cancelled:
            return False
        self.check_changeable(now)
        self.transition(OccurrenceState.CANCELLED, reason)
        self.cancelled = True
        self._changed()
        return True

    def move_to(self, slot: Occurrence, now: datetime) -> None:
        """Move this one date to the slot (times, local date, lesson) of `slot`; the
        original start is kept in `moved_from`."""
        self._check_open(now, "it cannot be moved")
        if self.moved_from is None:
            self.moved_from = self.start
        self._take_slot(slot)

    def replan(self, planned: Occurrence, now: datetime) -> None:
        """Take the slot and terminals of `planned`: its booking was edited."""
        self.check_changeable(now)
        self.terminal_ids = list(planned.terminal_ids)
        self._take_slot(planned)

    def substitute(self, teacher: str | None, now: datetime) -> None:
        """Another teacher gives this lesson (None: back to the booking's teacher)."""
        self._check_open(now, "nobody teaches it")
        if teacher is not None and not teacher.strip():
            raise InvalidInput("the substitute teacher needs a name", field="teacher")
        self.teacher = teacher.strip() if teacher else None
        self.version += 1
        self._changed()

    def _take_slot(self, slot: Occurrence) -> None:
        if self.state is OccurrenceState.CHECKING and slot.start != self.start:
            # its pre-flight checked the equipment for the old time: check again
            self.state = OccurrenceState.SCHEDULED
            self.state_reason = "moved after its pre-flight check: checked again before it"
        self.start, self.end, self.setup_start = slot.start, slot.end, slot.setup_start
        self.local_date, self.lesson_number = slot.local_date, slot.lesson_number
        self.version += 1
        self._changed()

    def check_changeable(self, now: datetime) -> None:
        """ImmutablePast unless the booking side may still change it."""
        if not self.may_change(now):
            raise ImmutablePast(
                f"occurrence {self.id} has begun or is over and cannot be changed",
                occurrence_id=self.id,
            )

    def _check_open(self, now: datetime, refusal: str) -> None:
        self.check_changeable(now)
        if self.cancelled:
            raise Conflict(f"occurrence {self.id} is cancelled; {refusal}")

    def _changed(self) -> None:
        self.record(events.OccurrencesChanged(self.booking_id, (self.id,)))


@dataclass(frozen=True)
class OccurrenceBrief:
    """What a read-only view of many lessons (the week grid) needs of an occurrence: its
    booking, instants, number, teacher and state — no terminals, room or audit columns,
    nothing to write back: cheap to read by the hundred."""

    id: str
    booking_id: str
    start: datetime  # lesson start, UTC (aware)
    end: datetime
    lesson_number: int | None
    teacher: str | None  # substitute teacher for this date, if any
    state: OccurrenceState


@dataclass
class Reservation:
    """One terminal taken by one occurrence over [start, end) — set-up buffer included."""

    occurrence_id: str
    booking_id: str
    terminal_id: str
    start: datetime
    end: datetime
