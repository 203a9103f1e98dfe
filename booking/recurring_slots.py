"""The recurring-slot question as a pure function: which terminals are free for a weekly
lesson on every date of a period, and which on most dates (with the dates that clash).

Each terminal is asked about its own school's dates and times (its bells, its zone, its
holidays and closures: "the 3rd lesson on Tuesdays" is a different instant in Kemerovo and
in Insar); the busy rows of every terminal over every date come from one query."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from booking.bells import LessonSlot
from booking.bookings import Reservation
from booking.conflicts import BusyIndex
from booking.resources import Terminal


@dataclass
class RecurringFit:
    terminal_id: str
    site_id: str
    dates: int  # how many study dates the period has at this terminal's school
    clashes: list[date] = field(default_factory=list)  # dates on which it is busy

    @property
    def free_dates(self) -> int:
        return self.dates - len(self.clashes)

    @property
    def free_every_date(self) -> bool:
        return not self.clashes and self.dates > 0


@dataclass
class RecurringAnswer:
    free: list[RecurringFit]  # free on every date
    mostly_free: list[RecurringFit]  # free on `min_share` of the dates or more, by clashes


def recurring_fit(
    terminals: Iterable[Terminal],
    slots_by_site: Mapping[str, Sequence[LessonSlot]],
    reservations: Iterable[Reservation],
    *,
    setup_minutes: int,
    min_share: float = 0.5,
) -> RecurringAnswer:
    """Sort `terminals` into free on every date and free on most (their site's slots, each
    taken from `setup_minutes` before its start, against the reservations)."""
    busy = BusyIndex(reservations)
    taken = busy.busy_terminals()
    setup = timedelta(minutes=setup_minutes)
    free: list[RecurringFit] = []
    mostly: list[RecurringFit] = []
    for terminal in terminals:
        slots = slots_by_site.get(terminal.site_id, ())
        fit = RecurringFit(terminal.id, terminal.site_id, len(slots))
        if not slots:
            continue
        if terminal.id in taken:
            fit.clashes = [
                s.local_date for s in slots if not busy.is_free(terminal.id, s.start - setup, s.end)
            ]
        if fit.free_every_date:
            free.append(fit)
        elif fit.free_dates >= min_share * fit.dates and fit.free_dates > 0:
            mostly.append(fit)
    free.sort(key=lambda f: f.terminal_id)
    mostly.sort(key=lambda f: (len(f.clashes), f.terminal_id))
    return RecurringAnswer(free, mostly)
