"""School time: academic years, bell schedules, closures, a school's day and lessons."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from booking.bells import BellSchedule, LessonSlot
from booking.schoolyear import AcademicYear, Closure, DayOffKind, Holiday, Quarter
from vks.api.schemas.common import (
    LOCAL_TIME_SCHEMA,
    Day,
    FreeText,
    Id,
    LocalTime,
    Name,
    OptionalName,
)

DAYS_A_YEAR = 366


class QuarterIO(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")
    number: int = Field(ge=1, le=4)
    start: Day
    end: Day


class HolidayIO(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")
    name: Name
    start: Day
    end: Day


class AcademicYearIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "2026-2027",
                    "start": "2026-09-01",
                    "end": "2027-05-31",
                    "quarters": [{"number": 1, "start": "2026-09-01", "end": "2026-10-24"}],
                    "holidays": [
                        {"name": "Осенние каникулы", "start": "2026-10-25", "end": "2026-11-04"}
                    ],
                    "public_holidays": ["2026-11-04", "2027-01-01"],
                    "shortened_days": ["2026-12-30"],
                }
            ]
        },
    )

    id: Id
    start: Day
    end: Day
    quarters: list[QuarterIO] = Field(default_factory=list, max_length=4)
    holidays: list[HolidayIO] = Field(default_factory=list, max_length=DAYS_A_YEAR)
    public_holidays: list[Day] = Field(default_factory=list, max_length=DAYS_A_YEAR)
    shortened_days: list[Day] = Field(default_factory=list, max_length=DAYS_A_YEAR)

    def to_domain(self, version: int = 1) -> AcademicYear:
        return AcademicYear(
            id=self.id,
            start=self.start,
            end=self.end,
            quarters=[Quarter(q.number, q.start, q.end) for q in self.quarters],
            holidays=[Holiday(h.name, h.start, h.end) for h in self.holidays],
            public_holidays=sorted(set(self.public_holidays)),
            shortened_days=sorted(set(self.shortened_days)),
            version=version,
        )


class AcademicYearOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    start: dt.date
    end: dt.date
    quarters: list[QuarterIO]
    holidays: list[HolidayIO]
    public_holidays: list[dt.date]
    shortened_days: list[dt.date]
    version: int


class SpanOut(BaseModel):
    start: dt.date
    end: dt.date
    quarter: int | None


LESSONS_MAX = 20  # lessons in a school day's bell schedule

LessonTimes = Annotated[
    tuple[LocalTime, LocalTime],
    WithJsonSchema(
        {"type": "array", "items": LOCAL_TIME_SCHEMA, "minItems": 2, "maxItems": 2,
         "description": "[local start, local end]"}
    ),
]  # fmt: skip
LessonNumber = Annotated[int, Field(ge=0, le=LESSONS_MAX)]
Bells = Annotated[dict[LessonNumber, LessonTimes], Field(max_length=LESSONS_MAX + 1)]


class BellScheduleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "standard",
                    "name": "Основное расписание звонков",
                    "lessons": {"1": ["08:00", "08:40"], "2": ["08:50", "09:30"]},
                    "shortened": {"1": ["08:00", "08:30"], "2": ["08:40", "09:10"]},
                }
            ]
        },
    )

    id: Id
    name: OptionalName = ""
    lessons: Bells = Field(description="lesson number → [local start, local end]")
    shortened: Bells = Field(default_factory=dict, description="on shortened days")

    def to_domain(self, version: int = 1) -> BellSchedule:
        return BellSchedule(
            id=self.id,
            name=self.name,
            lessons=dict(self.lessons),
            shortened=dict(self.shortened),
            version=version,
        )


class BellScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    lessons: Bells
    shortened: Bells
    version: int


class ClosureIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "q-kem-12-2027-02",
                    "org_id": "kem-school-12",
                    "start": "2027-02-01",
                    "end": "2027-02-07",
                    "reason": "карантин по гриппу",
                }
            ]
        },
    )

    id: Id
    org_id: Id
    start: Day
    end: Day
    reason: FreeText = ""

    def to_domain(self) -> Closure:
        return Closure(self.id, self.org_id, self.start, self.end, self.reason)


class ClosureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    org_id: str
    start: dt.date
    end: dt.date
    reason: str
    version: int


class LessonOut(BaseModel):
    """One lesson on one date: the school's wall clock and the same instants in UTC."""

    model_config = ConfigDict(from_attributes=True)

    local_date: dt.date
    lesson_number: int | None
    local_start: dt.datetime = Field(description="the school's local time, with its offset")
    local_end: dt.datetime
    start: dt.datetime = Field(description="UTC")
    end: dt.datetime

    @classmethod
    def of(cls, slot: LessonSlot) -> LessonOut:
        return cls.model_validate(slot)


class DayOffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: DayOffKind
    reason: str


class SchoolDayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    school_id: str
    local_date: dt.date
    time_zone: str
    day_off: DayOffOut | None
    shortened: bool
    lessons: list[LessonOut]
