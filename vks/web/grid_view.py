"""The week grid as the page shows it: each row's days as short cells (a lesson's local
time, the terminal a click would book, a busy lesson's title and its hover text naming
every school's own lesson number and local time), under the header's lesson numbers.

A network's week is thousands of cells: what the template prints per cell is made here
once, in plain Python — a row's days (study days' cells, a day off's one cell) as one
escaped HTML string — so the template loops over rows only (issue 16: the grid of a
network renders in ≤ 100 ms; with Jinja's per-value escaping it cost five times more).
No rule is decided here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from booking.bells import LessonSlot
from booking.week_grid import CellState, GridLesson, WeekGrid


@dataclass(frozen=True)
class Row:
    school_id: str
    school_name: str
    terminal_name: str
    time_zone: str
    html: str  # every day's cells as table cells, escaped (printed with `|safe`)


NONE = '<td class="none"></td>'
PAST = '<td class="past">·</td>'


def rows_of(
    grid: WeekGrid,
    gettext: Callable[[str], str],
    zone_name: Callable[[ZoneInfo, datetime], str],
    *,
    can_book: bool,
) -> list[Row]:
    """The grid's rows for the template: a free cell links to the booking form (when the
    viewer may book), a busy one shows its lesson with the hover text.

    Each cell is a join of strings made once: a lesson slot's end of a free cell (its
    number and local time; slots are shared by the rows of the same bells and zone), a
    row-day's start of a link (the terminal and the date), a lesson's busy cell."""
    position: dict[int | None, int] = {n: i for i, n in enumerate(grid.lesson_numbers)}
    span = len(position)
    free_ends: dict[int, str] = {}  # by id(slot): `n">hh:mm</a></td>`, or the whole cell
    busy: dict[str, str] = {}  # a lesson's cell, by occurrence: made once
    busy_label = escape(gettext("busy"))
    empty_busy = f'<td class="busy">{busy_label}</td>'

    def free_end(slot: LessonSlot) -> str:
        at = f"{slot.local_start.hour:02d}:{slot.local_start.minute:02d}"
        return f'{slot.lesson_number}">{at}</a></td>' if can_book else f"<td>{at}</td>"

    def busy_cell(lessons: tuple[GridLesson, ...]) -> str:
        if not lessons:
            return empty_busy
        first = lessons[0]
        found = busy.get(first.occurrence_id)
        if found is None:
            hover = escape(hover_text(first, gettext, zone_name))
            found = busy[first.occurrence_id] = (
                f'<td class="busy"><span class="lesson" tabindex="0"'
                f' title="{hover}">{escape(first.title)}</span></td>'
            )
        return found

    rows = []
    for row in grid.rows:
        days = []  # each day's cells as HTML
        for day in row.days:
            iso = day.local_date.isoformat()
            if day.state is not None:
                days.append(
                    f'<td colspan="{span}" class="off" title="{escape(day.reason)}">'
                    f"{escape(gettext(day.state.value))}</td>"
                )
                continue
            parts = [NONE] * span
            links: dict[str, str] = {}  # by terminal: the start of a free cell's link
            for cell in day.cells:
                slot = cell.slot
                i = position.get(slot.lesson_number)
                if i is None:
                    continue
                state = cell.state
                if state is CellState.FREE:
                    end = free_ends.get(id(slot))
                    if end is None:
                        end = free_ends[id(slot)] = free_end(slot)
                    if can_book:
                        terminal = cell.free_terminal_ids[0]
                        link = links.get(terminal)
                        if link is None:
                            link = links[terminal] = (
                                f'<td><a href="/grid/book?t={escape(terminal)}&amp;d={iso}&amp;n='
                            )
                        end = link + end
                    parts[i] = end
                elif state is CellState.BUSY:
                    parts[i] = busy_cell(cell.lessons)
                else:
                    parts[i] = PAST
            days.append("".join(parts))
        rows.append(
            Row(row.school_id, row.school_name, row.terminal_name, row.time_zone, "".join(days))
        )
    return rows


def hover_text(
    lesson: GridLesson,
    gettext: Callable[[str], str],
    zone_name: Callable[[ZoneInfo, datetime], str],
) -> str:
    """«Title — teacher», then each school on its own line: its own lesson number and its
    local time, with its zone as people name it («UTC+7, Новокузнецк»)."""
    lines = [f"{lesson.title} — {lesson.teacher}"]
    for school, name in zip(lesson.schools, lesson.school_names, strict=False):
        number = (
            gettext("lesson %(n)s") % {"n": school.lesson_number}
            if school.lesson_number
            else gettext("between lessons")
        )
        zone = school.local_start.tzinfo  # named by its offset on the lesson's date
        named = zone_name(zone, school.local_start) if isinstance(zone, ZoneInfo) else ""
        start, end = school.local_start, school.local_end
        lines.append(
            f"{name}: {number}, {start.hour:02d}:{start.minute:02d}–"
            f"{end.hour:02d}:{end.minute:02d} ({named})"
        )
    return "\n".join(lines)
