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


# --- input only PostgreSQL refused, oversized text, offsets, out-of-range values (issue 12) ---
KEM_20_CLASS = {"school_id": "kem-school-20", "terminal_id": "term-kem-20", "class_name": "10А"}

REFUSED_AT_THE_EDGE = [
    pytest.param(lesson(subject="Физика " * 150_000), "subject", id="1-MB-subject"),
    pytest.param(lesson(title="Ф" * 501), "title", id="title-over-500"),
    pytest.param(lesson(teacher="Иванова\x00Мария"), "NUL", id="NUL-in-teacher"),
    pytest.param(lesson(title="Физика\x00"), "NUL", id="NUL-in-title"),
    pytest.param(
        lesson(participants=[{**KEM_20_CLASS, "class_name": "10А" * 33}]),
        "participants.0.class_name", id="class-name-over-64",
    ),
    pytest.param(
        lesson(participants=[{**KEM_20_CLASS, "camera_preset": "board\x00"}]),
        "NUL", id="NUL-in-camera-preset",
    ),
    pytest.param(lesson(external_ref="r" * 256), "external_ref", id="external-ref-over-255"),
    pytest.param(
        lesson(lesson_number=None, start_time="10:00:00+03:00", end_time="10:40:00+03:00"),
        "without a UTC offset", id="start-time-with-an-offset",
    ),
    pytest.param(
        weekly(lesson_number=None, start_time="10:00+03:00", end_time="10:40"),
        "without a UTC offset", id="weekly-start-time-with-an-offset",
    ),
    pytest.param(lesson(date="9999-12-31"), "2099-12-31", id="date-in-year-9999"),
    pytest.param(
        instants("9999-12-31T10:00:00+07:00", "9999-12-31T11:00:00+07:00"),
        "2099-12-31", id="instants-in-year-9999",
    ),
    pytest.param(weekly(ends_on="9999-12-31"), "2099-12-31", id="series-to-year-9999"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "reason"), REFUSED_AT_THE_EDGE)
def test_input_a_database_would_refuse_or_bloat_is_a_422_on_both_databases(
    client: TestClient, auth: Auth, body: dict[str, Any], reason: str
) -> None:
    answer = client.post("/api/v1/bookings", json=body, headers=auth("net20"))

    assert answer.status_code == 422, answer.text[:500]
    assert answer.headers["content-type"] == "application/problem+json"
    assert reason in answer.json()["detail"]
    assert client.get("/api/v1/bookings", headers=auth("rcc")).json()["total"] == 0


def test_an_explicit_utc_offset_in_a_local_time_is_refused_with_the_reason(
    client: TestClient, auth: Auth
) -> None:
    # kem-school-20 keeps Asia/Novokuznetsk (UTC+7): +03:00 was silently dropped before
    body = lesson(lesson_number=None, start_time="10:00:00+03:00", end_time="10:40:00")

    answer = client.post("/api/v1/bookings", json=body, headers=auth("net20"))

    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "start_time"
    assert "wall-clock time in the school's own time zone" in error["reason"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"day_start": "08:00:00+03:00"}, "day_start"),
        ({"day_end": "18:00Z"}, "day_end"),
        ({"min_minutes": 10**18}, "min_minutes"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "from"),
    ],
)
def test_free_intervals_refuse_offsets_and_out_of_range_values(
    client: TestClient, auth: Auth, params: dict[str, Any], field: str
) -> None:
    query = {"terminal_id": "term-kem-20", "from": "2026-09-14", "to": "2026-09-18", **params}

    answer = client.get("/api/v1/availability/intervals", params=query, headers=auth("net20"))

    assert answer.status_code == 422, answer.text[:500]
    assert answer.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("token", ["токен", "\u00e9" * 43])
def test_a_push_with_a_non_ascii_token_is_refused_not_a_500(client: TestClient, token: str) -> None:
    answer = client.post(
        "/api/v1/monitor/push/terminals/term-kem-20", params={"token": token}, content=b"{}"
    )

    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"
