"""Writing rows fast, inside the unit of work's transaction.

`write_tables(connection, batches)` takes, per table, plain tuples (no dict per row):

- PostgreSQL, a few rows: every table's insert sent in one psycopg pipeline — one round
  trip for a booking's occurrences, terminals and reservations together;
- PostgreSQL, many rows: binary COPY per table (the exclusion constraint still checks
  every reservation);
- rows to be merged into existing ones (`merge`: the `ON CONFLICT …` clause, per table)
  go with that clause (a multi-row INSERT in the pipeline on PostgreSQL, COPY into a staging
  table then one INSERT … SELECT for many; the rows of one batch must not repeat a key);
- SQLite: one SQLAlchemy executemany per table for a few rows, the driver's executemany
  with the columns' own bind processors for many.

A year of timetable (~1.7 million occurrences) is loaded this way; everything commits or
rolls back with the rest of the unit of work.

Deferred writes (PostgreSQL): a writing unit of work calls `defer_writes`, and the few-row
inserts of its steps (a booking, its occurrences and reservations, the capacity ledger)
wait in one pipeline that is sent when the next statement needs them — any read, a
savepoint, COPY, or the commit. A create then costs one round trip for all its writes
instead of one per step; a refusal by the database surfaces at that point (the commit).

In such a unit of work, a COPY of many rows runs in a background thread, on the same
connection and transaction: the caller goes on with pure Python work (the timetable
import checks its rules meanwhile) while PostgreSQL spends its ~30 s on 1.7 million rows.
The next statement, the commit, or `flush_writes` waits for it and raises its refusal;
a rollback (`discard_writes`) waits for it and drops it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    Integer,
    String,
    Table,
    Time,
)

from adapters.storage.types import BusyRanges, UtcDateTime

BULK_THRESHOLD = 1000  # rows; below this a plain executemany is as fast and simpler

Converter = Callable[[Any], Any]


Batch = tuple[Table, Sequence[str], Sequence[tuple[Any, ...]]]


def write_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`."""
    write_tables(connection, [(table, columns, rows)])


PENDING = "vks.pending_writes"  # key in the DBAPI connection's `info`: deferred inserts
BACKGROUND = "vks.background_write"  # key in `info`: the COPY running in the background
# INSERT … VALUES, (%s, …), tail, rows, and the same INSERT … SELECT FROM unnest(…) of arrays
Insert = tuple[str, str, str, list[tuple[Any, ...]], str]


class _Background:
    """One thread running `work` (COPYs) on the unit of work's connection; its error, if
    any, is kept for whoever waits for it."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        self._work = work
        self._thread = threading.Thread(target=self._run, name="vks-bulk-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # handed to the thread that waits (`finish`)
            self.error = exc

    def finish(self) -> BaseException | None:
        self._thread.join()
        return self.error


def defer_writes(connection: Connection) -> None:
    """From now on, few-row inserts on this connection wait for `flush_writes` (or for the
    next statement: see `engine.py`). PostgreSQL only; elsewhere a no-op."""
    if connection.dialect.name == "postgresql":
        connection.info[PENDING] = []


def writes_waiting(connection: Connection) -> bool:
    return bool(connection.info.get(PENDING)) or BACKGROUND in connection.info


def flush_writes(connection: Connection) -> None:
    """Wait for a background COPY (raising its error), then send the waiting inserts, in
    order, in one pipeline."""
    inserts = waiting_inserts(connection)
    if inserts:
        _send(connection, inserts)


def waiting_inserts(connection: Connection) -> list[Insert]:
    """Take the waiting inserts, to be sent by the caller (`send_inserts`) in its own
    pipeline, ahead of its statements; a background COPY is waited for first."""
    background: _Background | None = connection.info.pop(BACKGROUND, None)
    if background is not None:
        error = background.finish()
        if error is not None:
            raise error
    pending: list[Insert] | None = connection.info.get(PENDING)
    if not pending:
        return []
    inserts, pending[:] = list(pending), []
    return inserts


# psycopg parses a statement's placeholders once and caches the result only for statements
# of at most 50 parameters: a longer one is parsed again on every call (a regular
# expression over the whole text), which costs more than one statement per row
CACHED_PARAMETERS = 50


def _send(connection: Connection, inserts: Sequence[Insert]) -> None:
    driver = _driver(connection)
    with driver.pipeline(), driver.cursor() as cursor:
        send_inserts(cursor, inserts)


def send_inserts(cursor: Any, inserts: Sequence[Insert]) -> None:
    """Each table's rows on a cursor of a connection in pipeline mode (one round trip
    with whatever else the pipeline holds): rows that fit one multi-row INSERT of up to
    `CACHED_PARAMETERS` values as that; more (a weekly booking's ledger rows, its
    occurrences) as one `INSERT … SELECT FROM unnest(…)` with an array per column — one
    statement of a few parameters, whatever the number of rows, in the rows' order."""
    for head, marks, tail, rows, unnest in inserts:
        per_statement = max(1, CACHED_PARAMETERS // len(rows[0]))
        if len(rows) > per_statement:
            cursor.execute(f"{unnest} {tail}", [list(column) for column in zip(*rows, strict=True)])
            continue
        values = ", ".join([marks] * len(rows))
        cursor.execute(f"{head}{values} {tail}", [value for row in rows for value in row])


def discard_writes(connection: Connection, *, stop: bool = False) -> None:
    """Forget the waiting inserts (their transaction or savepoint is rolled back); `stop`
    also ends deferring (the unit of work is over: the DBAPI connection returns to the
    pool)."""
    background: _Background | None = connection.info.pop(BACKGROUND, None)
    if background is not None:
        background.finish()  # its refusal does not matter: all of it is rolled back
    pending: list[Insert] | None = connection.info.get(PENDING)
    if pending:
        pending.clear()
    if stop:
        connection.info.pop(PENDING, None)


def write_tables(
    connection: Connection, batches: Sequence[Batch], merge: Mapping[str, str] | None = None
) -> None:
    """Insert each batch's rows into its table, in order (parents before children);
    `merge` maps a table name to the `ON CONFLICT …` clause its rows are written with."""
    batches = [batch for batch in batches if batch[2]]
    if not batches:
        return
    merge = merge or {}
    if connection.dialect.name != "postgresql":
        for table, columns, rows in batches:
            if len(rows) < BULK_THRESHOLD and table.name not in merge:
                connection.execute(
                    table.insert(), [dict(zip(columns, row, strict=True)) for row in rows]
                )
            else:
                _executemany(connection, table, columns, rows, merge.get(table.name, ""))
        return
    if sum(len(rows) for _, _, rows in batches) < BULK_THRESHOLD:
        _pipelined(connection, batches, merge)
        return
    flush_writes(connection)
    _driver(connection)  # the transaction is open (in this thread)

    def copy_all() -> None:
        for table, columns, rows in batches:
            if table.name in merge:
                _copy_merge(connection, table, columns, rows, merge[table.name])
            else:
                _copy(connection, table, columns, rows)

    if PENDING in connection.info:  # a unit of work that defers its writes
        connection.info[BACKGROUND] = _Background(copy_all)
    else:
        copy_all()


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """The same for dict rows (all with the same keys)."""
    if rows:
        columns = list(rows[0])
        write_rows(connection, table, columns, [tuple(row[c] for c in columns) for row in rows])


def _convert(
    rows: Iterable[tuple[Any, ...]], converters: list[tuple[int, Converter]]
) -> Iterable[tuple[Any, ...]]:
    if not converters:
        yield from rows
        return
    for row in rows:
        values = list(row)
        for i, convert in converters:
            values[i] = convert(values[i])
        yield tuple(values)


# --- PostgreSQL: COPY ------------------------------------------------------------------------
def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: give a zone")
    return value


def _copy_type(column_type: Any) -> str:
    """The PostgreSQL type of a column, for COPY's binary format."""
    if isinstance(column_type, UtcDateTime):
        return "timestamptz"
    if isinstance(column_type, BusyRanges):
        return "tstzmultirange"
    if isinstance(column_type, JSON):
        return "json"
    if isinstance(column_type, BigInteger):
        return "int8"
    if isinstance(column_type, Integer):
        return "int4"
    if isinstance(column_type, Boolean):
        return "bool"
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, Time):
        return "time"
    if isinstance(column_type, String):  # String, Text
        return "text"
    raise TypeError(f"no COPY type for {column_type!r}")


def _driver(connection: Connection) -> Any:
    """The psycopg connection, inside the SQLAlchemy transaction (begun if need be, so the
    unit of work knows there is something to commit)."""
    if not connection.in_transaction():
        connection.begin()
    return connection.connection.driver_connection


@lru_cache(maxsize=256)
def _insert_of(
    table: Table, columns: tuple[str, ...], tail: str
) -> tuple[str, str, list[tuple[int, Converter]], str]:
    """The INSERT for these columns (up to VALUES), one row's placeholders, the
    converters its values need, and the INSERT of arrays (`unnest`) (built once)."""
    kinds = [_copy_type(table.c[name].type) for name in columns]
    wrap: list[tuple[int, Converter]] = [
        (i, _PIPELINED[kind]) for i, kind in enumerate(kinds) if kind in _PIPELINED
    ]
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("%s" for _ in columns)
    arrays = ", ".join(f"%b::{kind}[]" for kind in kinds)  # binary: no quoting per element
    unnest = f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays})'
    return f'INSERT INTO "{table.name}" ({names}) VALUES ', f"({marks})", wrap, unnest


def _pipelined(connection: Connection, batches: Sequence[Batch], merge: Mapping[str, str]) -> None:
    inserts: list[Insert] = []
    for table, columns, rows in batches:
        tail = merge.get(table.name, "")
        head, marks, wrap, unnest = _insert_of(table, tuple(columns), tail)
        inserts.append((head, marks, tail, list(_convert(rows, wrap)), unnest))
    pending: list[Insert] | None = connection.info.get(PENDING)
    if pending is not None:
        _driver(connection)  # the transaction is open: the unit of work has work to commit
        pending.extend(inserts)
        return
    _send(connection, inserts)


def _copy_merge(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    merge: str,
) -> None:
    """Many rows merged into existing ones: COPY into a temporary table, then one
    `INSERT … SELECT … ON CONFLICT …` (constraints are checked as for single inserts)."""
    staging = f"staging_{table.name}"
    names = ", ".join(f'"{name}"' for name in columns)
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(f'CREATE TEMPORARY TABLE "{staging}" (LIKE "{table.name}") ON COMMIT DROP')
        _copy(connection, table, columns, rows, into=staging)
        cursor.execute(
            f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}" {merge}'
        )
        cursor.execute(f'DROP TABLE "{staging}"')


def _json(value: Any) -> Any:
    return None if value is None else Json(value)


def busy_literal(spans: Sequence[tuple[datetime, datetime]] | None) -> str | None:
    """PostgreSQL's text form of a `tstzmultirange` holding these [start, end) spans."""
    if spans is None:
        return None
    return "{" + ",".join(_range_literal(start, end) for start, end in spans) + "}"


@lru_cache(maxsize=65536)  # a timetable repeats its lesson times
def _range_literal(start: datetime, end: datetime) -> str:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"naive datetime {start.isoformat()} cannot be stored: give a zone")
    return f"[{start.isoformat()},{end.isoformat()})"


_PIPELINED: dict[str, Converter] = {
    "json": _json,
    "timestamptz": _aware,
    "tstzmultirange": busy_literal,
}


def _json_text() -> Converter:
    """JSON as text (json's binary COPY form is its text), each distinct list once: a
    timetable's occurrences repeat a few thousand terminal lists."""
    seen: dict[Any, str | None] = {}

    def convert(value: Any) -> str | None:
        key = tuple(value) if isinstance(value, list) else None
        if key is None:
            return None if value is None else json.dumps(value)
        try:
            return seen[key]
        except KeyError:
            seen[key] = text = json.dumps(value)
            return text

    return convert


def _copy(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    *,
    into: str | None = None,
) -> None:
    """COPY in binary format: no text parsing on the server, C dumpers on the client.
    Times must be aware (psycopg refuses naive ones for `timestamptz`). A table with busy
    ranges is copied in text format, the ranges as multirange literals."""
    types = [_copy_type(table.c[name].type) for name in columns]
    converters: list[tuple[int, Converter]] = []
    for i, kind in enumerate(types):
        if kind == "json":
            converters.append((i, _json_text()))
            types[i] = "text"
        elif kind == "tstzmultirange":
            converters.append((i, busy_literal))
            types[i] = "text"
    binary = "tstzmultirange" not in [_copy_type(table.c[name].type) for name in columns]
    names = ", ".join(f'"{name}"' for name in columns)
    driver_connection: Any = connection.connection.driver_connection
    target = into or table.name  # (a staging table shaped like `table`)
    statement = f'COPY "{target}" ({names}) FROM STDIN' + (" (FORMAT BINARY)" if binary else "")
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        try:
            for row in _convert(rows, converters):
                copy.write_row(row)
        except TypeError as exc:  # e.g. a naive datetime for a timestamptz column
            raise ValueError(f"a row cannot be copied into {target}: {exc}") from exc


# --- SQLite: the driver's executemany ---------------------------------------------------------
def _memoised(convert: Converter) -> Converter:
    seen: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = convert(value)
            return converted

    return cached


def _executemany(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    merge: str = "",
) -> None:
    dialect = connection.dialect
    converters: list[tuple[int, Converter]] = []
    for i, name in enumerate(columns):
        column_type = table.c[name].type
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if processor is None:
            continue
        if isinstance(column_type, UtcDateTime):  # a timetable repeats its lesson times
            converters.append((i, _memoised(processor)))
        else:
            converters.append((i, processor))
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}) {merge}',
        list(_convert(rows, converters)),
    )
