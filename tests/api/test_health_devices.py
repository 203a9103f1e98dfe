"""Readiness names the devices the service cannot use as configured, as one summary entry
(`devices`), and stays 200: one conference server whose secret is not set and one terminal
refusing our password do not make the service unavailable (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from adapters.storage.tables import conference_servers
from booking.health import DeviceKind, HealthState, Transition
from booking.health_records import TransitionWrite
from vks.bootstrap import Container, health_store

UNSET = "VKS_TEST_BBB1_SECRET_NEVER_SET"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)


def test_health_names_an_unset_server_secret_and_a_refused_password_and_stays_200(
    container: Container, client: TestClient
) -> None:
    assert container.engine is not None
    with container.engine.begin() as connection:
        connection.execute(
            update(conference_servers)
            .where(conference_servers.c.id == "bbb-1")
            .values(secret_ref=f"env:{UNSET}")
        )
    refused = Transition(
        HealthState.UNKNOWN, HealthState.DOWN, datetime.now(UTC), "credentials refused"
    )
    health_store(container.engine).record(
        [TransitionWrite(DeviceKind.TERMINAL, "term-kem-20", refused)]
    )

    ready = client.get("/api/v1/health")

    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded"
    devices = body["dependencies"]["devices"]
    assert devices["status"] == "misconfigured"
    assert devices["detail"].startswith("2 devices unusable as configured: ")
    assert f"server bbb-1 (secret {UNSET} not set)" in devices["detail"]
    assert "terminal term-kem-20 (credentials refused)" in devices["detail"]
    assert body["dependencies"]["database"]["status"] == "ok"


def test_with_every_secret_set_the_devices_entry_is_ok(client: TestClient) -> None:
    ready = client.get("/api/v1/health")

    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    devices = ready.json()["dependencies"]["devices"]
    assert devices["status"] == "ok"
    assert devices["detail"].endswith(" devices")
