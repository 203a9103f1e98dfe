"""Creating and upgrading the schema with Alembic (`vks db upgrade` calls `upgrade`).

The migration scripts live in `adapters/storage/migrations/`; the URL is passed in, so
the only configuration is the settings' `VKS_DATABASE_URL`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL

from adapters.storage.engine import create_engine_for
from adapters.storage.tables import metadata

MIGRATIONS = Path(__file__).with_name("migrations")

# Modules that add tables to the shared `metadata` besides `tables.py`.
TABLE_MODULES = (
    "adapters.storage.tables",
    "adapters.storage.automation",
    "adapters.storage.health",
    "adapters.storage.notifications",
    "adapters.storage.workflow",
    "adapters.storage.reports",
)


def full_metadata() -> MetaData:
    """The shared metadata with every table of every storage module registered."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return metadata


def alembic_config(url: str | URL | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if url is not None:
        config.attributes["url"] = url
    return config


def upgrade(url: str | URL | Engine, revision: str = "head") -> None:
    """Bring the database at `url` (or behind an engine) up to `revision` (default: latest)."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str | URL | Engine, revision: str) -> None:
    _run(url, lambda config: command.downgrade(config, revision))


def current_revision(url: str | URL | Engine) -> str | None:
    engine, owned = _engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _engine(url: str | URL | Engine) -> tuple[Engine, bool]:
    if isinstance(url, Engine):
        return url, False
    return create_engine_for(url), True


def _run(url: str | URL | Engine, action: Callable[[Config], None]) -> None:
    engine, owned = _engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(engine.url)
            config.attributes["connection"] = connection
            action(config)
    finally:
        if owned:
            engine.dispose()
