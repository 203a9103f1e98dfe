"""The Alembic migrations build, from nothing, exactly the schema `tables.py` describes."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from adapters.storage.engine import create_engine_for
from adapters.storage.schema import (
    current_revision,
    downgrade,
    full_metadata,
    head_revision,
    upgrade,
)
from adapters.storage.tables import EXCLUSION_CONSTRAINT


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
