"""What the automation's and the monitor's stores share: each public method is one short
transaction of batch reads or writes on the engine (not a unit of work's connection), with
storage errors turned into domain errors, dialect-specific upserts, and IN lists sent in
chunks the databases accept."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from adapters.storage.errors import domain_errors

T = TypeVar("T")


class BatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with domain_errors(), self.engine.begin() as connection:
            yield connection

    def _insert(self, table: Table) -> Any:
        """An INSERT that can say ON CONFLICT on either database."""
        return postgresql.insert(table) if self.postgres else sqlite.insert(table)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size` (bound parameters per statement are limited)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
