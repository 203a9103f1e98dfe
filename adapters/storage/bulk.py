"""Writing many rows fast: one executemany (batched multi-row VALUES) for a few hundred
rows, and PostgreSQL's COPY through the psycopg connection for big batches — a year of
timetable (~1.7 million occurrences) is loaded this way.

COPY runs on the unit of work's own connection, inside its transaction: it commits or
rolls back with everything else, and the exclusion constraint still checks every row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Table

from adapters.storage.types import UtcDateTime

COPY_THRESHOLD = 2000  # rows; below this executemany is as fast and simpler


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` within the current transaction."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        copy_rows(connection, table, rows)
    else:
        connection.execute(table.insert(), rows)


def _converter(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, JSON):
        return lambda value: None if value is None else json.dumps(value, ensure_ascii=False)
    if isinstance(column_type, UtcDateTime):
        return _utc
    return None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: give a time zone")
    return value.astimezone(UTC)


def copy_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY `rows` into `table` on PostgreSQL (text format; types parsed by the server)."""
    names = list(rows[0])
    converters = [(i, _converter(table.c[name].type)) for i, name in enumerate(names)]
    converting = [(i, fn) for i, fn in converters if fn is not None]
    columns = ", ".join(f'"{name}"' for name in names)
    driver_connection: Any = connection.connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(
        f'COPY "{table.name}" ({columns}) FROM STDIN'
    ) as copy:
        for row in rows:
            values = [row[name] for name in names]
            for i, fn in converting:
                values[i] = fn(values[i])
            copy.write_row(values)
