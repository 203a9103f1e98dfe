"""Bell schedules: lesson number → local start/end, and resolving a lesson to UTC instants.

"School X, 3rd lesson on 2026-09-08" becomes a `LessonSlot`: the local wall-clock times in
the school's zone and the same instants in UTC (aware datetimes, via zoneinfo). Shortened
days (a pre-holiday day) use the `shortened` bells where the schedule has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from booking.errors import InvalidInput

Bells = dict[int, tuple[time, time]]


@dataclass
class BellSchedule:
    id: str
    name: str = ""
    lessons: Bells = field(default_factory=dict)
    shortened: Bells = field(default_factory=dict)
    version: int = 1

    def bells(self, lesson_number: int, *, shortened: bool = False) -> tuple[time, time]:
        """Local (start, end) of a lesson; shortened bells on shortened days when defined."""
        table = self.shortened if shortened and self.shortened else self.lessons
        try:
            return table[lesson_number]
        except KeyError:
            raise InvalidInput(
                f"bell schedule {self.id} has no lesson {lesson_number}",
                field="lesson_number",
                lesson_number=lesson_number,
                known=sorted(table),
            ) from None

    def lesson_numbers(self, *, shortened: bool = False) -> list[int]:
        table = self.shortened if shortened and self.shortened else self.lessons
        return sorted(table)

    def validate(self) -> None:
        """Raise InvalidInput unless every lesson ends after it starts and lessons do not
        overlap in number order."""
        if not self.lessons:
            raise InvalidInput(f"bell schedule {self.id} has no lessons", field="lessons")
        for name, table in (("lessons", self.lessons), ("shortened", self.shortened)):
            previous_end: time | None = None
            for number in sorted(table):
                start, end = table[number]
                if number < 0:
                    raise InvalidInput(f"lesson number {number} is negative", field=name)
                if end <= start:
                    raise InvalidInput(f"lesson {number} ends before it starts", field=name)
                if previous_end is not None and start < previous_end:
                    raise InvalidInput(f"lesson {number} overlaps the one before", field=name)
                previous_end = end


@dataclass(frozen=True)
class LessonSlot:
    """One lesson on one date: local wall clock (aware, school zone) and UTC."""

    local_date: date
    lesson_number: int | None
    local_start: datetime
    local_end: datetime
    start: datetime  # UTC
    end: datetime  # UTC


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time; a time that does not exist (DST gap)
    is refused rather than silently shifted."""
    local = datetime.combine(day, at, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise InvalidInput(f"{day} {at} does not exist in {zone.key}", field="start_time")
    return instant


def clock_slot(
    day: date, start: time, end: time, zone: ZoneInfo, lesson_number: int | None = None
) -> LessonSlot:
    """A slot given by local clock times on a date (wall-clock times in `zone`: a time
    with a UTC offset of its own is refused, never silently re-read in the zone)."""
    for value, name in ((start, "start_time"), (end, "end_time")):
        if value.tzinfo is not None:
            raise InvalidInput(
                f"{value.isoformat()}: a local time is a wall-clock time in the school's own"
                f" time zone ({zone.key}): give it without a UTC offset",
                field=name,
            )
    if end <= start:
        raise InvalidInput("end time must be after start time", field="end_time")
    start_utc = local_to_utc(day, start, zone)
    end_utc = local_to_utc(day, end, zone)
    return LessonSlot(
        local_date=day,
        lesson_number=lesson_number,
        local_start=start_utc.astimezone(zone),
        local_end=end_utc.astimezone(zone),
        start=start_utc,
        end=end_utc,
    )


def lesson_slot(
    schedule: BellSchedule,
    zone: ZoneInfo,
    day: date,
    lesson_number: int,
    *,
    shortened: bool = False,
) -> LessonSlot:
    """Resolve "lesson N on `day`" through a school's bells to local and UTC times.
    Unknown lesson numbers raise InvalidInput."""
    start, end = schedule.bells(lesson_number, shortened=shortened)
    return clock_slot(day, start, end, zone, lesson_number)


def day_lessons(
    schedule: BellSchedule, zone: ZoneInfo, day: date, *, shortened: bool = False
) -> list[LessonSlot]:
    """Every lesson of the day, in order."""
    return [
        lesson_slot(schedule, zone, day, number, shortened=shortened)
        for number in schedule.lesson_numbers(shortened=shortened)
    ]


def lesson_number_at(
    schedule: BellSchedule, zone: ZoneInfo, instant: datetime, *, shortened: bool = False
) -> int | None:
    """A school's own number for the lesson going on at `instant` (its wall clock in
    `zone`, from the lesson's start up to its end), or None in a break or outside the day.
    A lesson booked by another school's bells is numbered by this one's: the Kemerovo 6th
    lesson (12:20 at UTC+7) is the Insar school's 1st (08:20 at UTC+3)."""
    at = instant.astimezone(zone).time().replace(tzinfo=None)
    table = schedule.shortened if shortened and schedule.shortened else schedule.lessons
    for number in sorted(table):
        start, end = table[number]
        if start <= at < end:
            return number
    return None


def school_day_span(schedule: BellSchedule, *, shortened: bool = False) -> tuple[time, time]:
    """The local start of a school's first lesson and the end of its last."""
    table = schedule.shortened if shortened and schedule.shortened else schedule.lessons
    numbers = sorted(table)
    return table[numbers[0]][0], table[numbers[-1]][1]


def within_school_day(
    schedule: BellSchedule,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    *,
    shortened: bool = False,
) -> bool:
    """True if [start, end) lies within the school's day by its own bells (its local clock
    in `zone`, on one date, from its first lesson's start to its last lesson's end)."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.date() != local_end.date() and local_end.time() != time(0):
        return False
    first, last = school_day_span(schedule, shortened=shortened)
    return first <= local_start.time() and local_end.time() <= last and local_start < local_end
