"""Engine defaults: SQLite in WAL with foreign keys and serialised writers; PostgreSQL
through psycopg 3 with sessions in UTC."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.storage.engine import create_engine_for, normalise_url
from adapters.storage.schema import upgrade
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.organisations import Organisation, OrgKind


def test_a_plain_postgresql_url_means_psycopg_3() -> None:
    assert normalise_url("postgresql://vks@db/vks").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///data/vks.sqlite").drivername == "sqlite"


def test_an_unknown_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        create_engine_for("mysql://vks@db/vks")


def test_sqlite_runs_in_wal_with_foreign_keys_a_64_mib_cache_and_makes_its_folder(
    tmp_path: Path,
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'data' / 'vks.sqlite'}")
    try:
        with engine.connect() as connection:
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    finally:
        engine.dispose()
    assert (journal, foreign_keys, cache) == ("wal", 1, -65536)
    assert (tmp_path / "data").is_dir()


def _region() -> Organisation:
    return Organisation("kuzbass", OrgKind.REGION, "Кузбасс", None, "kuzbass", "Asia/Novokuznetsk")


@pytest.mark.timeout(30)
def test_sqlite_writers_wait_for_each_other_but_readers_do_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vks.sqlite'}"
    upgrade(url)
    engine = create_engine_for(url)
    second_done = threading.Event()
    seen_by_reader: list[int] = []

    def second_writer() -> None:
        with SqlUnitOfWork(engine) as uow:
            uow.organisations.get("kuzbass")  # BEGIN IMMEDIATE: waits for the first writer
            second_done.set()

    try:
        with SqlUnitOfWork(engine) as first:
            first.organisations.add(_region())
            writer = threading.Thread(target=second_writer)
            writer.start()
            with SqlUnitOfWork(engine, read_only=True) as reader:
                seen_by_reader.append(len(reader.organisations.list()))
            time.sleep(0.3)
            waited = not second_done.is_set()
            first.commit()
        writer.join(10)
    finally:
        engine.dispose()
    assert waited and second_done.is_set()
    assert seen_by_reader == [0]  # the reader ran meanwhile and saw the committed state


def test_postgres_sessions_are_in_utc(postgres_url: str) -> None:
    engine = create_engine_for(postgres_url)
    try:
        with engine.connect() as connection:
            zone = connection.execute(text("SHOW timezone")).scalar()
    finally:
        engine.dispose()
    assert zone == "UTC"
