"""The API's periodic housekeeping (`vks.api.app.sweep`, run every `hold_sweep_seconds`):
expired tentative holds are released and expired idempotency keys are deleted, so the
key table does not grow with every POST a scheduler ever made."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adapters.storage.tables import idempotency_keys
from tests.api.conftest import DemoDatabase, FrozenClock
from tests.api.test_scheduler import lesson
from vks.api.app import sweep
from vks.bootstrap import Container

Auth = Callable[[str], dict[str, str]]


def stored_keys(demo_database: DemoDatabase) -> int:
    with demo_database.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(idempotency_keys)).scalar_one()
        )


def test_the_sweep_deletes_expired_idempotency_keys_and_releases_expired_holds(
    client: TestClient,
    auth: Auth,
    container: Container,
    clock: FrozenClock,
    demo_database: DemoDatabase,
) -> None:
    net20 = auth("net20")
    client.post("/api/v1/bookings", json=lesson(), headers={**net20, "Idempotency-Key": "k-1"})
    held = client.post(
        "/api/v1/bookings",
        params={"hold": "true"},
        json=lesson(number=4),
        headers={**net20, "Idempotency-Key": "k-2"},
    )
    assert stored_keys(demo_database) == 2

    clock.advance(hours=1)
    released, purged = sweep(container)
    assert released == [held.json()["booking"]["id"]]  # a hold lives 15 minutes
    assert purged == 0  # keys live 24 hours
    assert stored_keys(demo_database) == 2

    clock.advance(hours=24)
    released, purged = sweep(container)
    assert (released, purged) == ([], 2)
    assert stored_keys(demo_database) == 0
