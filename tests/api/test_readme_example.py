"""The README's booking example ("API overview": net20 books a weekly physics lesson,
Tuesday lesson 3 of quarter 3, with term-kem-20 and term-ins-mp) works as written on the
demo's data — the demo region and its timetable — and a second try gets the replay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from vks.bootstrap import Container
from vks.demo import TIMETABLE_FILE
from vks.importing.loader import import_files

README_EXAMPLE: dict[str, Any] = {
    "title": "Физика, 10 класс",
    "host_school_id": "kem-school-20",
    "teacher": "Иванова Мария Петровна",
    "participants": [
        {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
        {"school_id": "ins-school-mp", "terminal_id": "term-ins-mp"},
    ],
    "weekly": {"weekdays": ["tue"], "lesson_number": 3, "quarter": 3},
}


def test_the_readme_booking_example_succeeds_on_the_demo_data_and_replays(
    client: TestClient, container: Container, auth: Callable[[str], dict[str, str]]
) -> None:
    import_files([TIMETABLE_FILE], container.uow_factory, now=container.clock.now(),
                 policy=container.policy)  # fmt: skip
    headers = {**auth("net20"), "Idempotency-Key": "phys-10-q3"}

    first = client.post("/api/v1/bookings", json=README_EXAMPLE, headers=headers)
    second = client.post("/api/v1/bookings", json=README_EXAMPLE, headers=headers)

    assert first.status_code == 201, first.text
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
