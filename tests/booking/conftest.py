"""`uow_factory` for the booking specifications: the same tests run on the in-memory unit
of work, on SQLite and on PostgreSQL (storage from `adapters.storage`).

Each SQL kind gets one migrated database per test module; before each test every table is
emptied and the rows the migrations seeded are put back, so each test starts from the
state `vks db upgrade` leaves. PostgreSQL comes from the `postgres_url` fixture of
tests/conftest.py (skipped with the reason when absent, failing under CI=true).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from booking.memory import MemoryStore
from booking.messagebus import MessageBus
from booking.repository import UnitOfWork
from tests.booking.kuzbass import Region, seed_region

UowFactory = Callable[[], UnitOfWork]

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


class SqlDatabases:
    """Lazily migrated databases of one test module, with their migration-seeded rows."""

    def __init__(self, request: pytest.FixtureRequest, tmp: Any) -> None:
        self._request = request
        self._tmp = tmp
        self._engines: dict[str, tuple[Engine, dict[str, list[dict[str, Any]]]]] = {}
        self._cleanup = ExitStack()

    def engine(self, kind: str) -> tuple[Engine, dict[str, list[dict[str, Any]]]]:
        if kind not in self._engines:
            from adapters.storage.engine import create_engine_for
            from adapters.storage.schema import upgrade
            from adapters.storage.tables import metadata

            url = self._database(kind)
            upgrade(url)
            engine = create_engine_for(url)
            self._cleanup.callback(engine.dispose)
            with engine.connect() as connection:
                seeded = {
                    table.name: [dict(row._mapping) for row in connection.execute(table.select())]
                    for table in metadata.sorted_tables
                }
            self._engines[kind] = (engine, seeded)
        return self._engines[kind]

    def _database(self, kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{self._tmp.mktemp('booking-db') / 'vks.sqlite'}"
        from adapters.storage.engine import create_engine_for

        server_url = self._request.getfixturevalue("postgres_url")
        name = f"vks_booking_{uuid.uuid4().hex[:12]}"
        admin = create_engine_for(server_url)
        with admin.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(7117)"))
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
            connection.execute(text(f'CREATE SCHEMA "{name}"'))

        def drop() -> None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            admin.dispose()

        self._cleanup.callback(drop)
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name},public"})
        return url.render_as_string(False)

    def fresh(self, kind: str, bus: MessageBus | None = None) -> UowFactory:
        from adapters.storage.tables import metadata
        from adapters.storage.unit_of_work import sql_uow_factory

        engine, seeded = self.engine(kind)
        # the change counters only ever go up (rewound, a process's copy of a table kept at
        # a later value would look current again): the deletes and inserts bump them
        tables = [t for t in metadata.sorted_tables if t.name != "change_counters"]
        with engine.begin() as connection:
            # DELETE, not TRUNCATE: for a handful of rows it is many times faster on PostgreSQL
            for table in reversed(tables):
                connection.execute(table.delete())
            for table in tables:
                if seeded.get(table.name):
                    connection.execute(table.insert(), seeded[table.name])
        return sql_uow_factory(engine, bus)

    def close(self) -> None:
        self._cleanup.close()


@pytest.fixture(scope="module")
def sql_databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlDatabases]:
    databases = SqlDatabases(request, tmp_path_factory)
    yield databases
    databases.close()


@pytest.fixture
def bus() -> MessageBus:
    """The message bus the units of work of `uow_factory` publish their events on."""
    return MessageBus()


@pytest.fixture(params=BACKENDS)
def uow_factory(
    request: pytest.FixtureRequest, sql_databases: SqlDatabases, bus: MessageBus
) -> UowFactory:
    """Makes units of work over an empty store: memory, SQLite or PostgreSQL."""
    if request.param == "memory":
        return MemoryStore(bus).unit_of_work
    return sql_databases.fresh(request.param, bus)


@pytest.fixture
def region(uow_factory: UowFactory) -> Region:
    """The Kuzbass test region (two time zones), the 2026/27 year, bells, terminals, servers."""
    return seed_region(uow_factory)
