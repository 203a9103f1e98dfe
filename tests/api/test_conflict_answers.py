"""A refused booking speaks as people do: the lesson that holds the terminal (title,
teacher), its lesson number and local time at the school concerned; for a weekly series,
the lesson numbers free on every one of its dates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_scheduler import lesson, weekly_item

Auth = Callable[[str], dict[str, str]]


def weekly(number: int, title: str = "Физика, 10 класс") -> dict[str, Any]:
    body = weekly_item("x", "tue", number, title=title)
    body.pop("external_ref")
    body["participants"] = body["participants"][:1]  # term-kem-20 only
    return body


def test_a_conflict_names_the_lesson_its_number_and_local_time(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    taken = client.post("/api/v1/bookings", json=lesson(title="Информатика, 9 класс",
                        teacher="Соколова Елена Викторовна"), headers=net20)  # fmt: skip
    assert taken.status_code == 201

    refused = client.post("/api/v1/bookings", json=lesson(), headers=net20)

    assert refused.status_code == 409
    message = refused.json()["conflicts"][0]["message"]
    assert "«Информатика, 9 класс» (Соколова Елена Викторовна)" in message
    assert "lesson 3" in message
    assert "09:45–10:25 Asia/Novokuznetsk" in message  # the school's own clock
    assert "2026-09-15" in message
    assert taken.json()["booking"]["id"] in message  # still there for machines


def test_a_weekly_series_is_told_the_lesson_numbers_free_on_every_date(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    assert client.post("/api/v1/bookings", json=weekly(3), headers=net20).status_code == 201
    late = lesson(on="2026-10-20", number=5, title="Химия, 11 класс")  # the 8th Tuesday only
    assert client.post("/api/v1/bookings", json=late, headers=net20).status_code == 201

    refused = client.post("/api/v1/bookings", json=weekly(3, "Алгебра, 9 класс"), headers=net20)

    assert refused.status_code == 409
    every = [a for a in refused.json()["alternatives"] if a["kind"] == "every_date_lesson"]
    numbers = {a["lesson_number"] for a in every}
    assert numbers, refused.json()["alternatives"]
    assert 3 not in numbers and 5 not in numbers  # 5 is taken on 2026-10-20
    assert {2, 4} <= numbers
    assert all(a["local_date"] is None for a in every)
    accepted = client.post("/api/v1/bookings", json=weekly(min(numbers), "Алгебра, 9 класс"),
                           headers=net20)  # fmt: skip
    assert accepted.status_code == 201, accepted.text
