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

from booking.week_grid import CellState, GridLesson, WeekGrid


@dataclass(frozen=True)
class Day:
    iso: str
    off: str  # "" on a study day, else the state (holiday, closure, day_off, outside_year)
    reason: str
    html: str  # the day's cells as table cells (one spanning cell on a day off), escaped


@dataclass(frozen=True)
class Row:
    school_id: str
    school_name: str
    terminal_name: str
    time_zone: str
    days: list[Day]
    html: str = ""  # every day's cells as table cells, escaped (printed with `|safe`)


NONE = '<td class="none"></td>'
PAST = '<td class="past">·</td>'


def rows_of(grid: WeekGrid, gettext: Callable[[str], str], *, can_book: bool) -> list[Row]:
    """The grid's rows for the template: a free cell links to the booking form (when the
    viewer may book), a busy one shows its lesson with the hover text."""
    times: dict[int, str] = {}  # the same lesson slots are shared by rows: formatted once
    busy: dict[str, str] = {}  # a lesson's cell, by occurrence: made once
    busy_label = escape(gettext("busy"))
    numbers = grid.lesson_numbers
    span = len(numbers)

    def hhmm(moment: datetime) -> str:
        found = times.get(id(moment))
        if found is None:
            found = times[id(moment)] = f"{moment.hour:02d}:{moment.minute:02d}"
        return found

    def busy_cell(lessons: tuple[GridLesson, ...]) -> str:
        if not lessons:
            return f'<td class="busy">{busy_label}</td>'
        first = lessons[0]
        found = busy.get(first.occurrence_id)
        if found is None:
            found = busy[first.occurrence_id] = (
                f'<td class="busy"><span class="lesson" tabindex="0"'
                f' title="{escape(hover_text(first, gettext))}">{escape(first.title)}</span></td>'
            )
        return found

    rows = []
    for row in grid.rows:
        terminals = {t: escape(t) for t in row.terminal_ids}
        days = []
        for day in row.days:
            iso = day.local_date.isoformat()
            if day.state is not None:
                days.append(
                    Day(
                        iso,
                        day.state.value,
                        day.reason,
                        f'<td colspan="{span}" class="off" title="{escape(day.reason)}">'
                        f"{escape(gettext(day.state.value))}</td>",
                    )
                )
                continue
            by_number = {c.lesson_number: c for c in day.cells}
            parts = []
            for n in numbers:
                cell = by_number.get(n)
                if cell is None:
                    parts.append(NONE)
                elif cell.state == CellState.FREE:
                    at = hhmm(cell.local_start)
                    terminal = terminals[cell.free_terminal_ids[0]]
                    parts.append(
                        f'<td class="free"><a href="/grid/book?t={terminal}'
                        f'&amp;d={iso}&amp;n={n}">{at}</a></td>'
                        if can_book
                        else f'<td class="free">{at}</td>'
                    )
                elif cell.state == CellState.BUSY:
                    parts.append(busy_cell(cell.lessons))
                else:
                    parts.append(PAST)
            days.append(Day(iso, "", "", "".join(parts)))
        rows.append(
            Row(
                row.school_id, row.school_name, row.terminal_name, row.time_zone, days,
                "".join(d.html for d in days),
            )
        )  # fmt: skip
    return rows


def hover_text(lesson: GridLesson, gettext: Callable[[str], str]) -> str:
    """«Title — teacher», then each school on its own line: its own lesson number and its
    local time, with its zone."""
    lines = [f"{lesson.title} — {lesson.teacher}"]
    for school, name in zip(lesson.schools, lesson.school_names, strict=False):
        number = (
            gettext("lesson %(n)s") % {"n": school.lesson_number}
            if school.lesson_number
            else gettext("between lessons")
        )
        zone = getattr(school.local_start.tzinfo, "key", "")
        start, end = school.local_start, school.local_end
        lines.append(
            f"{name}: {number}, {start.hour:02d}:{start.minute:02d}–"
            f"{end.hour:02d}:{end.minute:02d} ({zone})"
        )
    return "\n".join(lines)
