"""Loading a whole timetable at once (an import of a year of weekly lessons).

The planner hands over every booking, occurrence and reservation; they are written in bulk
(COPY on PostgreSQL, the driver's executemany on SQLite) inside the caller's unit of work,
and double booking — within the timetable or against what is stored — is refused:

- PostgreSQL: the exclusion constraint checks each (booking, terminal) row's busy
  multirange as it is copied — one row per weekly series and terminal, not per date; the
  first clash aborts the load (`BookingConflict` naming the terminal);
- SQLite has no such constraint: the new reservations are swept per terminal in time
  order, against each other and against the stored ones of the same terminals, and every
  clash is reported together (`BookingConflict` with `overlaps`).

Either way the caller's unit of work is left uncommitted; leaving it rolls everything back.
The timetable's bookings must be new (their rows are copied, not merged).

The conference-capacity ledger (`booking.capacity`) gets the timetable's usage, computed
as the service computes it but summed per distinct busy range first: a timetable has a
few thousand distinct lesson times, not a bucket walk per occurrence.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from adapters.storage.areas import areas_of
from adapters.storage.bookings import SqlBookings
from adapters.storage.bulk import write_tables
from adapters.storage.errors import domain_errors
from adapters.storage.occurrences import (
    OCCURRENCE_COLUMNS,
    RESERVATION_COLUMNS,
    SqlOccurrences,
    occurrence_values,
    reservation_rows,
)
from adapters.storage.tables import occurrences as occurrences_table
from adapters.storage.tables import reservations as reservations_table
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import Booking, Occurrence, Reservation
from booking.capacity import UsageKey, usage_of_all
from booking.conflicts import Capacity
from booking.errors import BookingConflict

MAX_REPORTED = 1000


@dataclass(frozen=True)
class Overlap:
    terminal_id: str
    occurrence_id: str
    other_occurrence_id: str
    start: str  # as stored (UTC)
    end: str


def load_timetable(
    uow: SqlUnitOfWork,
    bookings: Sequence[Booking],
    occurrences: Sequence[Occurrence],
    reservations: Sequence[Reservation],
) -> None:
    """Write everything or raise BookingConflict (then leave `uow` without committing)."""
    with cyclic_gc_paused():
        _load(uow, bookings, occurrences, reservations)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Millions of new row tuples would each trigger the cyclic garbage collector's scans
    of everything alive (twice the load's time); nothing here makes reference cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(
    uow: SqlUnitOfWork,
    bookings: Sequence[Booking],
    occurrences: Sequence[Occurrence],
    reservations: Sequence[Reservation],
) -> None:
    connection = uow.connection
    postgres = connection.dialect.name == "postgresql"
    stored = SqlOccurrences(connection)
    if not postgres and reservations:
        overlaps = overlapping(stored, reservations)
        if overlaps:
            first = overlaps[0]
            raise BookingConflict(
                f"{len(overlaps)}{'+' if len(overlaps) >= MAX_REPORTED else ''} reservations"
                f" overlap; first: terminal {first.terminal_id} at {first.start} UTC",
                terminal_id=first.terminal_id,
                overlaps=overlaps,
                conflicts=[],
                alternatives=[],
            )
    SqlBookings(connection).add_all(sorted(bookings, key=_id))
    if occurrences:
        stored.widen_span(max(o.end - o.setup_start for o in occurrences))
    held = {r.occurrence_id for r in reservations}
    ordered = sorted(occurrences, key=_id)
    areas = areas_of(connection, [o.terminal_ids for o in ordered])
    with domain_errors():
        write_tables(
            connection,
            [
                # in primary-key order: those indexes (and the booking index) grow at the
                # right edge instead of taking random pages — a year of timetable is far
                # bigger than the buffer cache
                (
                    occurrences_table,
                    (*OCCURRENCE_COLUMNS, "reserved", "area"),
                    [
                        (*occurrence_values(o), o.id in held, area)
                        for o, area in zip(ordered, areas, strict=True)
                    ],
                ),
                (
                    reservations_table,
                    RESERVATION_COLUMNS,
                    reservation_rows(occurrences, reservations, ranges=postgres),
                ),
            ],
        )
    stored.change_server_usage(timetable_usage(bookings, occurrences))


def _id(item: Booking | Occurrence) -> str:
    return item.id


def timetable_usage(
    bookings: Sequence[Booking], occurrences: Sequence[Occurrence]
) -> dict[UsageKey, Capacity]:
    """What the live occurrences ask of the servers, per (pool, 5-minute bucket) — the
    same figures as `booking.capacity.usage_of` for each booking, summed."""
    by_id = {booking.id: booking for booking in bookings}
    return usage_of_all((by_id[o.booking_id], o) for o in occurrences if o.booking_id in by_id)


def overlapping(stored: SqlOccurrences, reservations: Sequence[Reservation]) -> list[Overlap]:
    """Pairs of overlapping reservations of the same terminal, at least one of them new:
    the new ones swept in time order per terminal, with the stored live ones of those
    terminals over the timetable's time span (at most MAX_REPORTED pairs)."""
    start = min(r.start for r in reservations)
    end = max(r.end for r in reservations)
    terminal_ids = sorted({r.terminal_id for r in reservations})
    existing: list[Reservation] = []
    for chunk in range(0, len(terminal_ids), 500):
        existing += stored.overlapping_reservations(terminal_ids[chunk : chunk + 500], start, end)
    new = {id(r) for r in reservations}
    found: list[Overlap] = []
    ordered = sorted([*reservations, *existing], key=lambda r: (r.terminal_id, r.start, r.end))
    reach: Reservation | None = None  # of this terminal so far, the one ending last
    for r in ordered:
        clash = reach is not None and reach.terminal_id == r.terminal_id and reach.end > r.start
        if clash and reach is not None and (id(r) in new or id(reach) in new):
            found.append(
                Overlap(
                    r.terminal_id,
                    r.occurrence_id,
                    reach.occurrence_id,
                    r.start.isoformat(),
                    r.end.isoformat(),
                )
            )
            if len(found) >= MAX_REPORTED:
                break
        if reach is None or reach.terminal_id != r.terminal_id or r.end > reach.end:
            reach = r
    return found
