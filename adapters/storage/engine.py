"""One place that turns a database URL into a configured SQLAlchemy `Engine`.

SQLite (the default, a file in the data directory): WAL journal, foreign keys on, and
every unit of work opens with `BEGIN IMMEDIATE`, so writers are serialised by the
database file lock and "check for conflicts, then insert" is atomic. A unit of work that
only reads may ask for a deferred transaction (execution option `vks_read_only`).

PostgreSQL (psycopg 3): a connection pool, sessions in UTC; double booking is forbidden
by the schema itself (an exclusion constraint, see `tables.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError

from adapters.storage.bulk import discard_writes, flush_writes, writes_waiting

READ_ONLY = "vks_read_only"  # execution option: a unit of work that will not write
SQLITE_BUSY_TIMEOUT_S = 30.0
# page cache per connection (SQLite's default is 2 MB): a start-of-year import of 1.7 M
# occurrences then takes 43 s instead of 47–50 s here; memory is taken as pages are read
SQLITE_CACHE_KIB = 65536


SUPPORTED_DRIVERS = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}
"""The databases (and their Python drivers) the service runs on."""


class UnsupportedDatabase(ValueError):
    """A database URL that cannot be parsed, or names a database or driver the service
    does not run on; the message is one line, fit for an operator."""


def check_database_url(url: str | URL) -> URL:
    """The normalised URL, or `UnsupportedDatabase` saying what is wrong with it (its
    password never shown)."""
    try:
        parsed = normalise_url(url)
    except ArgumentError:
        raise UnsupportedDatabase(
            "the database URL cannot be parsed: expected sqlite:///PATH or"
            " postgresql://USER@HOST/DATABASE"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DRIVERS:
        raise UnsupportedDatabase(
            f"unsupported database {backend!r} in {shown}: use sqlite or postgresql"
        )
    driver = parsed.get_driver_name()
    if driver not in SUPPORTED_DRIVERS[backend]:
        raise UnsupportedDatabase(
            f"unsupported driver {driver!r} in {shown}: use {backend}:// or"
            f" {backend}+{SUPPORTED_DRIVERS[backend][0]}://"
        )
    return parsed


class CommitWatch:
    """Whether a database transaction committed while it was watched."""

    committed: bool = False


_watch: ContextVar[CommitWatch | None] = ContextVar("vks_commit_watch", default=None)


@contextmanager
def watch_commits() -> Iterator[CommitWatch]:
    """Note every commit of our engines in this context (and in the threads and tasks it
    starts, which copy it): the API asks whether a failed request already saved work."""
    watch = CommitWatch()
    token = _watch.set(watch)
    try:
        yield watch
    finally:
        _watch.reset(token)


def _note_commit(_connection: Connection) -> None:
    watch = _watch.get()
    if watch is not None:
        watch.committed = True


def normalise_url(url: str | URL) -> URL:
    """`postgresql://` and `postgres://` mean psycopg 3 here; everything else is kept."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return normalise_url(url).get_backend_name() == "sqlite"


def create_engine_for(url: str | URL, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """An engine for `url` with our defaults for SQLite or PostgreSQL
    (`UnsupportedDatabase` for anything else)."""
    parsed = check_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, echo=echo)
    else:
        engine = _postgres_engine(parsed, echo=echo, pool_size=pool_size)
    event.listen(engine, "commit", _note_commit)
    return engine


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    return engine


def _postgres_engine(url: URL, *, echo: bool, pool_size: int) -> Engine:
    options = url.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    if "timezone" not in options.lower():
        options = f"{options} -c timezone=UTC".strip()
    url = url.update_query_dict({"options": options})
    # No pre-ping: it would cost a round trip per unit of work. A connection found dead
    # fails that one request, and SQLAlchemy then replaces the pool's connections.
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_recycle=1800,
        connect_args={"keepalives": 1, "keepalives_idle": 60},
    )

    @event.listens_for(engine, "before_cursor_execute")
    def _deferred_first(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        # writes a unit of work deferred (bulk.defer_writes) go before the statement that
        # may depend on them; a rollback to a savepoint drops them instead
        if writes_waiting(connection):
            if statement.lstrip().upper().startswith("ROLLBACK"):
                discard_writes(connection)
            else:
                flush_writes(connection)

    return engine
