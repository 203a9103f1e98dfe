"""Column types that keep the domain's promises about time.

`UtcDateTime` accepts only aware datetimes and always gives back aware UTC ones. On
PostgreSQL it is `timestamptz`; on SQLite it is fixed-width ISO text in UTC
(`2026-09-01 02:00:00.000000`), so text order is time order and range queries work.

`BusyRanges` is PostgreSQL's `tstzmultirange` (a booking's busy times on one terminal,
under the exclusion constraint); SQLite has no range types and keeps the column NULL.
Storage code writes it with SQL range expressions or COPY, never through this type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, String, Text
from sqlalchemy.dialects.postgresql import TSTZMULTIRANGE
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        zone = value.tzinfo
        if zone is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: give a zone")
        if zone is not UTC:
            value = value.astimezone(UTC)
        if dialect.name == "sqlite":  # "2026-09-01 02:35:00.000000+00:00" without the offset
            return value.isoformat(sep=" ", timespec="microseconds")[:26]
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        if value.tzinfo is None:  # a driver that lost the zone: stored values are UTC
            return value.replace(tzinfo=UTC)
        return value if value.tzinfo is UTC else value.astimezone(UTC)


class BusyRanges(TypeDecorator[Any]):
    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TSTZMULTIRANGE())
        return dialect.type_descriptor(Text())


# an auto-incrementing id: BIGINT on PostgreSQL, SQLite's INTEGER PRIMARY KEY (its rowid)
AutoId = BigInteger().with_variant(Integer, "sqlite")
