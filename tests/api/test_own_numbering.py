"""A school's calendar feed numbers each lesson by that school's own bells: the Mordovian
partner's feed shows the host's 7th lesson (13:10 in Kemerovo) as its own 2nd (09:10
Moscow), the host's feed as the 7th."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from icalendar import Calendar

Auth = Callable[[str], dict[str, str]]


def summaries(feed: bytes) -> list[str]:
    return [str(e["summary"]) for e in Calendar.from_ical(feed).walk("VEVENT")]


def test_each_schools_feed_uses_its_own_lesson_numbers(client: TestClient, auth: Auth) -> None:
    net20 = auth("net20")
    body: dict[str, Any] = {
        "title": "Физика, 9 класс",
        "kind": "full_broadcast",
        "host_school_id": "kem-school-20",
        "teacher": "Соколова Елена Викторовна",
        "participants": [
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
            {"school_id": "ins-school-mp", "terminal_id": "term-ins-mp", "class_name": "9"},
        ],
        "date": "2026-09-08",
        "lesson_number": 7,
    }
    created = client.post("/api/v1/bookings", json=body, headers=net20)
    assert created.status_code == 201, created.text

    week = {"from": "2026-09-07", "to": "2026-09-13"}
    partner = client.get("/api/v1/calendars/schools/ins-school-mp.ics", params=week, headers=net20)
    host = client.get("/api/v1/calendars/schools/kem-school-20.ics", params=week, headers=net20)

    assert summaries(partner.content) == ["Физика, 9 класс (2-й урок)"]
    assert summaries(host.content) == ["Физика, 9 класс (7-й урок)"]
