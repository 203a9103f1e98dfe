"""Fixtures every test may use: the PostgreSQL and Redis services, and databases.

Service URLs come from `VKS_TEST_DATABASE_URL` and `VKS_TEST_REDIS_URL`. When a server does
not answer, a throw-away container is started if a Docker engine is present; otherwise the
tests that need it are skipped with the reason — except under `CI=true`, where a missing
service fails the run.

`database_url` is a migrated, empty database, once on SQLite (a file) and once on
PostgreSQL (a schema of its own per test module, dropped afterwards), so every storage
test runs on both; `uow_factory` empties it before each test.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from adapters.storage.engine import create_engine_for, normalise_url
from adapters.storage.reference_cache import COUNTER_NAMES
from adapters.storage.schema import full_metadata, upgrade
from adapters.storage.tables import change_counters, time_bounds
from adapters.storage.unit_of_work import SqlUnitOfWork, sql_uow_factory

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(service: str, why: str) -> None:
    message = f"{service} is not available ({why}); set VKS_TEST_{service.upper()}_URL"
    if _in_ci():
        pytest.fail(f"{message} — required under CI=true", pytrace=False)
    pytest.skip(message)


def _docker_engine() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def _postgres_answers(url: str) -> str | None:
    """None if the server at `url` accepts a connection, else why not."""
    import psycopg

    conninfo = normalise_url(url).set(drivername="postgresql").render_as_string(False)
    try:
        psycopg.connect(conninfo, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _redis_answers(url: str) -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server URL (SQLAlchemy form, psycopg 3) the tests may create schemas in."""
    url = os.environ.get("VKS_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    why = _postgres_answers(url)
    if why is None:
        yield normalise_url(url).render_as_string(False)
        return
    if not _docker_engine():
        _unavailable("database", f"{url}: {why}; no Docker engine for a container")
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
        yield container.get_connection_url()


def per_worker(redis_url: str) -> str:
    """Under pytest-xdist each worker gets its own Redis database (the given one for gw0,
    the next lower numbers for the others), so that one worker's RQ queues and flushes never
    meet another's; a plain run keeps the given database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker.removeprefix("gw") or 0)
    if offset == 0:
        return redis_url
    url = make_url(redis_url.replace("redis://", "redis+x://", 1))
    database = int(url.database or 0) - offset
    if database < 0:
        raise RuntimeError(f"no Redis database left for worker {worker} below {redis_url}")
    return redis_url.rsplit("/", 1)[0] + f"/{database}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = per_worker(os.environ.get("VKS_TEST_REDIS_URL", DEFAULT_REDIS_URL))
    why = _redis_answers(url)
    if why is None:
        yield url
        return
    if not _docker_engine():
        _unavailable("redis", f"{url}: {why}; no Docker engine for a container")
    from testcontainers.redis import RedisContainer

    with RedisContainer("redis:7-alpine") as container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
        yield f"redis://{host}:{port}/15"


# --- databases ---------------------------------------------------------------------------------
@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A new, empty schema on the server; yields a URL whose connections use it only."""
    name = f"vks_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(server_url)
    try:
        with admin.begin() as connection:
            # btree_gist once per database, in `public`, so no test schema owns it
            connection.execute(text("SELECT pg_advisory_xact_lock(7117)"))
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name},public"})
        yield url.render_as_string(False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def sqlite_file_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'vks.sqlite'}"


@contextmanager
def empty_database(kind: str, tmp: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if kind == "sqlite":
        yield sqlite_file_url(tmp)
    else:
        with postgres_schema(request.getfixturevalue("postgres_url")) as url:
            yield url


DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=DATABASES)
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database with no tables at all (migration tests)."""
    with empty_database(request.param, tmp_path_factory.mktemp("db"), request) as url:
        yield url


@pytest.fixture(scope="module", params=DATABASES)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database, shared by the tests of one module (see `uow_factory`)."""
    with empty_database(request.param, tmp_path_factory.mktemp("db"), request) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine_for(database_url)
    yield engine
    engine.dispose()


def empty_tables(engine: Engine) -> None:
    """Delete every row (the schema and its migration version stay)."""
    with engine.begin() as connection:
        tables = full_metadata().sorted_tables
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())
        connection.execute(time_bounds.insert(), [{"name": "occurrences", "max_seconds": 0}])
        # fresh counter values: no process's copy of an emptied table can match them
        connection.execute(
            change_counters.insert(),
            [{"name": name, "value": secrets.randbits(62)} for name in COUNTER_NAMES],
        )


@pytest.fixture
def uow_factory(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    """Makes units of work on an emptied database (SQLite and PostgreSQL)."""
    empty_tables(engine)
    return sql_uow_factory(engine)


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Tests that take a PostgreSQL URL carry the `postgres` mark (`-m "not postgres"`)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "postgres_url" in fixtures and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)
