"""Storage: SQLAlchemy Core tables, repositories and the unit of work (SQLite, PostgreSQL)."""

from adapters.storage.engine import create_engine_for
from adapters.storage.schema import upgrade
from adapters.storage.unit_of_work import SqlUnitOfWork, sql_uow_factory

__all__ = ["SqlUnitOfWork", "create_engine_for", "sql_uow_factory", "upgrade"]
