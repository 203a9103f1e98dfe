"""Writing many rows fast, inside the unit of work's transaction.

`write_rows(connection, table, columns, rows)` takes plain tuples (no dict per row):

- a few rows: one SQLAlchemy insert (executemany);
- many rows on PostgreSQL: binary COPY through the psycopg connection (the exclusion
  constraint still checks every reservation);
- many rows on SQLite: the driver's executemany with the columns' own bind processors.

A year of timetable (~1.7 million occurrences) is loaded this way; everything commits or
rolls back with the rest of the unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

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

from adapters.storage.types import UtcDateTime

BULK_THRESHOLD = 1000  # rows; below this a plain executemany is as fast and simpler

Converter = Callable[[Any], Any]


def write_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`."""
    if not rows:
        return
    if len(rows) < BULK_THRESHOLD:
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    elif connection.dialect.name == "postgresql":
        copy_rows(connection, table, columns, rows)
    else:
        _executemany(connection, table, columns, rows)


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


def copy_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """COPY in binary format: no text parsing on the server, C dumpers on the client."""
    types = [_copy_type(table.c[name].type) for name in columns]
    checks: list[tuple[int, Converter]] = [
        (i, _aware) for i, kind in enumerate(types) if kind == "timestamptz"
    ]
    names = ", ".join(f'"{name}"' for name in columns)
    driver_connection: Any = connection.connection.driver_connection
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy,
    ):
        copy.set_types(types)
        for row in _convert(rows, checks):
            copy.write_row(row)


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
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
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
        f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
        list(_convert(rows, converters)),
    )
