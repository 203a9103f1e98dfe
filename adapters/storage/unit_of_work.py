"""`SqlUnitOfWork`: one connection and one transaction per unit of work.

    with uow_factory() as uow:
        ...                       # repositories share the unit of work's transaction
        uow.commit()              # leaving without commit rolls everything back

On SQLite the transaction starts with BEGIN IMMEDIATE (see `engine.py`), so units of work
that write run one at a time; `read_only=True` starts a deferred transaction instead.

The domain events the aggregates recorded are taken from them as they are written
(`bookings.add/update`, `occurrences.update`) and published on the message bus once the
transaction is committed; a rollback — of the whole unit or of a savepoint — drops them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage.bookings import SqlBookings
from adapters.storage.bulk import defer_writes, discard_writes, flush_writes
from adapters.storage.calendars import SqlAcademicYears, SqlBellSchedules, SqlClosures
from adapters.storage.engine import READ_ONLY
from adapters.storage.equipment import SqlCameras, SqlServers, SqlTerminals
from adapters.storage.errors import domain_errors
from adapters.storage.idempotency import SqlIdempotencyKeys
from adapters.storage.notifications import SqlAuditLog, SqlNotifications
from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.organisations import SqlOrganisations, SqlUsers
from adapters.storage.reference_cache import assume_counters, confirm, forget_changes
from adapters.storage.sent_together import commit_with_writes, roll_back_keeping_prepared
from adapters.storage.tokens import SqlIssuedTokens
from adapters.storage.workflow import SqlWorkflowStore
from booking.audit import AuditLog
from booking.bookings import Booking, Occurrence
from booking.errors import Conflict, ReferenceChanged
from booking.events import Event, merged
from booking.messagebus import MessageBus
from booking.notifications import NotificationStore
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
from booking.workflow.store import WorkflowStore


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
    notifications: NotificationStore
    audit: AuditLog
    idempotency: SqlIdempotencyKeys
    workflow: WorkflowStore

    def __init__(
        self, engine: Engine, *, read_only: bool = False, bus: MessageBus | None = None
    ) -> None:
        self.engine = engine
        self.read_only = read_only
        self.bus = bus
        self._connection: Connection | None = None
        self._events: list[Event] = []

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
        self.bookings = _Bookings(connection, self._events)
        self.occurrences = _Occurrences(connection, self._events)
        self.notifications = SqlNotifications(connection)
        self.audit = SqlAuditLog(connection)
        self.idempotency = SqlIdempotencyKeys(connection)
        self.workflow = SqlWorkflowStore(connection)
        return self

    def __exit__(self, *exc: object) -> None:
        connection, self._connection = self._connection, None
        self._events.clear()
        if connection is None:
            return
        if connection.invalidated:  # the database connection was lost: nothing to tidy up
            with contextlib.suppress(SQLAlchemyError):
                connection.close()
            return
        try:
            discard_writes(connection, stop=True)
            forget_changes(connection)
            if connection.in_transaction():
                roll_back_keeping_prepared(connection)
        finally:
            connection.close()

    def plan_on_kept_copies(self) -> None:
        """See `UnitOfWork`; a writing unit of work on PostgreSQL whose first statement is
        the rules' reads (`Occurrences.rule_reads` checks the counters)."""
        if not self.read_only:
            assume_counters(self.connection)

    def kept_copies_were_current(self) -> bool:
        try:
            confirm(self.connection)
        except ReferenceChanged:
            return False
        return True

    def commit(self) -> None:
        """Commit what was done; work after this starts a new transaction.

        On PostgreSQL a failed statement spoils the whole transaction: committing it would
        silently roll back, so that is refused instead (Conflict, nothing written). Nothing
        commits on copies of the reference data not yet checked (`plan_on_kept_copies`)."""
        connection = self.connection
        confirm(connection)
        if not connection.in_transaction():
            self._publish()
            return
        if not _failed_on_postgres(connection):
            if commit_with_writes(connection):  # writes and COMMIT in one round trip
                connection.commit()  # (SQLAlchemy's side: nothing is sent)
                forget_changes(connection)
                self._publish()
                return
            with domain_errors():
                flush_writes(connection)
        if _failed_on_postgres(connection):
            discard_writes(connection)
            connection.rollback()
            raise Conflict("an earlier step of this change failed; nothing was written")
        with domain_errors():
            connection.commit()
        forget_changes(connection)
        self._publish()

    def record(self, event: Event) -> None:
        """An event of the change as a whole (a bulk write's), published with the others."""
        self._events.append(event)

    def _publish(self) -> None:
        happened = merged(self._events)
        self._events.clear()
        if self.bus is not None and happened:
            self.bus.publish(happened)

    def rollback(self) -> None:
        connection = self.connection
        self._events.clear()
        discard_writes(connection)
        forget_changes(connection)
        if connection.in_transaction():
            roll_back_keeping_prepared(connection)

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
        recorded = len(self._events)
        try:
            yield
            with domain_errors():
                flush_writes(connection)  # a refusal belongs to this step
        except BaseException:
            del self._events[recorded:]
            discard_writes(connection)
            if step.is_active:
                with domain_errors():
                    step.rollback()
            raise
        with domain_errors():
            step.commit()


class _Bookings(SqlBookings):
    """Takes the events of the bookings it writes for the unit of work."""

    def __init__(self, connection: Connection, events: list[Event]) -> None:
        super().__init__(connection)
        self._events = events

    def add(self, item: Booking) -> None:
        super().add(item)
        self._events += item.collect_events()

    def update(self, item: Booking) -> None:
        super().update(item)
        self._events += item.collect_events()


class _Occurrences(SqlOccurrences):
    """Takes the events of the occurrences it updates (new ones have none: their booking
    says it was created)."""

    def __init__(self, connection: Connection, events: list[Event]) -> None:
        super().__init__(connection)
        self._events = events

    def update(self, occurrence: Occurrence) -> None:
        super().update(occurrence)
        self._events += occurrence.collect_events()


def _failed_on_postgres(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    driver: Any = connection.connection.driver_connection
    return bool(driver.info.transaction_status == TransactionStatus.INERROR)


def sql_uow_factory(engine: Engine, bus: MessageBus | None = None) -> Callable[[], SqlUnitOfWork]:
    """What the services take: a callable that makes a fresh unit of work."""

    def make() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, bus=bus)

    return make
