"""Bad input over HTTP: every wrong request gets a 4xx problem with the reason, and
nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]

KEM_20 = {"school_id": "kem-school-20", "terminal_id": "term-kem-20"}


def lesson(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Физика, 10 класс",
        "host_school_id": "kem-school-20",
        "teacher": "Иванова Мария Петровна",
        "participants": [KEM_20],
        "date": "2026-09-15",
        "lesson_number": 3,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def instants(start: str, end: str) -> dict[str, Any]:
    return lesson(date=None, lesson_number=None, start=start, end=end)


def weekly(**weekly_changes: Any) -> dict[str, Any]:
    spec = {"weekdays": ["tue"], "lesson_number": 3, "starts_on": "2026-09-01",
            "ends_on": "2026-10-24"}  # fmt: skip
    spec.update(weekly_changes)
    return lesson(date=None, lesson_number=None, weekly=spec)


BAD_BOOKINGS = [
    pytest.param(
        instants("2026-09-15T10:00:00+07:00", "2026-09-15T09:00:00+07:00"),
        422, "end must be after start", id="end-before-start",
    ),
    pytest.param(
        instants("2026-09-15T10:00:00", "2026-09-15T11:00:00"),
        422, "must carry a time zone", id="naive-datetimes",
    ),
    pytest.param(lesson(lesson_number=12), 422, "has no lesson 12", id="unknown-lesson-number"),
    pytest.param(
        lesson(date="2027-07-01"), 422, "outside every academic year", id="date-outside-year"
    ),
    pytest.param(
        lesson(date="2026-11-04"), 422, "not a study day (public holiday)", id="public-holiday"
    ),
    pytest.param(
        lesson(host_school_id="kem-school-999"), 404, "kem-school-999", id="unknown-school"
    ),
    pytest.param(
        lesson(participants=[{"school_id": "kem-school-20", "terminal_id": "term-nope"}]),
        404, "term-nope", id="unknown-terminal",
    ),
    pytest.param(
        weekly(ends_on="2027-12-31"), 422, "more than the allowed 400", id="range-too-large"
    ),
    pytest.param(
        weekly(weekdays=["tue", "вт"]), 422, "overlap itself", id="series-overlapping-itself"
    ),
    pytest.param(
        lesson(participants=[{"school_id": "kem-school-92", "terminal_id": "term-kem-92-old"}],
               host_school_id="kem-school-92"),
        409, "retired", id="retired-terminal",
    ),
    pytest.param(
        lesson(participants=[{"school_id": "kem-school-12", "terminal_id": "term-kem-20"}]),
        422, "stands at kem-school-20", id="terminal-of-another-school",
    ),
    pytest.param(lesson(participants=[]), 422, "participants", id="no-participants"),
    pytest.param(lesson(weekly={"weekdays": ["tue"], "lesson_number": 3, "quarter": 1}), 422,
                 "say when exactly one way", id="two-ways-of-saying-when"),
    pytest.param(weekly(weekdays=["funday"]), 422, "unknown weekday", id="unknown-weekday"),
    pytest.param(lesson(colour="red"), 422, "colour", id="unknown-field"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "reason"), BAD_BOOKINGS)
def test_a_bad_booking_is_refused_with_the_reason_and_nothing_is_written(
    client: TestClient, auth: Auth, body: dict[str, Any], status: int, reason: str
) -> None:
    net20 = auth("net20") if body["host_school_id"] != "kem-school-92" else auth("kem-coord")

    answer = client.post("/api/v1/bookings", json=body, headers=net20)

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert reason in problem["detail"] or reason in str(problem.get("errors"))
    assert problem["status"] == status
    assert client.get("/api/v1/bookings", headers=auth("rcc")).json()["total"] == 0


def test_naive_datetimes_are_refused_by_name_with_the_reason(
    client: TestClient, auth: Auth
) -> None:
    answer = client.get(
        "/api/v1/bookings",
        params={"start": "2026-09-01T00:00:00", "end": "2026-09-30T00:00:00+07:00"},
        headers=auth("net20"),
    )

    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "start"
    assert "time zone" in error["reason"]


def test_a_booking_in_the_past_is_refused(client: TestClient, auth: Auth, clock: Any) -> None:
    clock.advance(days=30)  # 2026-09-24

    answer = client.post("/api/v1/bookings", json=lesson(), headers=auth("net20"))

    assert answer.status_code == 409
    assert answer.json()["code"] == "immutable_past"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"site_id": "kem-school-20", "from": "2026-09-01", "to": "2028-01-01"}, "more than"),
        ({"site_id": "kem-school-20", "from": "2026-09-10", "to": "2026-09-01"}, "ends before"),
        ({"from": "2026-09-01", "to": "2026-09-02"}, "give a site or a terminal"),
    ],
)
def test_availability_over_a_bad_range_is_refused(
    client: TestClient, auth: Auth, params: dict[str, str], reason: str
) -> None:
    answer = client.get("/api/v1/availability/lessons", params=params, headers=auth("net20"))

    assert answer.status_code == 422
    assert reason in answer.json()["detail"]


def test_unknown_ids_in_paths_are_404_problems(client: TestClient, auth: Auth) -> None:
    rcc = auth("rcc")
    for path in (
        "/api/v1/bookings/nope",
        "/api/v1/occurrences/nope",
        "/api/v1/terminals/nope",
        "/api/v1/organisations/nope",
        "/api/v1/no-such-route",
    ):
        answer = client.get(path, headers=rcc)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "not_found"
