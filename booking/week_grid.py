"""The week grid as pure functions: for each row (a terminal, or a school's terminals
together), each day of one week and each lesson number of the row's school, a cell that is
free, busy (with the lessons that take it), past, or off (holiday, closure, a day off of
the study week) — in the school's own bells and wall clock.

The service (`booking.services.week_grid`) resolves the schools, their bells and calendars,
fetches the week's reservations with one query for every terminal of the grid, and asks
these functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from booking.bells import LessonSlot
from booking.conflicts import BusyIndex
from booking.joint import LocalLesson
from booking.schoolyear import DayOff, DayOffKind

DAYS_A_WEEK = 7


class CellState(StrEnum):
    FREE = "free"  # a terminal is free over the lesson and its set-up: it can be booked
    BUSY = "busy"  # every terminal of the row is taken (the lessons say by what)
    PAST = "past"  # free, but its set-up has begun: too late to book
    HOLIDAY = "holiday"  # school holidays or a public holiday
    CLOSURE = "closure"  # the school or its municipality is closed
    DAY_OFF = "day_off"  # a day off of the school's study week, or outside the school year


def off_state(off: DayOff) -> CellState:
    """How a day with no lessons shows in the grid."""
    if off.kind in (DayOffKind.HOLIDAY, DayOffKind.PUBLIC_HOLIDAY):
        return CellState.HOLIDAY
    if off.kind == DayOffKind.CLOSURE:
        return CellState.CLOSURE
    return CellState.DAY_OFF


def week_of(day: date) -> date:
    """The Monday of the week containing `day`."""
    return day - timedelta(days=day.weekday())


def week_days(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(DAYS_A_WEEK)]


@dataclass(frozen=True)
class GridLesson:
    """A booked lesson taking a cell, as the row's school and every other school see it."""

    booking_id: str
    occurrence_id: str
    title: str
    teacher: str
    host_school_id: str
    start: datetime  # UTC, the lesson (not its set-up)
    end: datetime
    state: str  # the occurrence's lifecycle state
    terminal_ids: tuple[str, ...]  # the row's terminals it takes
    schools: tuple[LocalLesson, ...]  # every participating school: its wall clock, its number
    school_names: tuple[str, ...] = ()  # the same schools' names, in the same order


class GridCell(NamedTuple):
    """One lesson of the row's school that day (`slot`: its number, its wall clock and its
    instants, shared by every row of the same bells and zone) and how the row stands then.
    An immutable tuple: a network's week makes thousands, and a tuple is made three times
    faster than a frozen dataclass."""

    slot: LessonSlot
    state: CellState
    free_terminal_ids: tuple[str, ...] = ()
    lessons: tuple[GridLesson, ...] = ()

    @property
    def lesson_number(self) -> int | None:
        return self.slot.lesson_number

    @property
    def local_start(self) -> datetime:
        """The row's school's wall clock (aware)."""
        return self.slot.local_start

    @property
    def local_end(self) -> datetime:
        return self.slot.local_end

    @property
    def start(self) -> datetime:
        """UTC."""
        return self.slot.start

    @property
    def end(self) -> datetime:
        return self.slot.end


@dataclass(frozen=True)
class GridDay:
    local_date: date
    state: CellState | None  # None: a study day; else why there are no lessons
    reason: str  # the day off's reason ("" on a study day)
    shortened: bool
    cells: tuple[GridCell, ...]


@dataclass(frozen=True)
class GridRow:
    school_id: str
    school_name: str
    time_zone: str
    terminal_ids: tuple[str, ...]  # one for a terminal's row, all of the school's for its row
    terminal_name: str  # "" for a school's row
    days: tuple[GridDay, ...]


@dataclass(frozen=True)
class WeekGrid:
    scope_kind: str  # "school", "network" or "terminals"
    scope_id: str  # the school's or network's id; the terminal ids joined by "," otherwise
    week: date  # its Monday
    days: tuple[date, ...]
    lesson_numbers: tuple[int, ...]  # every row's lesson numbers together, for the header
    setup_minutes: int
    rows: tuple[GridRow, ...]

    @property
    def previous_week(self) -> date:
        return self.week - timedelta(days=DAYS_A_WEEK)

    @property
    def next_week(self) -> date:
        return self.week + timedelta(days=DAYS_A_WEEK)


@dataclass(frozen=True)
class RowDay:
    """One day of a row as the calendar makes it: its lessons, or why there are none."""

    local_date: date
    off: DayOff | None
    shortened: bool
    lessons: Sequence[LessonSlot]


def grid_day(
    day: RowDay,
    terminal_ids: Sequence[str],
    busy: BusyIndex,
    lessons_of: Mapping[str, GridLesson],
    *,
    setup_minutes: int,
    now: datetime | None,
) -> GridDay:
    """The cells of one row's day. A cell is busy when no terminal of the row is free over
    [start − set-up, end), as for a booking; the lessons shown are those taking the row's
    terminals over that range. A cell whose set-up has begun by `now` is past."""
    if day.off is not None:
        return GridDay(day.local_date, off_state(day.off), day.off.reason, day.shortened, ())
    if not day.lessons:
        return GridDay(day.local_date, None, "", day.shortened, ())
    setup = timedelta(minutes=setup_minutes)
    begun = None if now is None else now + setup  # a lesson starting before it is past
    all_free = tuple(terminal_ids)

    def open_cell(lesson: LessonSlot) -> GridCell:
        """A cell no reservation takes: free, or past once its set-up has begun."""
        if begun is not None and lesson.start < begun:
            return GridCell(lesson, CellState.PAST)
        return GridCell(lesson, CellState.FREE, all_free)

    # the reservations of the row's terminals that day, once: most cells then ask nobody;
    # each with its end plus the set-up (it takes a lesson starting before that)
    that_day = [
        (t, reservation, reservation.end + setup)
        for t in terminal_ids
        for reservation in busy.clashes(t, day.lessons[0].start - setup, day.lessons[-1].end)
    ]
    if not that_day:  # the common case: nothing booked on the row that day
        return GridDay(
            day.local_date, None, "", day.shortened, tuple(map(open_cell, day.lessons))
        )
    first = min(r.start for _, r, _ in that_day)  # a lesson ending by then, or starting
    last = max(reach for _, _, reach in that_day)  # from then on, is taken by none of them
    cells = []
    for lesson in day.lessons:
        start, end = lesson.start, lesson.end
        hits = (
            [(t, r) for t, r, reach in that_day if r.start < end and reach > start]
            if end > first and start < last
            else None
        )
        if not hits:
            cells.append(open_cell(lesson))
            continue
        taken = {t for t, _ in hits}
        taking: dict[str, list[str]] = {}
        for terminal_id, reservation in hits:
            taking.setdefault(reservation.occurrence_id, []).append(terminal_id)
        free = tuple(t for t in terminal_ids if t not in taken)
        if not free:
            state = CellState.BUSY
        elif begun is not None and start < begun:
            state = CellState.PAST
        else:
            state = CellState.FREE
        shown = [
            _on_terminals(lessons_of[o], terminals)
            for o, terminals in taking.items()
            if o in lessons_of
        ]
        shown.sort(key=lambda g: (g.start, g.occurrence_id))
        free_shown = free if state == CellState.FREE else ()
        cells.append(GridCell(lesson, state, free_shown, tuple(shown)))
    return GridDay(day.local_date, None, "", day.shortened, tuple(cells))


def _on_terminals(lesson: GridLesson, terminal_ids: Iterable[str]) -> GridLesson:
    return GridLesson(
        lesson.booking_id,
        lesson.occurrence_id,
        lesson.title,
        lesson.teacher,
        lesson.host_school_id,
        lesson.start,
        lesson.end,
        lesson.state,
        tuple(terminal_ids),
        lesson.schools,
        lesson.school_names,
    )
