"""The region's terminal inventory kept per process is never stale: the database counts
every change to terminals and organisations, whoever makes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Engine, text

from adapters.storage.engine import create_engine_for
from adapters.storage.unit_of_work import SqlUnitOfWork, sql_uow_factory
from tests.storage.region import Region

UowFactory = Callable[[], SqlUnitOfWork]


def inventory(factory: UowFactory) -> list[str]:
    with factory() as uow:
        return [t.id for t in uow.terminals.in_subtree("kuzbass")]


def test_a_terminal_retired_by_another_process_leaves_the_inventory(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    before = inventory(uow_factory)
    other = create_engine_for(engine.url)  # another process: its own engine and pool
    try:
        with sql_uow_factory(other)() as uow:
            terminal = uow.terminals.get("term-kem20-1")
            assert terminal is not None
            uow.terminals.update(replace(terminal, active=False, version=terminal.version + 1))
            uow.commit()
    finally:
        other.dispose()

    after = inventory(uow_factory)

    assert "term-kem20-1" in before and "term-kem20-1" not in after
    assert set(after) == set(before) - {"term-kem20-1"}


def test_a_change_made_in_plain_sql_is_seen_too(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    inventory(uow_factory)  # kept now
    with engine.begin() as connection:
        connection.execute(text("UPDATE terminals SET active = false WHERE id = 'term-kem41-1'"))

    assert "term-kem41-1" not in inventory(uow_factory)


def retire(uow: SqlUnitOfWork, terminal_id: str) -> None:
    terminal = uow.terminals.get(terminal_id)
    assert terminal is not None
    uow.terminals.update(replace(terminal, active=False, version=terminal.version + 1))


def test_an_uncommitted_change_is_seen_by_its_unit_of_work_only_and_never_kept(
    uow_factory: UowFactory, region: Region
) -> None:
    inventory(uow_factory)
    with uow_factory() as uow:
        retire(uow, "term-kem20-1")
        inside = [t.id for t in uow.terminals.in_subtree("kuzbass")]
        # left without commit: rolled back, and the counter with it
    with uow_factory() as uow:  # another change takes the counter to the same value
        retire(uow, "term-kem41-1")
        uow.commit()

    after = inventory(uow_factory)

    assert "term-kem20-1" not in inside
    assert "term-kem20-1" in after and "term-kem41-1" not in after
