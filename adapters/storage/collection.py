"""What every table-backed repository shares: a connection, error translation, and
get/add/list/update by id with optimistic versioning.

A subclass names its table and says how a domain object becomes a row (`to_row`) and
back (`from_row`). `update` writes only if the stored version is still the one the object
was read with in this unit of work (a concurrent writer changed it otherwise:
`VersionMismatch`); the service bumps `version` itself when a change is worth a new ETag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import Connection, CursorResult, Executable, Row, Table, select

from adapters.storage.errors import domain_errors
from booking.errors import NotFound, VersionMismatch


class Versioned(Protocol):
    id: str
    version: int


T = TypeVar("T", bound=Versioned)


class SqlRepository:
    """A repository bound to the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._versions: dict[str, int] = {}

    def _execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        with domain_errors():
            return self._connection.execute(statement, parameters)

    @staticmethod
    def _errors() -> AbstractContextManager[None]:
        return domain_errors()

    noun: ClassVar[str] = "record"

    def _seen(self, item: Versioned) -> Versioned:
        """Remember the version an object was read (or added) with, for `update`."""
        self._versions[item.id] = item.version
        return item

    def _update_versioned(self, table: Table, item: Versioned, row: Mapping[str, Any]) -> None:
        """Write `row` if the stored version is still the one `item` was read with (when it
        was read in this unit of work); the version written is `item.version` — the service
        decides when a change deserves a new version (ETag)."""
        values = {k: v for k, v in row.items() if k != "id"}
        statement = table.update().where(table.c.id == item.id).values(values)
        read_version = self._versions.get(item.id)
        if read_version is not None:
            statement = statement.where(table.c.version == read_version)
        if self._execute(statement).rowcount != 1:
            current = self._execute(select(table.c.version).where(table.c.id == item.id)).first()
            if current is None:
                raise NotFound(f"{self.noun} {item.id} does not exist", id=item.id)
            raise VersionMismatch(
                f"{self.noun} {item.id} was changed meanwhile (version {current.version}, read"
                f" as {read_version}); reload and retry",
                id=item.id,
                expected=read_version,
                current=current.version,
            )
        self._versions[item.id] = item.version


class SqlCollection(SqlRepository, Generic[T]):
    table: ClassVar[Table]

    def to_row(self, item: T) -> dict[str, Any]:
        raise NotImplementedError

    def from_row(self, row: Row[Any]) -> T:
        raise NotImplementedError

    def _load(self, row: Row[Any]) -> T:
        item = self.from_row(row)
        self._seen(item)
        return item

    def get(self, id: str) -> T | None:
        row = self._execute(select(self.table).where(self.table.c.id == id)).first()
        return None if row is None else self._load(row)

    def get_many(self, ids: Iterable[str]) -> dict[str, T]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        rows = self._execute(select(self.table).where(self.table.c.id.in_(wanted)))
        return {row.id: self._load(row) for row in rows}

    def add(self, item: T) -> None:
        self._execute(self.table.insert(), self.to_row(item))
        self._seen(item)

    def add_all(self, items: Sequence[T]) -> None:
        if items:
            self._execute(self.table.insert(), [self.to_row(item) for item in items])
            for item in items:
                self._seen(item)

    def list(self, offset: int = 0, limit: int = 100) -> Sequence[T]:
        query = select(self.table).order_by(self.table.c.id).offset(offset).limit(limit)
        return [self._load(row) for row in self._execute(query)]

    def update(self, item: T) -> None:
        self._update_versioned(self.table, item, self.to_row(item))
