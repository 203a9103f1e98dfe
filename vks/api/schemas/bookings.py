"""Bookings, occurrences, per-date reports, conflicts and alternatives, timetables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from booking.bookings import (
    Booking,
    BookingStatus,
    OccurrenceState,
    Participant,
    ParticipantState,
    Recurrence,
    SessionKind,
)
from booking.conflicts import AlternativeKind, ConflictKind
from booking.errors import InvalidInput
from booking.resources import PlatformKind
from booking.services.bookings import ItemStatus
from booking.services.planning import BookingRequest, DateStatus
from vks.api.schemas.common import (
    Code,
    Day,
    FreeText,
    Id,
    Instant,
    LocalTime,
    Name,
    OptionalName,
    Reference,
    Title,
)

WEEKDAY_NAMES = {
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{name: i for i, name in enumerate(("пн", "вт", "ср", "чт", "пт", "сб", "вс"))},
}


def _weekday(value: Any) -> Any:
    if isinstance(value, str):
        key = value.strip().lower()[:3]
        key = key if key in WEEKDAY_NAMES else key[:2]
        if key in WEEKDAY_NAMES:
            return WEEKDAY_NAMES[key]
        if value.strip().isdigit():
            return int(value)
        raise ValueError(f"unknown weekday {value!r}: use 0–6 (Monday = 0) or mon…sun")
    return value


Weekday = Annotated[int, BeforeValidator(_weekday), Field(ge=0, le=6)]
LESSON_MAX = 20  # lesson numbers a bell schedule can have
PARTICIPANTS_MAX = 500  # schools (with their terminals) in one session
MINUTES_A_DAY = 24 * 60


# --- requests ---------------------------------------------------------------------------------
class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    school_id: Id
    terminal_id: Id | None = None
    camera_preset: Code | None = Field(default=None, examples=["teacher", "board", "class"])
    class_name: Code | None = Field(default=None, description="the school's class, e.g. «7А»")
    state: ParticipantState | None = Field(
        default=None,
        description="read-only, ignored (what GET answered may be sent back): a school's"
        " invitation is answered through /bookings/{id}/invitations/{school}/accept|decline",
    )

    def to_domain(self) -> Participant:
        return Participant(self.school_id, self.terminal_id, self.camera_preset, self.class_name)


class WeeklyIn(BaseModel):
    """Weekly repetition. Say when by `lesson_number` (the host school's bells) or local
    `start_time`/`end_time`; say over what by `quarter` (1–4), `whole_year`, or
    `starts_on`/`ends_on` (with a quarter or the year, `starts_on` names the academic
    year and trims its start). Holidays, public holidays and closures are skipped."""

    model_config = ConfigDict(extra="forbid")

    weekdays: list[Weekday] = Field(min_length=1, max_length=7, examples=[[1, 3], ["tue", "thu"]])
    lesson_number: int | None = Field(default=None, ge=0, le=LESSON_MAX)
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    quarter: int | None = Field(default=None, ge=1, le=4)
    whole_year: bool = False
    week_parity: Literal["A", "B"] | None = None


SpanResolver = Callable[[dt.date | None, int | None], tuple[dt.date, dt.date]]
"""(a date in the academic year or None for today, quarter or None for the whole year)
→ first and last dates: `booking.services.schooltime.academic_span` bound to a caller."""


class BookingIn(BaseModel):
    """A booking request: exactly one way of saying when — `weekly`, `date` +
    `lesson_number`, `date` + `start_time`/`end_time` (host school's local clock), or
    `start`/`end` (instants with a time zone)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Физика, 10 класс (сетевой курс)",
                    "kind": "full_broadcast",
                    "host_school_id": "kem-school-20",
                    "teacher": "Иванова Мария Петровна",
                    "subject": "Физика",
                    "participants": [
                        {"school_id": "kem-school-20", "terminal_id": "term-kem-20",
                         "camera_preset": "teacher", "class_name": "10А"},
                        {"school_id": "ins-school-1", "terminal_id": "term-ins-1",
                         "camera_preset": "class", "class_name": "10Б"},
                    ],
                    "weekly": {"weekdays": ["tue"], "lesson_number": 3, "quarter": 2,
                               "starts_on": "2026-11-05"},
                    "external_ref": "timetable-2026/phys-10-tue-3",
                }
            ]
        },
    )  # fmt: skip

    title: Title
    kind: SessionKind = SessionKind.FULL_BROADCAST
    host_school_id: Id
    teacher: Name
    participants: list[ParticipantIn] = Field(min_length=1, max_length=PARTICIPANTS_MAX)
    owner_org_id: Id | None = Field(default=None, description="default: the caller's org")
    platform: PlatformKind | None = None
    setup_minutes: int | None = Field(default=None, ge=0, le=240)
    expected_participants: int = Field(default=30, ge=1, le=100_000)
    subject: OptionalName = ""
    weekly: WeeklyIn | None = None
    date: Day | None = None
    lesson_number: int | None = Field(default=None, ge=0, le=LESSON_MAX)
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    start: Instant | None = None
    end: Instant | None = None
    broadcast_offset_minutes: int | None = Field(default=None, ge=0, le=MINUTES_A_DAY)
    broadcast_minutes: int | None = Field(default=None, ge=1, le=MINUTES_A_DAY)
    external_ref: Reference | None = None

    def needs_span(self) -> bool:
        w = self.weekly
        return w is not None and (w.quarter is not None or w.whole_year)

    def to_request(self, span: SpanResolver | None = None) -> BookingRequest:
        recurrence = None
        if self.weekly is not None:
            recurrence = _recurrence(self.weekly, span)
        return BookingRequest(
            title=self.title,
            kind=self.kind,
            host_school_id=self.host_school_id,
            teacher=self.teacher,
            participants=[p.to_domain() for p in self.participants],
            owner_org_id=self.owner_org_id,
            platform=self.platform,
            setup_minutes=self.setup_minutes,
            expected_participants=self.expected_participants,
            subject=self.subject,
            recurrence=recurrence,
            on_date=self.date,
            lesson_number=self.lesson_number,
            start_time=self.start_time,
            end_time=self.end_time,
            start=self.start,
            end=self.end,
            broadcast_offset_minutes=self.broadcast_offset_minutes,
            broadcast_minutes=self.broadcast_minutes,
            external_ref=self.external_ref,
        )


class BookingReplaceIn(BookingIn):
    """A booking's new definition, for `PUT`: what `GET` answered may be sent back edited.

    The read-only fields of the answer (`status`, `organiser_id`, `hold_expires_at`,
    `created_at`, `version`) are accepted and ignored: the booking's state changes by its
    actions (confirm, cancel, …), and the version checked is the `If-Match` header's.
    `id`, when given, must be the id in the URL."""

    id: Id | None = Field(default=None, description="read-only: the booking in the URL")
    status: BookingStatus | None = Field(default=None, description="read-only, ignored")
    organiser_id: str | None = Field(default=None, description="read-only, ignored")
    hold_expires_at: dt.datetime | None = Field(default=None, description="read-only, ignored")
    created_at: dt.datetime | None = Field(default=None, description="read-only, ignored")
    version: int | None = Field(default=None, description="read-only, ignored: send If-Match")

    def check_names(self, booking_id: str) -> None:
        if self.id is not None and self.id != booking_id:
            raise InvalidInput(
                f"the body names booking {self.id}, the URL booking {booking_id}: "
                "leave id out or send the URL's",
                field="id",
            )


def _recurrence(weekly: WeeklyIn, span: SpanResolver | None) -> Recurrence:
    if weekly.quarter is not None and weekly.whole_year:
        raise InvalidInput("give a quarter or the whole year, not both", field="weekly.quarter")
    if weekly.quarter is not None or weekly.whole_year:
        if span is None:
            raise InvalidInput("cannot resolve the academic year here", field="weekly.quarter")
        first, last = span(weekly.starts_on, weekly.quarter)
        starts_on = max(first, weekly.starts_on) if weekly.starts_on else first
        ends_on = min(last, weekly.ends_on) if weekly.ends_on else last
    else:
        if weekly.starts_on is None or weekly.ends_on is None:
            raise InvalidInput(
                "a weekly booking needs starts_on and ends_on, a quarter, or whole_year",
                field="weekly.starts_on",
            )
        starts_on, ends_on = weekly.starts_on, weekly.ends_on
    if ends_on < starts_on:
        raise InvalidInput("the series ends before it starts", field="weekly.ends_on")
    return Recurrence(
        weekdays=list(weekly.weekdays),  # as given: a repeated day is the domain's to refuse
        starts_on=starts_on,
        ends_on=ends_on,
        lesson_number=weekly.lesson_number,
        start_time=weekly.start_time,
        end_time=weekly.end_time,
        week_parity=weekly.week_parity,
    )


class MoveIn(BaseModel):
    """Where to move one occurrence: `lesson_number` (on its date or `date`), local
    `start_time`/`end_time` (on its date or `date`), or `start`/`end` instants."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"date": "2026-11-12", "lesson_number": 5}]},
    )

    date: Day | None = None
    lesson_number: int | None = Field(default=None, ge=0, le=LESSON_MAX)
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    start: Instant | None = None
    end: Instant | None = None


class CancelIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "карантин"}]}
    )
    reason: FreeText = ""


class SubstituteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"teacher": "Петров Иван Сергеевич"}]}
    )
    teacher: Name | None = Field(description="the substitute; null: back to the booking's teacher")


class TimetableIn(BaseModel):
    """A timetable to upsert by `external_ref` (within the owner organisation): each item
    is created, updated or left unchanged on its own; failures are reported per item."""

    model_config = ConfigDict(extra="forbid")

    items: list[BookingIn] = Field(min_length=1, max_length=5000)
    skip_conflicts: bool = False
    dry_run: bool = False


# --- answers ----------------------------------------------------------------------------------
class ParticipantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    school_id: str
    terminal_id: str | None
    camera_preset: str | None
    class_name: str | None
    state: ParticipantState = Field(
        description="confirmed; invited (a school outside the booker's scope, its terminal"
        " reserved until it answers); declined (its terminal freed)"
    )


class WeeklyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    weekdays: list[int]
    starts_on: dt.date
    ends_on: dt.date
    lesson_number: int | None
    start_time: LocalTime | None
    end_time: LocalTime | None
    week_parity: str | None


class BookingOut(BaseModel):
    id: str
    title: str
    kind: SessionKind
    status: BookingStatus
    organiser_id: str
    owner_org_id: str
    host_school_id: str
    teacher: str
    subject: str
    participants: list[ParticipantOut]
    platform: PlatformKind | None
    setup_minutes: int
    expected_participants: int
    start: dt.datetime | None
    end: dt.datetime | None
    weekly: WeeklyOut | None
    broadcast_offset_minutes: int | None
    broadcast_minutes: int | None
    hold_expires_at: dt.datetime | None
    external_ref: str | None
    created_at: dt.datetime | None
    version: int

    @classmethod
    def of(cls, booking: Booking) -> BookingOut:
        return cls(
            id=booking.id,
            title=booking.title,
            kind=booking.kind,
            status=booking.status,
            organiser_id=booking.organiser_id,
            owner_org_id=booking.owner_org_id,
            host_school_id=booking.host_school_id,
            teacher=booking.teacher,
            subject=booking.subject,
            participants=[ParticipantOut.model_validate(p) for p in booking.participants],
            platform=booking.platform,
            setup_minutes=booking.setup_minutes,
            expected_participants=booking.expected_participants,
            start=booking.start,
            end=booking.end,
            weekly=WeeklyOut.model_validate(booking.recurrence) if booking.recurrence else None,
            broadcast_offset_minutes=booking.broadcast_offset_minutes,
            broadcast_minutes=booking.broadcast_minutes,
            hold_expires_at=booking.hold_expires_at,
            external_ref=booking.external_ref,
            created_at=booking.created_at,
            version=booking.version,
        )


class OccurrenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    booking_id: str
    local_date: dt.date
    lesson_number: int | None
    start: dt.datetime = Field(description="lesson start, UTC")
    end: dt.datetime
    setup_start: dt.datetime = Field(description="when the equipment is taken (set-up buffer)")
    teacher: str | None = Field(description="substitute teacher for this date, if any")
    cancelled: bool
    moved_from: dt.datetime | None
    state: OccurrenceState
    state_reason: str
    at_risk: str
    at_risk_since: dt.datetime | None = Field(
        default=None, description="flagged at risk without a break since (null: not at risk)"
    )
    terminal_ids: list[str]
    version: int


class ConflictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: ConflictKind
    local_date: dt.date
    start: dt.datetime
    end: dt.datetime
    message: str
    terminal_id: str | None = None
    school_id: str | None = None
    class_name: str | None = None
    platform: PlatformKind | None = None
    other_booking_id: str | None = None
    other_occurrence_id: str | None = None
    other_start: dt.datetime | None = None
    other_end: dt.datetime | None = None


class AlternativeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: AlternativeKind
    terminal_id: str | None = None
    instead_of_terminal_id: str | None = None
    local_date: dt.date | None = None
    lesson_number: int | None = None
    local_start: dt.datetime | None = Field(default=None, description="the school's wall clock")
    local_end: dt.datetime | None = None
    start: dt.datetime | None = Field(default=None, description="UTC")
    end: dt.datetime | None = None


class DateReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    local_date: dt.date
    status: DateStatus
    reason: str = ""
    lesson_number: int | None = None
    local_start: dt.datetime | None = None
    local_end: dt.datetime | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    conflicts: list[ConflictOut] = Field(default_factory=list)


class BookingResultOut(BaseModel):
    """What a create or edit did (or would do, on a dry run): the booking, the occurrences
    written, one report row per date asked for, conflicts left out with skip_conflicts."""

    booking: BookingOut
    occurrences: list[OccurrenceOut]
    report: list[DateReportOut]
    conflicts: list[ConflictOut]
    alternatives: list[AlternativeOut]
    written: bool
    warnings: list[str] = Field(
        default_factory=list,
        description="booked (or bookable) anyway, e.g. a time outside a participant's day",
    )


class UpsertResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    index: int
    external_ref: str | None
    status: ItemStatus
    booking_id: str | None
    code: str
    message: str
    report: list[DateReportOut]
    conflicts: list[ConflictOut]
    alternatives: list[AlternativeOut]


class TimetableOut(BaseModel):
    results: list[UpsertResultOut]
    created: int
    updated: int
    unchanged: int
    failed: int
    written: bool
