"""A refusal's reads in one round trip (PostgreSQL): once a create's rules have found its
conflicts, what the refusal still needs — whether a hold is due (expired holds no longer
block: the create plans again), the conflicting bookings' titles and teachers for its
wording, and the reservations and class sessions its alternatives are checked against —
goes in one `read_together` pipeline instead of three round trips (ADR 0024).

The reservations and sessions are `SqlOccurrences.rule_reads`' statements (filtered by
the ranges in SQL, on the plans PostgreSQL chooses: the generic plans' two `SET`s cost a
refusal more than they save it) without the ledger (an alternative is never checked
against the capacity ledger). A refusal that ends its unit of work (`ending`: a create
that is not a dry run) sends its ROLLBACK in the same pipeline. SQLite and a read-only
unit of work take the separate calls (`refusal_reads_one_by_one`; the unit of work rolls
back when it is left).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from adapters.storage.bookings import SqlBookings
from adapters.storage.bulk import discard_writes
from adapters.storage.engine import READ_ONLY
from adapters.storage.occurrences import (
    _reservations_of,
    _sessions_of,
)
from adapters.storage.reference_cache import forget_changes
from adapters.storage.sent_together import Statement, read_together
from booking.bookings import BookingBrief, BookingStatus, Reservation
from booking.conflicts import ClassSession
from booking.repository import RefusalReads, refusal_reads_one_by_one

if TYPE_CHECKING:
    from adapters.storage.occurrences import SqlOccurrences

TimeRange = tuple[datetime, datetime]

# Is any hold due (HELD, its expiry passed)? The (status, hold_expires_at) index answers.
HOLDS_DUE_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM bookings WHERE status = '{BookingStatus.HELD!s}'"
    " AND hold_expires_at <= %s)"
)
# `Bookings.briefs(ids, schools=False)`: the bookings' own columns
BRIEFS_SQL = "SELECT id, title, teacher, host_school_id FROM bookings WHERE id = ANY(%b)"


def refusal_reads(
    occurrences: SqlOccurrences,
    booking_ids: Iterable[str],
    terminal_ids: Sequence[str],
    ranges: Sequence[TimeRange],
    classes: Sequence[tuple[str, str]],
    class_ranges: Sequence[TimeRange],
    holds_due_at: datetime | None,
    ending: bool = False,
) -> RefusalReads:
    connection = occurrences._connection
    if connection.dialect.name != "postgresql" or connection.get_execution_options().get(
        READ_ONLY, False
    ):
        return refusal_reads_one_by_one(
            occurrences, SqlBookings(connection), booking_ids, terminal_ids, ranges, classes,
            class_ranges, holds_due_at,
        )  # fmt: skip
    statements: list[Statement] = []
    if holds_due_at is not None:
        statements.append((HOLDS_DUE_SQL, [holds_due_at]))
    briefs_of = list(dict.fromkeys(booking_ids))
    if briefs_of:
        statements.append((BRIEFS_SQL, [briefs_of]))
    wanted: list[str] = []
    if terminal_ids and ranges:
        held, wanted = occurrences.held_statement(terminal_ids, ranges)
        statements.append(held)
    pairs: list[tuple[str, str]] = []
    if classes and class_ranges:
        sessions_read, pairs = occurrences.sessions_statement(classes, class_ranges)
        statements.append(sessions_read)
    if ending:  # a refusal keeps nothing: its ROLLBACK is not waited for on its own
        statements.append(("ROLLBACK", []))
    results = iter(read_together(connection, statements) if statements else [])
    if ending:
        _ended(connection)
    holds_due = bool(next(results)[0][0]) if holds_due_at is not None else None
    briefs = _briefs(next(results)) if briefs_of else {}
    reservations: list[Reservation] = []
    if wanted:  # (only rows overlapping one of the ranges, as the rules' reads)
        reservations = _reservations_of(next(results), set(wanted), driver=True)
    sessions: list[ClassSession] = _sessions_of(next(results), None, driver=True) if pairs else []
    return RefusalReads(
        reservations=reservations, sessions=sessions, briefs=briefs, holds_due=holds_due
    )


def _ended(connection: Connection) -> None:
    """The transaction was rolled back in the pipeline: SQLAlchemy's side too (psycopg
    sees from libpq that no transaction is open and sends nothing), as `uow.rollback()`
    would; a statement after this begins a new one."""
    discard_writes(connection)
    forget_changes(connection)
    connection.rollback()


def _briefs(rows: Iterable[Any]) -> dict[str, BookingBrief]:
    return {
        id: BookingBrief.of(id, title, teacher, host_school_id, ())
        for id, title, teacher, host_school_id in rows
    }
