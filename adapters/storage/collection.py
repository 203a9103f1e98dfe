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
from functools import cache
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Connection,
    CursorResult,
    Executable,
    Row,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from adapters.storage.bulk import flush_writes
from adapters.storage.errors import domain_errors
from adapters.storage.reference_cache import COUNTERS, kept_by_id, mark_changed
from booking.errors import NotFound, VersionMismatch


# Statements of the hot paths are built once, with bound parameters (expanding ones for
# IN lists): building a statement costs more than running a small one on PostgreSQL.
@cache
def by_id(table: Table) -> Select[Any]:
    return select(table).where(table.c.id == bindparam("id"))


@cache
def by_ids(table: Table, postgres: bool = False) -> Select[Any]:
    """Rows of `table` by a list of ids (`:ids`; one array parameter on PostgreSQL)."""
    return select(table).where(among(table.c.id, "ids", postgres=postgres))


def among(column: ColumnElement[Any], name: str, *, postgres: bool) -> ColumnElement[bool]:
    """`column IN :name` for a list of ids. On PostgreSQL one array parameter
    (`= ANY(:name)`): the statement's text is the same for any number of ids, so neither
    SQLAlchemy nor psycopg renders and parses hundreds of placeholders per call."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(Text)))
    return column.in_(bindparam(name, expanding=True))


class Versioned(Protocol):
    id: str
    version: int


T = TypeVar("T", bound=Versioned)


class SqlRepository:
    """A repository bound to the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"
        self._versions: dict[str, int] = {}

    def _execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        with domain_errors():
            return self._connection.execute(statement, parameters)

    def _tuples(self, statement: ClauseElement) -> list[tuple[Any, ...]]:
        """Rows as plain driver tuples, for big reads of columns without type processing
        (no Row objects): the statement is compiled for the connection's dialect and run
        on the driver's cursor, inside the same transaction."""
        compiled: Any = statement.compile(dialect=self._connection.dialect)
        parameters = compiled.construct_params()
        if compiled.positional:
            parameters = tuple(parameters[name] for name in compiled.positiontup)
        driver: Any = self._connection.connection.driver_connection
        with domain_errors():
            if not self._connection.in_transaction():
                self._connection.begin()  # BEGIN as the engine's "begin" hook says (SQLite)
            flush_writes(self._connection)
            cursor = driver.cursor()
            try:
                cursor.execute(str(compiled), parameters)
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def _code_point(self, column: Any) -> Any:
        """`column` for ORDER BY in code-point order, as Python sorts strings (PostgreSQL's
        database collation may be a language's; SQLite compares bytes already)."""
        if self._connection.dialect.name == "postgresql":
            return column.collate("C")
        return column

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
        if self.table.name in COUNTERS:
            return self.get_many([id]).get(id)
        row = self._execute(by_id(self.table), {"id": id}).first()
        return None if row is None else self._load(row)

    def get_many(self, ids: Iterable[str]) -> dict[str, T]:
        """The objects with these ids (unknown ids are absent). Rows of the reference
        tables (organisations, terminals, calendars, servers) come from this process's
        copy while the database's counter says it is current (`reference_cache`); every
        call builds fresh objects from them."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        if self.table.name in COUNTERS:
            kept = kept_by_id(self._connection, self.table.name, self._all_rows)
            if kept is not None:
                return {i: self._load(kept[i]) for i in wanted if i in kept}
        rows = self._execute(by_ids(self.table, self._postgres), {"ids": wanted}).all()
        return {row.id: self._load(row) for row in rows}

    def _all_rows(self) -> Sequence[Row[Any]]:
        return self._execute(select(self.table)).all()

    def _writing(self) -> None:
        mark_changed(self._connection, self.table.name)

    def add(self, item: T) -> None:
        self._writing()
        self._execute(self.table.insert(), self.to_row(item))
        self._seen(item)

    def add_all(self, items: Sequence[T]) -> None:
        if items:
            self._writing()
            self._execute(self.table.insert(), [self.to_row(item) for item in items])
            for item in items:
                self._seen(item)

    def list(self, offset: int = 0, limit: int = 100) -> Sequence[T]:
        query = select(self.table).order_by(self.table.c.id).offset(offset).limit(limit)
        return [self._load(row) for row in self._execute(query).all()]

    def count_all(self) -> int:
        return int(self._execute(select(func.count()).select_from(self.table)).scalar_one())

    def update(self, item: T) -> None:
        self._writing()
        self._update_versioned(self.table, item, self.to_row(item))
