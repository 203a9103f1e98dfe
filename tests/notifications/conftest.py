"""The notifications' delivery specifications reuse the booking specifications' stores
(memory, SQLite, PostgreSQL) and Kuzbass region."""

from __future__ import annotations

from tests.booking.conftest import bus, region, sql_databases, uow_factory

__all__ = ["bus", "region", "sql_databases", "uow_factory"]
