"""Availability answers: free terminals for a slot, free lessons and free intervals."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from booking.resources import TerminalVendor


class FreeTerminalOut(BaseModel):
    """A free terminal: enough to choose it (its whole record: `GET /terminals/{id}`). A
    region's answer names ~10,000 of them: four fields keep it under a megabyte."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    site_id: str
    name: str
    vendor: TerminalVendor


class FreeTerminalsOut(BaseModel):
    start: dt.datetime
    end: dt.datetime
    setup_minutes: int
    org_id: str
    terminals: list[FreeTerminalOut]


class FreeLessonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    local_date: dt.date
    lesson_number: int | None
    local_start: dt.datetime = Field(description="the school's local time, with its offset")
    local_end: dt.datetime
    start: dt.datetime = Field(description="UTC")
    end: dt.datetime
    terminal_ids: list[str] = Field(description="terminals free for this lesson")


class FreeLessonsOut(BaseModel):
    site_id: str | None
    terminal_id: str | None
    time_zone: str
    lessons: list[FreeLessonOut]


class FreeIntervalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    terminal_id: str
    local_date: dt.date
    local_start: dt.datetime
    local_end: dt.datetime
    start: dt.datetime
    end: dt.datetime


class FreeIntervalsOut(BaseModel):
    terminal_id: str
    time_zone: str
    intervals: list[FreeIntervalOut]
