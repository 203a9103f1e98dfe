"""Loading a whole timetable at once (an import of a year of weekly lessons).

The planner hands over every booking, occurrence and reservation; they are written in bulk
(COPY on PostgreSQL, the driver's executemany on SQLite) inside the caller's unit of work,
and double booking — within the timetable or against what is stored — is refused:

- PostgreSQL: the exclusion constraint checks every row as it is copied; the first clash
  aborts the load (`BookingConflict` naming the terminal);
- SQLite has no such constraint: one indexed self-join over the new reservations finds
  every clash, reported together (`BookingConflict` with `overlaps`).

Either way the caller's unit of work is left uncommitted; leaving it rolls everything back.

The conference-capacity ledger (`booking.capacity`) gets the timetable's usage, computed
as the service computes it but summed per distinct busy range first: a timetable has a
few thousand distinct lesson times, not a bucket walk per occurrence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from adapters.storage.bookings import SqlBookings
from adapters.storage.errors import domain_errors
from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import Booking, Occurrence, Reservation
from booking.capacity import UsageKey, buckets, pool_of
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
    connection = uow.connection
    sqlite = connection.dialect.name == "sqlite"
    mark = 0
    if sqlite:
        with domain_errors():
            mark = connection.exec_driver_sql(
                "SELECT coalesce(max(rowid), 0) FROM reservations"
            ).scalar_one()
    stored = SqlOccurrences(connection)
    SqlBookings(connection).add_all(sorted(bookings, key=_id))
    # in primary-key order: those indexes (and the occurrences' booking index) grow at the
    # right edge instead of taking random pages — a year of timetable is far bigger than
    # the buffer cache. (Reservations sorted by terminal made the GiST of the exclusion
    # constraint slower still: its pages split badly under ordered inserts.)
    stored.add_all(
        sorted(occurrences, key=_id), sorted(reservations, key=_occurrence_and_terminal)
    )
    stored.change_server_usage(timetable_usage(bookings, occurrences))
    if sqlite and reservations:
        overlaps = sqlite_overlaps_since(uow, mark)
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


def _id(item: Booking | Occurrence) -> str:
    return item.id


def _occurrence_and_terminal(item: Reservation) -> tuple[str, str]:
    return item.occurrence_id, item.terminal_id


def timetable_usage(
    bookings: Sequence[Booking], occurrences: Sequence[Occurrence]
) -> dict[UsageKey, Capacity]:
    """What the live occurrences ask of the servers, per (pool, 5-minute bucket) — the
    same figures as `booking.capacity.usage_of` for each booking, summed."""
    by_id = {booking.id: booking for booking in bookings}
    per_range: dict[tuple[str, datetime, datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
    for occurrence in occurrences:
        booking = by_id.get(occurrence.booking_id)
        if booking is None or occurrence.cancelled or not booking.kind.needs_equipment:
            continue
        sums = per_range[(pool_of(booking.platform), occurrence.setup_start, occurrence.end)]
        sums[0] += 1
        sums[1] += booking.expected_participants
        sums[2] += len(occurrence.terminal_ids)
    usage: dict[UsageKey, Capacity] = defaultdict(Capacity)
    for (pool, start, end), (rooms, participants, ports) in per_range.items():
        for bucket in buckets(start, end):
            usage[(pool, bucket)] = usage[(pool, bucket)] + Capacity(rooms, participants, ports)
    return dict(usage)


def sqlite_overlaps_since(uow: SqlUnitOfWork, mark: int) -> list[Overlap]:
    """Overlapping pairs in which at least one reservation was written after rowid `mark`."""
    span = SqlOccurrences(uow.connection).longest_reservation()
    seconds = 0 if span is None else int(span.total_seconds()) + 1
    query = text(
        """
        SELECT a.terminal_id, a.occurrence_id, b.occurrence_id, a.start, a."end"
        FROM reservations AS a
        JOIN reservations AS b
          ON b.terminal_id = a.terminal_id
         AND b.start < a."end"
         AND b.start >= datetime(a.start, :back)
         AND b."end" > a.start
         AND b.rowid <> a.rowid
        WHERE a.rowid > :mark AND (b.rowid <= :mark OR b.rowid > a.rowid)
        LIMIT :limit
        """
    )
    with domain_errors():
        rows = uow.connection.execute(
            query, {"back": f"-{seconds} seconds", "mark": mark, "limit": MAX_REPORTED}
        )
        return [Overlap(*row) for row in rows]
