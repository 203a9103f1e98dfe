"""Writing many rows fast, inside the unit of work's transaction.

`write_rows(connection, table, columns, rows)` takes plain tuples (no dict per row):

- a few rows: one SQLAlchemy insert (executemany);
- many rows on PostgreSQL: COPY through the psycopg connection (text format, the
  server parses the values; the exclusion constraint still checks every reservation);
- many rows on SQLite: the driver's executemany with the columns' own bind processors.

A year of timetable (~1.7 million occurrences) is loaded this way; everything commits or
rolls back with the rest of the unit of work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Table

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
def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: give a zone")
    return value.astimezone(UTC)


def _copy_converter(column_type: Any) -> Converter | None:
    if isinstance(column_type, JSON):
        return _json
    if isinstance(column_type, UtcDateTime):
        return _utc
    return None


def copy_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    converters = [
        (i, fn) for i, name in enumerate(columns) if (fn := _copy_converter(table.c[name].type))
    ]
    names = ", ".join(f'"{name}"' for name in columns)
    driver_connection: Any = connection.connection.driver_connection
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for row in _convert(rows, converters):
            copy.write_row(row)


# --- SQLite: the driver's executemany ---------------------------------------------------------
def _executemany(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    dialect = connection.dialect
    converters: list[tuple[int, Converter]] = []
    for i, name in enumerate(columns):
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            converters.append((i, processor))
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
        list(_convert(rows, converters)),
    )
