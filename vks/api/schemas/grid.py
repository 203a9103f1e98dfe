"""The timetable grid's answer: one week as lesson numbers by each school's bells in its
local time, a row per terminal (or per school) — the list shape of every list (`items`,
`total`, `offset`, `limit`, `links`) with the week around it."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from vks.api.schemas.common import Links
from vks.api.schemas.joint import LocalLessonOut


class GridLessonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    booking_id: str
    occurrence_id: str
    title: str
    teacher: str
    host_school_id: str
    start: dt.datetime = Field(description="UTC, the lesson (not its set-up)")
    end: dt.datetime
    state: str = Field(description="the occurrence's lifecycle state")
    terminal_ids: list[str] = Field(description="the row's terminals it takes")
    schools: list[LocalLessonOut] = Field(
        description="every school taking part, the host first: its local time, its own number"
    )


class GridCellOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    lesson_number: int | None
    local_start: dt.datetime = Field(description="the row's school's local time, its offset")
    local_end: dt.datetime
    start: dt.datetime = Field(description="UTC")
    end: dt.datetime
    state: str = Field(description="free, busy or past")
    free_terminal_ids: list[str] = Field(description="the row's terminals free for it")
    lessons: list[GridLessonOut] = Field(description="the lessons taking the row's terminals")


class GridDayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    local_date: dt.date
    state: str | None = Field(description="null on a study day; holiday, closure or day_off")
    reason: str
    shortened: bool
    cells: list[GridCellOut]


class GridRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    school_id: str
    school_name: str
    time_zone: str
    terminal_ids: list[str]
    terminal_name: str = Field(description='"" for a school\'s row')
    days: list[GridDayOut]


class WeekLinks(BaseModel):
    previous: str
    next: str


class WeekGridOut(BaseModel):
    scope: str = Field(description="school, network or terminals")
    scope_id: str
    week: dt.date = Field(description="its Monday")
    previous_week: dt.date
    next_week: dt.date
    days: list[dt.date]
    lesson_numbers: list[int] = Field(description="every row's lesson numbers, for a header")
    setup_minutes: int
    items: list[GridRowOut]
    total: int = Field(description="how many rows the whole grid has")
    offset: int
    limit: int
    links: Links
    week_links: WeekLinks
