"""Fewer round trips on PostgreSQL: statements the hot paths send together.

A create used to wait for the database once per statement: BEGIN (psycopg sends it on its
own before the first query), the change counters, …, the ledger's lock, the ledger's rows.
Two ways to send several at once, both on the unit of work's own connection and
transaction (ADR 0021):

- `begin_reading(connection, sql)`: a transaction's BEGIN and its first read (a fixed
  statement without parameters: the change counters) as one simple-protocol query. psycopg
  would send BEGIN alone and wait for it; it learns from libpq that the transaction is
  open, so the statements after it and the COMMIT are psycopg's as usual.
- `read_together(connection, statements)`: statements with parameters in one psycopg
  pipeline, each run after the one before (a later one sees what an earlier one did —
  the ledger's rows read after its lock is granted), waiting writes first (ADR 0005).

Anything else (SQLite, a transaction already open, psycopg set to begin differently)
takes the ordinary path, one statement at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import generators, pq
from psycopg.errors import error_from_result
from sqlalchemy import Connection

from adapters.storage.bulk import send_inserts, waiting_inserts, writes_waiting
from adapters.storage.errors import domain_errors

# SQL with %s (or %(name)s) placeholders, its parameters
Statement = tuple[str, Sequence[Any] | Mapping[str, Any]]


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


def begin_reading(connection: Connection, sql: str) -> list[tuple[str | None, ...]] | None:
    """BEGIN and `sql` in one round trip: its rows as text (None for NULL; none for a
    command such as `SET LOCAL`); None when this connection cannot (not PostgreSQL, a
    transaction already open, waiting writes, or psycopg set to begin with options): the
    caller then goes the ordinary way."""
    if connection.dialect.name != "postgresql" or connection.in_transaction():
        return None
    if writes_waiting(connection):
        return None
    driver = _driver(connection)
    if (
        driver.pgconn.transaction_status != pq.TransactionStatus.IDLE
        or driver.autocommit
        or driver.isolation_level is not None
        or driver.read_only is not None
        or driver.deferrable is not None
    ):
        return None
    connection.begin()  # SQLAlchemy's side of the transaction (it sends nothing itself)
    with domain_errors():
        driver.pgconn.send_query(b"BEGIN; " + sql.encode())
        results = driver.wait(generators.execute(driver.pgconn))
        for result in results:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                raise error_from_result(result, encoding=driver.info.encoding)
    rows = results[-1]
    return [
        tuple(
            None if (value := rows.get_value(i, j)) is None else bytes(value).decode()
            for j in range(rows.nfields)
        )
        for i in range(rows.ntuples)
    ]


def read_together(connection: Connection, statements: Sequence[Statement]) -> list[list[Any]]:
    """Each statement's rows (driver tuples), all sent in one round trip after the unit of
    work's waiting writes; statements run in order, each seeing the ones before."""
    if not connection.in_transaction():
        connection.begin()
    driver = _driver(connection)
    with domain_errors():
        inserts = waiting_inserts(connection)
        cursors = [driver.cursor() for _ in statements]
        try:
            with driver.pipeline():
                if inserts:
                    with driver.cursor() as cursor:
                        send_inserts(cursor, inserts)
                for cursor, (sql, parameters) in zip(cursors, statements, strict=True):
                    cursor.execute(sql, parameters)
            return [cursor.fetchall() if cursor.description else [] for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()


def roll_back_keeping_prepared(connection: Connection) -> None:
    """PostgreSQL: ROLLBACK sent on the connection below psycopg, then SQLAlchemy's side
    closed (psycopg sees from libpq that no transaction is open and sends nothing).
    psycopg's own `rollback()` forgets every statement it has prepared on the connection
    and deallocates them (a rolled-back transaction may have dropped what they refer to;
    a unit of work changes no schema): after every read-only unit of work and every
    refusal, the hot statements were parsed and planned afresh for five more uses. Only a
    transaction in good standing."""
    driver = _driver(connection)
    if (  # (a failed transaction goes psycopg's way: a pipeline aborted by an error never
        # ran the statements psycopg meant to prepare after it, and its cache must forget)
        connection.dialect.name == "postgresql"
        and driver.pgconn.transaction_status == pq.TransactionStatus.INTRANS
    ):
        with domain_errors():
            driver.pgconn.send_query(b"ROLLBACK")
            for result in driver.wait(generators.execute(driver.pgconn)):
                if result.status == pq.ExecStatus.FATAL_ERROR:
                    raise error_from_result(result, encoding=driver.info.encoding)
    connection.rollback()


def commit_with_writes(connection: Connection) -> bool:
    """The unit of work's waiting writes and its COMMIT in one round trip (PostgreSQL, when
    there are writes waiting): True when committed — SQLAlchemy's own `commit()` then only
    closes its side (psycopg sees from libpq that the transaction is over and sends nothing).
    A refused write aborts the pipeline before the COMMIT and is raised here."""
    if connection.dialect.name != "postgresql" or not writes_waiting(connection):
        return False
    driver = _driver(connection)
    with domain_errors():
        inserts = waiting_inserts(connection)
        with driver.pipeline(), driver.cursor() as cursor:
            send_inserts(cursor, inserts)
            cursor.execute("COMMIT")
    return True
