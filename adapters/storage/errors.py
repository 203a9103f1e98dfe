"""Database failures become domain errors here, and only here.

PostgreSQL's exclusion constraint over reservations (a racing process took the terminal
first) becomes `BookingConflict`; other unique violations (an id or external reference
already used) become `Conflict`; a missing referenced row becomes `NotFound`; lock
timeouts, deadlocks and serialisation failures become `Conflict` (retry); a lost
connection (the server restarted, an administrator's `pg_terminate_backend`, a network
cut) becomes `ServiceUnavailable` — SQLAlchemy then replaces the pool's connections, so
the next request works again without a restart. SQLite reports the same through message
texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError

from adapters.storage.tables import EXCLUSION_CONSTRAINT
from booking.errors import BookingConflict, Conflict, DomainError, NotFound, ServiceUnavailable

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
RETRYABLE = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
IN_FAILED_TRANSACTION = "25P02"  # an earlier statement of this transaction failed
# admin shutdown (pg_terminate_backend), crash shutdown, cannot connect now; class 08: the
# connection itself failed
CONNECTION_LOST = {"57P01", "57P02", "57P03"}

# "Key (terminal_id, busy)=(term-kem20-1, {[…)}) conflicts with existing key (…)"; before
# revision 0300 the key began with hashtext(terminal_id): "…)=(-1234, term-kem20-1, […)"
_TERMINAL_IN_DETAIL = re.compile(r"\)=\((?:-?\d+, )?(?P<terminal>[^,]+), ")


def translate(exc: BaseException) -> DomainError | None:
    """The domain error a database failure means, or None if it is a genuine fault.
    Takes SQLAlchemy's wrapper or a driver's own error (COPY runs on the driver)."""
    original: Any = exc.orig if isinstance(exc, DBAPIError) else exc
    if _connection_lost(exc, original):
        return ServiceUnavailable(
            "the database connection was lost; nothing was written, retry the request"
            f" ({_first_line(original)})",
            dependency="database",
        )
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None:
        return _from_postgres(sqlstate, original)
    return _from_sqlite(str(original))


def _connection_lost(exc: BaseException, original: Any) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(original, "sqlstate", None) or ""
    if sqlstate in CONNECTION_LOST or sqlstate.startswith("08"):
        return True
    # psycopg reports a connection closed under it without a SQLSTATE
    return isinstance(original, psycopg.OperationalError) and not sqlstate


def _first_line(error: Any) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _from_postgres(sqlstate: str, original: Any) -> DomainError | None:
    diag = getattr(original, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    detail = getattr(diag, "message_detail", None) or ""
    if sqlstate == EXCLUSION_VIOLATION and constraint == EXCLUSION_CONSTRAINT:
        match = _TERMINAL_IN_DETAIL.search(detail)
        terminal = match.group("terminal") if match else None
        return BookingConflict(
            "the terminal was booked for an overlapping time by a concurrent request",
            terminal_id=terminal,
            conflicts=[],
            alternatives=[],
            constraint=constraint,
        )
    if sqlstate in (EXCLUSION_VIOLATION, UNIQUE_VIOLATION):
        return Conflict("already exists or overlaps an existing record", constraint=constraint)
    if sqlstate == FOREIGN_KEY_VIOLATION:
        return NotFound("a referenced record does not exist", constraint=constraint)
    if sqlstate in RETRYABLE:
        return Conflict("concurrent update, try again", sqlstate=sqlstate)
    if sqlstate == IN_FAILED_TRANSACTION:
        return Conflict("an earlier step of this change failed; nothing was written")
    return None


def _from_sqlite(message: str) -> DomainError | None:
    if message.startswith("UNIQUE constraint failed") or message.startswith(
        "PRIMARY KEY constraint failed"
    ):
        return Conflict("already exists", constraint=message.split(": ", 1)[-1])
    if message.startswith("FOREIGN KEY constraint failed"):
        return NotFound("a referenced record does not exist")
    if "database is locked" in message or "database is busy" in message:
        return Conflict("the database is busy, try again")
    return None


@contextmanager
def domain_errors() -> Iterator[None]:
    """Run database work; re-raise recognised failures as domain errors."""
    try:
        yield
    except (DBAPIError, psycopg.Error) as exc:
        mapped = translate(exc)
        if mapped is None:
            raise
        raise mapped from exc
