"""Shapes of the request workflow's API (offers, timetables, requests, combined requests,
review and approval, the search "from need", invitations) and of the recurring-slot search."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from booking.bookings import Recurrence, SessionKind
from booking.recurring_slots import RecurringAnswer, RecurringFit
from booking.resources import PlatformKind
from booking.services.workflow.approval import Verdict
from booking.services.workflow.offers import OfferInput
from booking.services.workflow.school_requests import ItemInput, RequestInput
from booking.workflow.needs import Need
from vks.api.schemas.bookings import AlternativeOut, ConflictOut
from vks.api.schemas.common import Code, Day, FreeText, Id, LocalTime, Name

Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")]
Lesson = Annotated[int, Field(ge=1, le=12)]
Grade = Annotated[int, Field(ge=1, le=11)]
Subject = Annotated[Name, Field(max_length=200)]


class WeeklyIn(BaseModel):
    """The weekly pattern, in the host school's lesson numbers or clock times."""

    weekdays: Annotated[list[Weekday], Field(min_length=1, max_length=6)]
    starts_on: Day
    ends_on: Day
    lesson_number: Lesson | None = None
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    week_parity: Annotated[str, Field(pattern="^[AB]$")] | None = None

    def recurrence(self) -> Recurrence:
        return Recurrence(
            weekdays=list(self.weekdays),
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            lesson_number=self.lesson_number,
            start_time=self.start_time,
            end_time=self.end_time,
            week_parity=self.week_parity,
        )


class OfferIn(BaseModel):
    teacher: Name
    subject: Subject
    grade: Grade
    kind: SessionKind = SessionKind.FULL_BROADCAST
    host_school_id: Id
    host_terminal_id: Id | None = None
    weekly: WeeklyIn
    places: Annotated[int, Field(ge=1, le=100)] = 1
    pupils: Annotated[int, Field(ge=1, le=500)] = 25
    camera_preset: Code | None = None
    platform: PlatformKind | None = None
    network_id: Id | None = None

    def data(self) -> OfferInput:
        return OfferInput(
            teacher=self.teacher,
            subject=self.subject,
            grade=self.grade,
            kind=self.kind,
            host_school_id=self.host_school_id,
            recurrence=self.weekly.recurrence(),
            host_terminal_id=self.host_terminal_id,
            places=self.places,
            camera_preset=self.camera_preset,
            platform=self.platform,
            pupils=self.pupils,
            network_id=self.network_id,
        )


class WeeklyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    weekdays: list[int]
    starts_on: dt.date
    ends_on: dt.date
    lesson_number: int | None = None
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    week_parity: str | None = None


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    network_id: str
    teacher: str
    subject: str
    grade: int
    kind: SessionKind
    host_school_id: str
    host_terminal_id: str | None
    weekly: WeeklyOut = Field(validation_alias="recurrence")
    places: int
    pupils: int
    camera_preset: str | None
    platform: PlatformKind | None
    version: int


class PublishIn(BaseModel):
    offer_ids: Annotated[list[Id], Field(min_length=1, max_length=2000)]
    starts_on: Day
    ends_on: Day


class TimetableChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    added: list[str]
    removed: list[str]
    changed: list[str]


class TimetableOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    network_id: str
    starts_on: dt.date
    ends_on: dt.date
    offers: dict[str, int] = Field(description="offer id → the offer's version as published")
    version: int
    published_at: dt.datetime
    published_by: str
    previous_id: str | None
    change: TimetableChangeOut


class ItemIn(BaseModel):
    offer_id: Id
    class_name: Code
    pupils: Annotated[int, Field(ge=1, le=500)]
    terminal_id: Id | None = Field(default=None, description="default: proposed by the system")


class NeedIn(BaseModel):
    subject: Subject
    grade: Grade
    hours_per_week: Annotated[int, Field(ge=1, le=10)] = 1
    lesson_numbers: Annotated[list[Lesson], Field(max_length=12)] = []
    weekdays: Annotated[list[Weekday], Field(max_length=7)] = []
    earliest: LocalTime | None = None
    latest: LocalTime | None = None

    def need(self) -> Need:
        return Need(
            self.subject,
            self.grade,
            self.hours_per_week,
            tuple(self.lesson_numbers),
            tuple(self.weekdays),
            self.earliest,
            self.latest,
        )


class RequestIn(BaseModel):
    school_id: Id
    items: Annotated[list[ItemIn], Field(max_length=200)] = []
    needs: Annotated[list[NeedIn], Field(max_length=20)] = []

    def data(self) -> RequestInput:
        return RequestInput(
            self.school_id,
            [ItemInput(i.offer_id, i.class_name, i.pupils, i.terminal_id) for i in self.items],
            [n.need() for n in self.needs],
        )


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    offer_id: str
    class_name: str
    pupils: int
    terminal_id: str | None
    busy_dates: list[str] = Field(description="dates its terminal was busy when proposed")
    decision: str | None
    reason: str
    skipped_dates: list[str]
    booking_id: str | None


class NeedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subject: str
    grade: int
    hours_per_week: int
    lesson_numbers: list[int]
    weekdays: list[int]
    earliest: LocalTime | None
    latest: LocalTime | None


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    school_id: str
    network_id: str
    timetable_id: str | None
    state: str
    items: list[ItemOut]
    needs: list[NeedOut]
    comment: str
    reason: str
    combined_id: str | None
    created_by: str
    version: int


class CommentIn(BaseModel):
    comment: Annotated[FreeText, Field(min_length=1)]


class ReasonIn(BaseModel):
    reason: Annotated[FreeText, Field(min_length=1)]


class CombineIn(BaseModel):
    network_id: Id
    request_ids: Annotated[list[Id], Field(min_length=1, max_length=500)]


class CrossConflictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    message: str
    item_ids: list[str]
    offer_ids: list[str]
    terminal_id: str | None


class CombinedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    network_id: str
    request_ids: list[str]
    state: str
    reason: str
    created_by: str
    decided_by: str | None
    version: int


class ItemReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    request_id: str
    item_id: str
    school_id: str
    offer_id: str
    terminal_id: str | None
    dates: int
    free_every_date: bool
    conflicting_dates: list[dt.date]
    conflicts: list[ConflictOut]
    alternatives: list[AlternativeOut]
    problem: str


class VerdictIn(BaseModel):
    item_id: Id
    approve: bool = True
    reason: FreeText = ""
    skip_dates: Annotated[list[Day], Field(max_length=60)] = Field(
        default=[], description="dates the RCC accepts leaving out of this item"
    )

    def verdict(self) -> Verdict:
        return Verdict(self.item_id, self.approve, self.reason, tuple(self.skip_dates))


class ApproveIn(BaseModel):
    verdicts: Annotated[list[VerdictIn], Field(max_length=2000)] = []
    reason: FreeText = ""


class ApprovalOut(BaseModel):
    combined: CombinedOut
    requests: list[RequestOut]
    bookings: dict[str, str] = Field(description="request item id → booking id")


class NeedSearchIn(BaseModel):
    school_id: Id
    need: NeedIn
    limit: Annotated[int, Field(ge=1, le=100)] = 10


class NeedMatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    offer_id: str
    network_id: str
    score: float
    host_lesson: int | None
    school_lesson: int
    weekday: int
    local_start: str
    host_start: str
    zone_hours: float
    conflicting_dates: int | None
    places_left: int
    reasons_ru: list[str]
    reasons_en: list[str]


class InvitationIn(BaseModel):
    offer_id: Id
    school_id: Id
    need: NeedIn
    class_name: Code
    pupils: Annotated[int, Field(ge=1, le=500)]


class AnswerIn(BaseModel):
    answer: FreeText = ""


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    offer_id: str
    network_id: str
    school_id: str
    need: NeedOut
    invited_by: str
    class_name: str
    pupils: int
    state: str
    answer: str
    version: int


class AnsweredOut(BaseModel):
    invitation: InvitationOut
    request: RequestOut | None


class RecurringFitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    terminal_id: str
    site_id: str
    dates: int
    free_dates: int
    clashes: list[dt.date]


class RecurringOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    free: list[RecurringFitOut] = Field(description="free on every date")
    mostly_free: list[RecurringFitOut] = Field(
        description="free on most dates (fewest clashes first), with the clashing dates"
    )


_JSON: TypeAdapter[Any] = TypeAdapter(Any)  # pydantic-core's JSON of plain values


def recurring_json(answer: RecurringAnswer) -> bytes:
    """`RecurringOut`'s JSON of an answer, written by pydantic-core from plain dicts: a
    region's answer is thousands of terminals, and validating each from the domain's
    objects first (`from_attributes`) took three times as long as writing them."""
    return _JSON.dump_json(
        {"free": _fit_rows(answer.free), "mostly_free": _fit_rows(answer.mostly_free)}
    )


def _fit_rows(fits: list[RecurringFit]) -> list[dict[str, object]]:
    return [
        {
            "terminal_id": f.terminal_id,
            "site_id": f.site_id,
            "dates": f.dates,
            "free_dates": f.free_dates,
            "clashes": f.clashes,
        }
        for f in fits
    ]
