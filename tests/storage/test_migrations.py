"""The Alembic migrations build, from nothing, exactly the schema `tables.py` describes,
and move stored data between shapes without loss."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from adapters.storage.engine import create_engine_for
from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.schema import (
    current_revision,
    downgrade,
    full_metadata,
    head_revision,
    upgrade,
)
from adapters.storage.tables import EXCLUSION_CONSTRAINT
from adapters.storage.timetable_load import load_timetable
from adapters.storage.unit_of_work import SqlUnitOfWork, sql_uow_factory
from tests.storage.region import kuzbass, seed, weekly_timetable


def _not_ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """The exclusion constraint's GiST index is made by hand in the migration."""
    return not (type_ == "index" and name == EXCLUSION_CONSTRAINT)


def test_upgrade_from_empty_reaches_head(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None

    upgrade(empty_database_url)

    assert current_revision(empty_database_url) == head_revision()
    engine = create_engine_for(empty_database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(full_metadata().tables) <= tables


def test_migrated_schema_matches_the_table_definitions(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = create_engine_for(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _not_ours}
            )
            differences = compare_metadata(context, full_metadata())
    finally:
        engine.dispose()
    assert differences == []


def test_downgrade_to_nothing_and_up_again(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    downgrade(empty_database_url, "base")
    engine = create_engine_for(empty_database_url)
    try:
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()

    upgrade(empty_database_url)

    assert left == set()
    assert current_revision(empty_database_url) == head_revision()


def test_postgres_forbids_double_booking_in_the_schema(postgres_url: str) -> None:
    from tests.conftest import postgres_schema

    with postgres_schema(postgres_url) as url:
        upgrade(url)
        engine = create_engine_for(url)
        try:
            with engine.connect() as connection:
                definition = connection.execute(
                    text(
                        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
                        " JOIN pg_class t ON t.oid = c.conrelid"
                        " WHERE c.conname = :name AND t.relname = 'reservations'"
                        " AND t.relnamespace = current_schema()::regnamespace"
                    ),
                    {"name": EXCLUSION_CONSTRAINT},
                ).scalar()
        finally:
            engine.dispose()
    assert definition is not None
    assert "EXCLUDE USING gist" in definition
    assert "terminal_id WITH =" in definition and "WITH &&" in definition


def test_stored_bookings_survive_the_reservation_reshaping(empty_database_url: str) -> None:
    """Revision 0300 turns per-date reservation rows into one busy multirange per booking
    and terminal; going down to 0200 and up again loses no terminal, order or hold."""
    upgrade(empty_database_url)
    engine = create_engine_for(empty_database_url)
    factory = sql_uow_factory(engine)
    region = kuzbass()
    seed(factory, region)
    timetable = weekly_timetable(region, ["term-kem20-1", "term-kem41-1"], range(2, 4))
    with factory() as uow:
        load_timetable(uow, *timetable)
        uow.commit()
    cancelled, doubled = timetable[1][0].id, timetable[1][1].id
    with factory() as uow:
        occurrence = uow.occurrences.get(cancelled)
        assert occurrence is not None
        occurrence.cancelled, occurrence.version = True, occurrence.version + 1
        uow.occurrences.update(occurrence)
        uow.occurrences.release(occurrence.id)
        uow.commit()
    with factory() as uow:  # the automation's switch to a backup terminal
        SqlOccurrences(uow.connection).switch_terminal(doubled, "term-kem20-1", "term-kem20-2")
        uow.commit()
    before = _calendar(factory)
    engine.dispose()

    downgrade(empty_database_url, "0200")
    upgrade(empty_database_url)

    engine = create_engine_for(empty_database_url)
    try:
        after = _calendar(sql_uow_factory(engine))
    finally:
        engine.dispose()
    assert after == before
    occurrences, reservations = after
    assert len(occurrences) == len(timetable[1])
    assert cancelled not in {r.occurrence_id for r in reservations}
    assert ("term-kem20-2", doubled) in {(r.terminal_id, r.occurrence_id) for r in reservations}


def _calendar(factory: Callable[[], SqlUnitOfWork]) -> tuple[list[Any], list[Any]]:
    year = (datetime(2026, 8, 1, tzinfo=UTC), datetime(2027, 7, 1, tzinfo=UTC))
    terminals = ["term-kem20-1", "term-kem20-2", "term-kem41-1"]
    with factory() as uow:
        occurrences = list(uow.occurrences.between(*year))
        reservations = sorted(
            uow.occurrences.overlapping_reservations(terminals, *year),
            key=lambda r: (r.occurrence_id, r.terminal_id),
        )
    return occurrences, reservations


def test_occurrence_areas_filled_by_the_migration_match_those_written(
    empty_database_url: str,
) -> None:
    """Revision 0780 gives every stored occurrence the area its writes give it: the one
    municipality of its terminals, the region for the RCC's own, "" when they differ."""
    upgrade(empty_database_url)
    engine = create_engine_for(empty_database_url)
    factory = sql_uow_factory(engine)
    region = kuzbass()
    seed(factory, region)
    timetable = weekly_timetable(
        region, ["term-kem20-1", "term-insar1-1", "term-kuzbass-1"], range(2, 3)
    )
    with factory() as uow:
        load_timetable(uow, *timetable)
        uow.commit()
    shared = timetable[1][0].id
    with factory() as uow:  # a Kemerovo lesson that an Insar terminal joins
        occurrence = uow.occurrences.get(shared)
        assert occurrence is not None
        occurrence.terminal_ids = [*occurrence.terminal_ids, "term-insar1-1"]
        occurrence.version += 1
        uow.occurrences.update(occurrence)
        uow.commit()
    written = _areas(engine)
    engine.dispose()

    downgrade(empty_database_url, "0770")
    upgrade(empty_database_url)

    engine = create_engine_for(empty_database_url)
    try:
        filled = _areas(engine)
    finally:
        engine.dispose()
    assert filled == written
    assert written[shared] == ""
    assert set(written.values()) == {"kuzbass/kemerovo", "kuzbass/insar", "kuzbass", ""}


def _areas(engine: Any) -> dict[str, str]:
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT id, area FROM occurrences")).all())
