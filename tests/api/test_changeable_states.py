"""Changing a lesson after its pre-flight check, over HTTP: a lesson in `checking` (the
check ran 30 minutes before) is still its coordinator's to cancel, move or give another
teacher; a lesson that is live is not (409 `immutable_past`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from booking.bookings import OccurrenceState
from tests.api.conftest import FrozenClock
from vks.bootstrap import Container

Auth = Callable[[str], dict[str, str]]
S = OccurrenceState

PHYSICS = {
    "title": "Физика, 10 класс",
    "host_school_id": "kem-school-20",
    "teacher": "Иванова Мария Петровна",
    "participants": [{"school_id": "kem-school-20", "terminal_id": "term-kem-20"}],
    "date": "2026-09-15",
    "lesson_number": 3,
    "setup_minutes": 10,
}
CHANGES: dict[str, tuple[str, dict[str, Any]]] = {
    "cancel": ("cancel", {"reason": "карантин"}),
    "move": ("move", {"lesson_number": 5}),
    "substitute": ("substitute", {"teacher": "Орлова Нина Петровна"}),
}


def lesson_in(
    state: OccurrenceState, client: TestClient, container: Container, clock: FrozenClock, auth: Auth
) -> str:
    """Book the lesson, let the automation put it in `state`, and move the clock to 20
    minutes before its start (after the pre-flight, before the set-up)."""
    booked = client.post("/api/v1/bookings", json=PHYSICS, headers=auth("net20"))
    assert booked.status_code == 201, booked.text
    [occurrence] = booked.json()["occurrences"]
    with container.uow_factory() as uow:
        stored = uow.occurrences.get(occurrence["id"])
        assert stored is not None
        stored.state = state
        stored.version += 1
        uow.occurrences.update(stored)
        uow.commit()
    clock.at = datetime.fromisoformat(occurrence["start"]) - timedelta(minutes=20)
    return str(occurrence["id"])


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("state", [S.SCHEDULED, S.CHECKING], ids=str)
def test_a_checked_lesson_is_still_changed_by_its_coordinator(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    auth: Auth,
    state: OccurrenceState,
    change: str,
) -> None:
    occurrence_id = lesson_in(state, client, container, clock, auth)
    path, body = CHANGES[change]

    answer = client.post(
        f"/api/v1/occurrences/{occurrence_id}/{path}", json=body, headers=auth("net20")
    )

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("state", [S.PREPARING, S.LIVE, S.FAILED], ids=str)
def test_a_started_lesson_is_on_record(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    auth: Auth,
    state: OccurrenceState,
    change: str,
) -> None:
    occurrence_id = lesson_in(state, client, container, clock, auth)
    path, body = CHANGES[change]

    answer = client.post(
        f"/api/v1/occurrences/{occurrence_id}/{path}", json=body, headers=auth("net20")
    )
    after = client.get(f"/api/v1/occurrences/{occurrence_id}", headers=auth("net20")).json()

    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "immutable_past"
    assert after["state"] == str(state)
