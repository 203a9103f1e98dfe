"""The joint search's answer: lessons free for several schools at once, each in every
school's local time and own lesson number."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class LocalLessonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    school_id: str
    local_date: dt.date
    local_start: dt.datetime = Field(description="the school's local time, with its offset")
    local_end: dt.datetime
    lesson_number: int | None = Field(
        description="by the school's own bells; null when the slot spans one of its breaks"
    )


class JointSlotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    host_lesson_number: int | None
    weekday: int = Field(description="the host's local weekday, 0 = Monday")
    dates: list[dt.date] = Field(description="the host's local dates the slot is free on")
    start: dt.datetime = Field(description="UTC, of the first date")
    end: dt.datetime
    schools: list[LocalLessonOut] = Field(description="each school, in the asked order")
    terminal_ids: dict[str, list[str]] = Field(description="free terminals by site (first date)")


class JointSlotsOut(BaseModel):
    site_ids: list[str]
    weekly: bool
    setup_minutes: int
    slots: list[JointSlotOut]
