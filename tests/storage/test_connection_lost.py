"""A database connection the server cut (a restart, an administrator's
`pg_terminate_backend`) is `ServiceUnavailable` with the reason — the API answers 503 —
and the next unit of work gets a fresh connection: no restart of the process needed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from adapters.storage.engine import create_engine_for
from adapters.storage.errors import domain_errors
from booking.errors import ServiceUnavailable
from tests.automation.conftest import database_on

database_url = database_on("postgres", "only a server can cut a connection")


def test_a_cut_connection_is_unavailable_then_the_pool_reconnects(database_url: str) -> None:
    engine = create_engine_for(database_url, pool_size=1)
    admin = create_engine_for(database_url)
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with admin.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})

    with (
        pytest.raises(ServiceUnavailable, match="database connection was lost") as lost,
        domain_errors(),
        engine.connect() as connection,
    ):
        connection.execute(text("SELECT 1"))
    with engine.connect() as connection:
        again = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    assert lost.value.details == {"dependency": "database"}
    assert again != backend
    engine.dispose()
    admin.dispose()
