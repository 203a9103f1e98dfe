"""`SqlUnitOfWork`: one connection and one transaction per unit of work.

    with uow_factory() as uow:
        ...                       # repositories share the unit of work's transaction
        uow.commit()              # leaving without commit rolls everything back

On SQLite the transaction starts with BEGIN IMMEDIATE (see `engine.py`), so units of work
that write run one at a time; `read_only=True` starts a deferred transaction instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine

from adapters.storage.bookings import SqlBookings
from adapters.storage.bulk import defer_writes, discard_writes, flush_writes
from adapters.storage.calendars import SqlAcademicYears, SqlBellSchedules, SqlClosures
from adapters.storage.engine import READ_ONLY
from adapters.storage.equipment import SqlCameras, SqlServers, SqlTerminals
from adapters.storage.errors import domain_errors
from adapters.storage.idempotency import SqlIdempotencyKeys
from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.organisations import SqlOrganisations, SqlUsers
from adapters.storage.reference_cache import forget_changes
from adapters.storage.tokens import SqlIssuedTokens
from booking.errors import Conflict
from booking.repository import (
    AcademicYears,
    BellSchedules,
    Bookings,
    Cameras,
    Closures,
    IssuedTokens,
    Occurrences,
    Organisations,
    Servers,
    Terminals,
    Users,
)


class SqlUnitOfWork:
    # Typed as the domain's Protocols (whose attributes mypy treats as invariant), so a
    # SqlUnitOfWork is a `booking.repository.UnitOfWork` without a cast. Code that needs
    # the SQL-only methods (bulk `add_all`…) builds the repository on `connection`.
    organisations: Organisations
    terminals: Terminals
    cameras: Cameras
    servers: Servers
    bell_schedules: BellSchedules
    academic_years: AcademicYears
    closures: Closures
    users: Users
    tokens: IssuedTokens
    bookings: Bookings
    occurrences: Occurrences
    idempotency: SqlIdempotencyKeys

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use it in a `with` block")
        return self._connection

    def __enter__(self) -> SqlUnitOfWork:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open")
        with domain_errors():
            connection = self.engine.connect()
        if self.read_only:
            connection = connection.execution_options(**{READ_ONLY: True})
        else:
            defer_writes(connection)  # a step's inserts wait for the next statement
        self._connection = connection  # the transaction begins with the first statement
        self.organisations = SqlOrganisations(connection)
        self.terminals = SqlTerminals(connection)
        self.cameras = SqlCameras(connection)
        self.servers = SqlServers(connection)
        self.bell_schedules = SqlBellSchedules(connection)
        self.academic_years = SqlAcademicYears(connection)
        self.closures = SqlClosures(connection)
        self.users = SqlUsers(connection)
        self.tokens = SqlIssuedTokens(connection)
        self.bookings = SqlBookings(connection)
        self.occurrences = SqlOccurrences(connection)
        self.idempotency = SqlIdempotencyKeys(connection)
        return self

    def __exit__(self, *exc: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            discard_writes(connection, stop=True)
            forget_changes(connection)
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        """Commit what was done; work after this starts a new transaction.

        On PostgreSQL a failed statement spoils the whole transaction: committing it would
        silently roll back, so that is refused instead (Conflict, nothing written)."""
        connection = self.connection
        if not connection.in_transaction():
            return
        if not _failed_on_postgres(connection):
            with domain_errors():
                flush_writes(connection)
        if _failed_on_postgres(connection):
            discard_writes(connection)
            connection.rollback()
            raise Conflict("an earlier step of this change failed; nothing was written")
        with domain_errors():
            connection.commit()
        forget_changes(connection)

    def rollback(self) -> None:
        connection = self.connection
        discard_writes(connection)
        forget_changes(connection)
        if connection.in_transaction():
            connection.rollback()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """SAVEPOINT … RELEASE, or ROLLBACK TO SAVEPOINT when the block raises: on
        PostgreSQL a statement refused inside (a lost race at the exclusion constraint) no
        longer spoils the whole transaction, and on SQLite a step's earlier writes go too."""
        connection = self.connection
        with domain_errors():
            if not connection.in_transaction():
                connection.begin()  # BEGIN as the engine's "begin" hook says (SQLite)
            step = connection.begin_nested()
        try:
            yield
            with domain_errors():
                flush_writes(connection)  # a refusal belongs to this step
        except BaseException:
            discard_writes(connection)
            if step.is_active:
                with domain_errors():
                    step.rollback()
            raise
        with domain_errors():
            step.commit()


def _failed_on_postgres(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    driver: Any = connection.connection.driver_connection
    return bool(driver.info.transaction_status == TransactionStatus.INERROR)


def sql_uow_factory(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    """What the services take: a callable that makes a fresh unit of work."""

    def make() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    return make
