"""A POST whose answer fails after the service committed (building a header, serialising
the result) must not make its retry run the work again — that would answer 409 "already
exists" for the caller's own terminal: the key keeps the 500 and a retry replays it. A
failure before anything was saved keeps the old rule: the retry runs afresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from booking.services import inventory
from tests.api.test_idempotency_lease import TERMINAL

Auth = Callable[[str], dict[str, str]]


def _broken(*_: Any, **__: Any) -> None:
    raise RuntimeError("the answer could not be built")


def test_a_retry_after_a_failure_past_the_commit_replays_it_instead_of_a_409(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vks.api.routes.terminals.set_location", _broken)
    headers = {**auth("rcc"), "Idempotency-Key": "add-hall-terminal"}

    first = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)
    retry = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)
    saved = client.get(f"/api/v1/terminals/{TERMINAL['id']}", headers=headers)

    assert first.status_code == 500
    assert retry.status_code == 500
    assert retry.headers["idempotent-replayed"] == "true"
    assert "Do not repeat it" in retry.json()["detail"]
    assert saved.status_code == 200


def test_a_failure_before_anything_was_saved_lets_the_retry_run(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**auth("rcc"), "Idempotency-Key": "add-hall-terminal"}
    with monkeypatch.context() as patched:
        patched.setattr(inventory, "add_terminal", _broken)
        first = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)

    retry = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)

    assert first.status_code == 500
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
