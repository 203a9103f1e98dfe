"""Availability as pure functions: which terminals are free for a slot, which lessons of a
school's day are free, and the free clock intervals of a terminal within a day window.

The service (`booking.services.availability`) fetches the busy rows with one query for the
whole set of terminals and the whole range, then asks these functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.bells import LessonSlot, local_to_utc
from booking.bookings import Reservation
from booking.conflicts import BusyIndex
from booking.errors import ImmutablePast
from booking.resources import Terminal


# --- the set-up rule: one for booking and for availability ------------------------------------
def setup_start(start: datetime, setup_minutes: int) -> datetime:
    """When a lesson starting at `start` takes its terminals: `setup_minutes` before it.
    Booking and availability both reserve [setup_start, end), and a lesson can be booked
    only while its set-up has not begun."""
    return start - timedelta(minutes=setup_minutes)


def bookable(start: datetime, setup_minutes: int, now: datetime) -> bool:
    """True while a lesson's set-up (and so the lesson) has not begun at `now`."""
    return setup_start(start, setup_minutes) >= now


def check_bookable(slot: LessonSlot, setup_minutes: int, now: datetime) -> None:
    """Refuse a slot whose lesson has begun, or whose set-up has, saying which and how to
    book it anyway (a shorter set-up or a later lesson)."""
    if bookable(slot.start, setup_minutes, now):
        return
    when = f"{slot.local_start:%Y-%m-%d %H:%M}"
    if slot.start <= now:
        raise ImmutablePast(
            f"{when} has already begun: nothing can be booked in the past", start=slot.start
        )
    taken_from = setup_start(slot.start, setup_minutes)
    ago = -(-int((now - taken_from).total_seconds()) // 60)  # whole minutes, rounded up
    most = int((slot.start - now).total_seconds()) // 60
    raise ImmutablePast(
        f"the lesson at {when} has not begun, but its {setup_minutes}-minute set-up would"
        f" start at {taken_from.astimezone(slot.local_start.tzinfo):%H:%M}, {ago} minutes ago:"
        f" book with setup_minutes ≤ {most} or a later lesson",
        start=slot.start,
        setup_start=taken_from,
        max_setup_minutes=most,
    )


@dataclass(frozen=True)
class FreeLesson:
    """A lesson of a school's day with the terminals free for it (set-up buffer included)."""

    local_date: date
    lesson_number: int | None
    local_start: datetime  # the school's wall clock (aware, its zone)
    local_end: datetime
    start: datetime  # UTC
    end: datetime
    terminal_ids: tuple[str, ...]


@dataclass(frozen=True)
class FreeInterval:
    """A stretch of time in which a terminal is free (busy ranges include set-up buffers)."""

    terminal_id: str
    local_date: date
    local_start: datetime
    local_end: datetime
    start: datetime  # UTC
    end: datetime


def free_terminals(
    terminals: Iterable[Terminal], busy_ids: set[str], *, active_only: bool = True
) -> list[Terminal]:
    return [t for t in terminals if t.id not in busy_ids and (t.active or not active_only)]


def free_lessons(
    lessons: Iterable[LessonSlot],
    terminal_ids: Sequence[str],
    reservations: Iterable[Reservation],
    *,
    setup_minutes: int,
    not_before: datetime | None = None,
) -> list[FreeLesson]:
    """Each lesson with at least one terminal free over [start − set-up, end)."""
    index = BusyIndex(reservations)
    found = []
    for lesson in lessons:
        taken_from = setup_start(lesson.start, setup_minutes)
        if not_before is not None and not bookable(lesson.start, setup_minutes, not_before):
            continue
        free = tuple(t for t in terminal_ids if index.is_free(t, taken_from, lesson.end))
        if free:
            found.append(
                FreeLesson(
                    lesson.local_date,
                    lesson.lesson_number,
                    lesson.local_start,
                    lesson.local_end,
                    lesson.start,
                    lesson.end,
                    free,
                )
            )
    return found


def free_intervals(
    terminal_id: str,
    days: Iterable[date],
    zone: ZoneInfo,
    reservations: Iterable[Reservation],
    *,
    day_start: time,
    day_end: time,
    min_minutes: int = 0,
    not_before: datetime | None = None,
) -> list[FreeInterval]:
    """Within [day_start, day_end) local time of each day, the stretches no reservation of
    the terminal covers, at least `min_minutes` long."""
    busy = sorted((r.start, r.end) for r in reservations if r.terminal_id == terminal_id)
    shortest = timedelta(minutes=min_minutes)
    found = []
    for day in days:
        cursor = local_to_utc(day, day_start, zone)
        window_end = local_to_utc(day, day_end, zone)
        if not_before is not None:
            cursor = max(cursor, not_before)
        for busy_start, busy_end in busy:
            if busy_end <= cursor:
                continue
            if busy_start >= window_end:
                break
            if busy_start > cursor and busy_start - cursor >= max(shortest, timedelta(seconds=1)):
                found.append(_interval(terminal_id, day, zone, cursor, busy_start))
            cursor = max(cursor, busy_end)
        if window_end > cursor and window_end - cursor >= max(shortest, timedelta(seconds=1)):
            found.append(_interval(terminal_id, day, zone, cursor, window_end))
    return found


def _interval(
    terminal_id: str, day: date, zone: ZoneInfo, start: datetime, end: datetime
) -> FreeInterval:
    return FreeInterval(terminal_id, day, start.astimezone(zone), end.astimezone(zone), start, end)
