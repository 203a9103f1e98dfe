"""A create plans on this process's copies of the reference data as last seen and checks
them with its rules' reads (ADR 0023): on PostgreSQL it waits for the database twice —
BEGIN, the change counters and the rules' reads together, then the writes and COMMIT —
and a copy changed by another process meanwhile is still seen: the create plans again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

import adapters.storage.occurrences as occurrences_module
import adapters.storage.reference_cache as reference_cache
import adapters.storage.unit_of_work as unit_of_work
from adapters.storage.engine import create_engine_for
from adapters.storage.unit_of_work import SqlUnitOfWork, sql_uow_factory
from booking.errors import InvalidInput, ResourceInactive
from booking.schoolyear import Closure
from booking.services.bookings import create_booking
from tests.storage.region import Region
from tests.storage.test_race_losers import NOW, lesson, network_admin

UowFactory = Callable[[], SqlUnitOfWork]


def on_september(day: int, terminal: str = "term-kem20-1") -> Any:
    request = lesson("Физика", terminal)
    request.on_date = date(2026, 9, day)
    return request


class Waits:
    """What a unit of work sent: pipelines, the counters with a BEGIN, single statements."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.read_together = self.commits = self.begin_reading = self.statements = 0


@pytest.fixture
def waits(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Waits]:
    counted = Waits()
    read_together, commit_with_writes = (
        occurrences_module.read_together,
        unit_of_work.commit_with_writes,
    )
    begin_reading = reference_cache.begin_reading

    def reads(*args: Any) -> Any:
        counted.read_together += 1
        return read_together(*args)

    def commits(*args: Any) -> Any:
        done = commit_with_writes(*args)
        counted.commits += done
        return done

    def begins(*args: Any) -> Any:
        counted.begin_reading += 1
        return begin_reading(*args)

    def statement(*_: Any) -> None:
        counted.statements += 1

    monkeypatch.setattr(occurrences_module, "read_together", reads)
    monkeypatch.setattr(unit_of_work, "commit_with_writes", commits)
    monkeypatch.setattr(reference_cache, "begin_reading", begins)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", statement)


def test_a_create_waits_for_the_database_twice(
    engine: Engine, uow_factory: UowFactory, region: Region, waits: Waits
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: no round trips")
    create_booking(uow_factory(), network_admin, on_september(8), now=NOW)  # widens the span
    create_booking(uow_factory(), network_admin, on_september(10), now=NOW)  # sees it
    waits.clear()

    result = create_booking(uow_factory(), network_admin, on_september(15), now=NOW)

    assert result.written
    assert (waits.read_together, waits.commits) == (1, 1)  # the rules' reads; the writes
    assert (waits.begin_reading, waits.statements) == (0, 0)  # nothing else on its own


def test_a_create_after_a_change_of_its_copies_plans_again_and_is_written(
    engine: Engine, uow_factory: UowFactory, region: Region, waits: Waits
) -> None:
    """The first booking of lessons this long widens the longest stored span (a counted
    table): the next create assumed the counters from before it, finds them changed with
    its rules' reads, plans again in the same transaction and is written."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: the counters are read first")
    create_booking(uow_factory(), network_admin, on_september(8), now=NOW)
    waits.clear()

    result = create_booking(uow_factory(), network_admin, on_september(15), now=NOW)

    assert result.written and waits.read_together == 2 and waits.commits == 1
    with uow_factory() as uow:
        assert [o.local_date for o in uow.occurrences.of_booking(result.booking.id)] == [
            date(2026, 9, 15)
        ]


def test_a_calendar_changed_by_another_process_meanwhile_is_seen_by_the_next_create(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    create_booking(uow_factory(), network_admin, on_september(8), now=NOW)  # copies kept
    other = create_engine_for(engine.url)  # another process: its own engine and pool
    try:
        with sql_uow_factory(other)() as uow:
            uow.closures.add(Closure("cl-flood", "kemerovo", date(2026, 9, 15),
                                     date(2026, 9, 15), "Паводок"))  # fmt: skip
            uow.commit()
    finally:
        other.dispose()

    with pytest.raises(InvalidInput):
        create_booking(uow_factory(), network_admin, on_september(15), now=NOW)
    with uow_factory() as uow:
        stored = uow.occurrences.between(
            datetime(2026, 9, 15, tzinfo=UTC), datetime(2026, 9, 16, tzinfo=UTC)
        )
    assert stored == []


def test_a_terminal_retired_by_another_process_meanwhile_is_not_booked(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    """The plan on the copy as last seen passes every rule; its reads find the inventory
    changed, and the create planned again refuses the retired terminal."""
    create_booking(uow_factory(), network_admin, on_september(8, "term-kem20-2"), now=NOW)
    other = create_engine_for(engine.url)
    try:
        with sql_uow_factory(other)() as uow:
            terminal = uow.terminals.get("term-kem20-1")
            assert terminal is not None
            terminal.active, terminal.version = False, terminal.version + 1
            uow.terminals.update(terminal)
            uow.commit()
    finally:
        other.dispose()

    with pytest.raises(ResourceInactive) as refused:
        create_booking(uow_factory(), network_admin, on_september(15), now=NOW)

    assert "term-kem20-1" in str(refused.value)


def test_a_unit_of_work_left_without_commit_keeps_the_statements_prepared(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    """psycopg's own rollback forgets (and deallocates) every prepared statement of the
    connection: after each refusal or read-only unit of work, a create's statements would
    be parsed and planned afresh. A unit of work rolls back below it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements")
    with uow_factory() as uow:
        driver: Any = uow.connection.connection.driver_connection
        driver.execute("SELECT %s::int", [1], prepare=True)
        before = uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        # left without commit: rolled back

    with uow_factory() as uow:
        after = uow.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        prepared = uow.connection.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql"
        ).scalar_one()

    assert before == after  # (the pool's one connection)
    assert prepared >= 1
