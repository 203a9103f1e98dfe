"""Before serving: is the database schema current? A SQLite file (the zero-set-up default)
is brought up to date on the spot; PostgreSQL is left to `vks db upgrade`, run once by
whoever deploys, and serving refuses a stale schema with that advice."""

from __future__ import annotations

from adapters.storage.engine import is_sqlite
from adapters.storage.schema import current_revision, head_revision, upgrade
from vks.settings import Settings


class SchemaOutdated(Exception):
    pass


def ensure_schema(settings: Settings) -> None:
    url = settings.effective_database_url
    if is_sqlite(url):
        upgrade(url)
        return
    current, head = current_revision(url), head_revision()
    if current != head:
        raise SchemaOutdated(
            f"the database schema is at {current or 'nothing'}, the code needs {head}:"
            " run `vks db upgrade`"
        )
