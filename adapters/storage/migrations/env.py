"""Alembic environment. The URL (or an open connection) is handed over programmatically by
`adapters.storage.schema` — there is no alembic.ini to keep in sync with the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from adapters.storage.engine import create_engine_for, normalise_url
from adapters.storage.schema import full_metadata

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=full_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = create_engine_for(config.attributes["url"])
    try:
        with engine.begin() as connection:
            run_with(connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    context.configure(
        url=normalise_url(config.attributes["url"]),
        target_metadata=full_metadata(),
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
