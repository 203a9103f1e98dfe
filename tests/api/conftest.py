"""Fixtures of the API specifications: the demo region (vks/demo/region.yaml) loaded once
per test module into a migrated database — SQLite and PostgreSQL (`database_url` of
tests/conftest.py) — and put back before each test; an app over it with a clock the test
controls; bearer tokens for the demo users.

"Now" is 2026-08-25 (a week before the 2026/27 school year) unless a test moves it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from adapters.storage.engine import create_engine_for
from adapters.storage.schema import full_metadata
from booking.access import Principal, Role
from booking.services import users
from vks.api.app import create_app
from vks.auth.passwords import Passwords
from vks.bootstrap import Container, build_container
from vks.demo import REGION_FILE
from vks.demo.users import create_demo_users
from vks.importing.loader import import_files
from vks.settings import Settings

BEFORE_YEAR = datetime(2026, 8, 25, 3, 0, tzinfo=UTC)
SECRET = "test-secret-key-for-the-api-of-the-rcc-kuzbass"
RCC = Principal("setup", Role.RCC_OPERATOR, "kuzbass", "kuzbass")


class FrozenClock:
    """The service's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


Snapshot = dict[str, list[dict[str, Any]]]


def _snapshot(engine: Engine) -> Snapshot:
    with engine.connect() as connection:
        return {
            table.name: [dict(row._mapping) for row in connection.execute(table.select())]
            for table in full_metadata().sorted_tables
        }


def _restore(engine: Engine, snapshot: Snapshot) -> None:
    """Put the snapshot's rows back — except the change counters, which only ever go up
    (the triggers bump them for these deletes and inserts): rewound, they would make a
    process's copy of a table kept at a later value of its counter look current."""
    tables = [t for t in full_metadata().sorted_tables if t.name != "change_counters"]
    with engine.begin() as connection:
        for table in reversed(tables):
            connection.execute(table.delete())
        for table in tables:
            if snapshot.get(table.name):
                connection.execute(table.insert(), snapshot[table.name])


@dataclass
class DemoDatabase:
    engine: Engine
    snapshot: Snapshot


@pytest.fixture(scope="module")
def demo_database(database_url: str) -> Iterator[DemoDatabase]:
    """The demo region and its users, loaded once per module (and database kind)."""
    engine = create_engine_for(database_url)
    container = build_container(
        Settings(database_url=database_url, secret_key=SECRET), engine=engine
    )
    import_files([REGION_FILE], container.uow_factory, now=BEFORE_YEAR, policy=container.policy)
    create_demo_users(container.uow_factory, RCC, Passwords())
    yield DemoDatabase(engine, _snapshot(engine))
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(BEFORE_YEAR)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key=SECRET,
        hold_sweep_seconds=0,
        public_url="https://vks.kuzbass.example.ru",
    )


@pytest.fixture
def container(demo_database: DemoDatabase, settings: Settings, clock: FrozenClock) -> Container:
    _restore(demo_database.engine, demo_database.snapshot)
    return build_container(settings, clock=clock, engine=demo_database.engine)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def token_for(container: Container) -> Callable[[str], str]:
    """A bearer token of a demo user (issued directly: argon2 is for the login tests)."""

    def issue(username: str) -> str:
        user = users.find_user(container.uow_factory(), username)
        assert user is not None, username
        principal = users.principal_of(container.uow_factory(), user)
        return container.tokens.issue(
            principal, now=container.clock.now(), ttl=container.token_ttl()
        ).value

    return issue


@pytest.fixture
def auth(token_for: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    """Authorization headers of a demo user: `auth("net20")`."""

    def headers(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(username)}"}

    return headers
