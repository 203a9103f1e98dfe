"""The recurring-slot question as a pure function: which terminals are free for a weekly
lesson on every date of a period, and which on most dates (with the dates that clash).

Each terminal is asked about its own school's dates and times (its bells, its zone, its
holidays and closures: "the 3rd lesson on Tuesdays" is a different instant in Kemerovo and
in Insar); the busy rows of every terminal over every date come from one query."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter

from booking.bells import LessonSlot
from booking.bookings import Reservation
from booking.conflicts import BusyIndex
from booking.resources import Terminal

Held = dict[str, set[int]]  # terminal id → indexes of the ranges during which it is held


def held_ranges(
    reservations: Iterable[Reservation], ranges: Sequence[tuple[datetime, datetime]]
) -> Held:
    """Per terminal, the indexes of the ranges its reservations overlap (half-open)."""
    ordered = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
    starts = [ranges[i][0] for i in ordered]
    out: Held = {}
    for r in reservations:
        upto = bisect_left(starts, r.end)  # ranges starting before the reservation ends
        for k in range(upto):
            i = ordered[k]
            if ranges[i][1] > r.start:
                out.setdefault(r.terminal_id, set()).add(i)
    return out


@dataclass(slots=True)  # a region's answer is ~10,000 of them: slots build faster
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


def recurring_fit_held(
    terminals: Iterable[Terminal],
    slots_by_site: Mapping[str, Sequence[LessonSlot]],
    held: Mapping[str, set[int]],
    index: Mapping[tuple[datetime, datetime], int],
    *,
    setup_minutes: int,
    min_share: float = 0.5,
) -> RecurringAnswer:
    """As `recurring_fit`, from `held` (per terminal, the indexes of the ranges during
    which it is held), `index` giving each slot's range (set-up included) its index."""
    setup = timedelta(minutes=setup_minutes)
    shared: dict[int, list[tuple[date, int]]] = {}  # sites of one calendar share its slots
    keys = {}
    for site, slots in slots_by_site.items():
        found = shared.get(id(slots))
        if found is None:
            found = [(s.local_date, index[(s.start - setup, s.end)]) for s in slots]
            shared[id(slots)] = found
        keys[site] = found
    free: list[RecurringFit] = []
    mostly: list[RecurringFit] = []
    for terminal in terminals:
        mine = keys.get(terminal.site_id, ())
        if not mine:
            continue
        busy = held.get(terminal.id)
        if busy is None:  # most terminals: free on every date
            free.append(RecurringFit(terminal.id, terminal.site_id, len(mine)))
            continue
        fit = RecurringFit(terminal.id, terminal.site_id, len(mine))
        fit.clashes = [day for day, i in mine if i in busy]
        if fit.free_every_date:
            free.append(fit)
        elif fit.free_dates >= min_share * fit.dates and fit.free_dates > 0:
            mostly.append(fit)
    free.sort(key=attrgetter("terminal_id"))
    mostly.sort(key=lambda f: (len(f.clashes), f.terminal_id))
    return RecurringAnswer(free, mostly)


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
