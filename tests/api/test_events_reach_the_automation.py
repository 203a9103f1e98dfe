"""Whatever entry point changes a booking — an API route, the hold sweep, `vks import` —
the automation hears of it once the change is committed, without the entry point calling
it: the unit of work publishes the change's events on the container's bus, whose handlers
tell the subscribed listeners (`vks.bootstrap`). Here a fake automation listens."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import FrozenClock
from tests.api.test_booking_flow import weekly_informatics
from tests.api.test_scheduler import lesson
from tests.cli.test_cli import CHEMISTRY, HEADER, PHYSICS
from vks.api.app import sweep
from vks.bootstrap import Container
from vks.importing.loader import import_files

Auth = Callable[[str], dict[str, str]]


class FakeAutomation:
    """A booking listener like `RunningAutomation`: notes what it was told to re-plan."""

    def __init__(self, container: Container) -> None:
        self.bookings: list[str] = []
        self.occurrences: list[str] = []
        container.listeners.append(self)

    def bookings_changed(
        self, booking_ids: Iterable[str], *, span: tuple[datetime, datetime] | None = None
    ) -> object:
        self.bookings += booking_ids
        return None

    def occurrences_changed(self, occurrence_ids: Iterable[str]) -> object:
        self.occurrences += occurrence_ids
        return None


@pytest.fixture
def automation(container: Container) -> FakeAutomation:
    return FakeAutomation(container)


def test_api_create_edit_and_cancel_reach_the_automation(
    client: TestClient, auth: Auth, automation: FakeAutomation
) -> None:
    net20 = auth("net20")

    created = client.post("/api/v1/bookings", json=weekly_informatics(), headers=net20)
    booking_id = created.json()["booking"]["id"]
    assert automation.bookings == [booking_id]

    edited = client.put(
        f"/api/v1/bookings/{booking_id}",
        json=weekly_informatics(title="Информатика, 9 класс (профиль)"),
        headers={**net20, "If-Match": created.headers["ETag"]},
    )
    assert edited.status_code == 200, edited.text
    assert automation.bookings == [booking_id] * 2
    assert len(automation.occurrences) == 8  # its eight Tuesdays of the first quarter, re-planned

    cancelled = client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=net20)
    assert cancelled.status_code == 200, cancelled.text
    assert automation.bookings == [booking_id] * 3
    assert automation.occurrences[8:] == automation.occurrences[:8]  # and now cancelled


def test_a_single_date_change_reaches_the_automation(
    client: TestClient, auth: Auth, automation: FakeAutomation
) -> None:
    net20 = auth("net20")
    created = client.post("/api/v1/bookings", json=lesson(), headers=net20).json()
    occurrence_id = created["occurrences"][0]["id"]

    moved = client.post(
        f"/api/v1/occurrences/{occurrence_id}/move", json={"lesson_number": 5}, headers=net20
    )

    assert moved.status_code == 200, moved.text
    assert automation.occurrences == [occurrence_id]


def test_a_refused_request_reaches_nothing(
    client: TestClient, auth: Auth, automation: FakeAutomation
) -> None:
    net20 = auth("net20")
    client.post("/api/v1/bookings", json=lesson(), headers=net20)
    automation.bookings.clear()

    refused = client.post("/api/v1/bookings", json=lesson(), headers=net20)

    assert refused.status_code == 409
    assert automation.bookings == []


def test_the_hold_sweep_reaches_the_automation(
    client: TestClient,
    auth: Auth,
    container: Container,
    clock: FrozenClock,
    automation: FakeAutomation,
) -> None:
    held = client.post(
        "/api/v1/bookings", params={"hold": "true"}, json=lesson(), headers=auth("net20")
    ).json()["booking"]["id"]
    automation.bookings.clear()
    clock.advance(hours=1)

    released, _ = sweep(container)

    assert released == [held]
    assert automation.bookings == [held]


def test_an_import_reaches_the_automation_once_for_its_timetable(
    container: Container, automation: FakeAutomation, tmp_path: Path
) -> None:
    timetable = tmp_path / "timetable.csv"
    timetable.write_text(HEADER + PHYSICS + CHEMISTRY, encoding="utf-8")

    report = import_files(
        [timetable], container.uow_factory, now=container.clock.now(), policy=container.policy
    )

    assert not report.errors
    assert len(automation.bookings) == 2  # both, told in one call for the whole batch
    with container.uow_factory() as uow:
        stored = {uow.bookings.get(i).external_ref for i in automation.bookings}  # type: ignore[union-attr]
    assert stored == {"phys-10", "chem-11"}
