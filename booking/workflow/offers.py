"""Offers: a distance teacher's online lessons, given to the network administrator.

An offer says what (subject, grade, kind of session), when (a weekly pattern in the host
school's lesson numbers or clock times, over a quarter, several or the year — a
`Recurrence`), where from (the host school, its terminal and camera preset), on which
platform, and how many schools may join (`places`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.bells import BellSchedule
from booking.bookings import Recurrence, SessionKind
from booking.errors import InvalidInput
from booking.resources import PlatformKind


@dataclass
class Offer:
    id: str
    network_id: str  # the network whose administrator publishes it
    teacher: str
    subject: str
    grade: int
    kind: SessionKind
    host_school_id: str
    host_terminal_id: str | None
    recurrence: Recurrence
    places: int = 1  # how many schools may join
    camera_preset: str | None = None
    platform: PlatformKind | None = None
    pupils: int = 25  # how many pupils each joining school may bring
    version: int = 1

    @property
    def starts_on(self) -> date:
        return self.recurrence.starts_on

    @property
    def ends_on(self) -> date:
        return self.recurrence.ends_on

    def check(self) -> None:
        """Refuse an offer nobody could join or book (before anything is stored)."""
        if not self.subject.strip():
            raise InvalidInput("an offer needs a subject", field="subject")
        if not 1 <= self.grade <= 11:
            raise InvalidInput("grade is 1 … 11", field="grade")
        if self.places < 1:
            raise InvalidInput("an offer needs at least one place", field="places")
        rec = self.recurrence
        if (rec.lesson_number is None) == (rec.start_time is None or rec.end_time is None):
            raise InvalidInput(
                "give the weekly lesson either by lesson number or by start and end time",
                field="lesson_number",
            )
        if not rec.weekdays or any(not 0 <= w <= 6 for w in rec.weekdays):
            raise InvalidInput("weekdays are 0 (Monday) … 6 (Sunday)", field="weekdays")
        if rec.ends_on < rec.starts_on:
            raise InvalidInput("the offer ends before it starts", field="ends_on")
        if self.kind.needs_equipment and self.host_terminal_id is None:
            raise InvalidInput(
                f"a {self.kind} needs the host school's terminal", field="host_terminal_id"
            )

    def label(self) -> str:
        """How people name it: «Физика, 9 класс (Иванова М. П.)»."""
        return f"{self.subject}, {self.grade} класс ({self.teacher})"


@dataclass(frozen=True)
class WeeklyWindow:
    """One weekly lesson of an offer in UTC: minutes since Monday 00:00 UTC, [start, end).
    Offers hosted by schools of other bells and zones compare on this common clock."""

    start: int
    end: int

    def overlaps(self, other: WeeklyWindow) -> bool:
        return self.start < other.end and other.start < self.end


WEEK = 7 * 24 * 60


def weekly_windows(offer: Offer, bells: BellSchedule | None, zone: ZoneInfo) -> list[WeeklyWindow]:
    """The offer's weekly lessons on the common UTC clock (the host's ordinary bells and the
    zone's offset on the offer's first day)."""
    rec = offer.recurrence
    if rec.lesson_number is not None:
        if bells is None:
            raise InvalidInput("the host school has no bell schedule", field="lesson_number")
        start, end = bells.bells(rec.lesson_number)
    else:
        assert rec.start_time is not None and rec.end_time is not None
        start, end = rec.start_time, rec.end_time
    out = []
    for weekday in rec.weekdays:
        day = rec.starts_on + timedelta(days=(weekday - rec.starts_on.weekday()) % 7)
        begin = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
        finish = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
        minute = (begin.weekday() * 24 + begin.hour) * 60 + begin.minute
        length = int((finish - begin).total_seconds()) // 60
        out.append(WeeklyWindow(minute % WEEK, minute % WEEK + length))
    return out
