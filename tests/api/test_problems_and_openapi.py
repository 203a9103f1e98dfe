"""Errors are RFC 9457 problems, a failure inside the service is a 500 problem that shows
no traceback, and the OpenAPI document describes the API with examples."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from vks.api.app import create_app
from vks.settings import Settings


def test_an_unexpected_failure_is_a_500_problem_without_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "not-a-database"
    broken.mkdir()  # a directory where the SQLite file should be: every query fails
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{broken}", hold_sweep_seconds=0)

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        answer = client.post(
            "/api/v1/auth/login", json={"username": "net20", "password": "whatever1"}
        )

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "internal_error"
    assert problem["instance"] == "/api/v1/auth/login"
    assert "Traceback" not in answer.text
    assert "sqlite" not in answer.text.lower()


def test_validation_errors_name_every_field(client: TestClient) -> None:
    answer = client.post("/api/v1/auth/login", json={"username": ""})

    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"] == "urn:vks:problem:invalid_input"
    assert {e["field"] for e in problem["errors"]} == {"username", "password"}


def test_a_wrong_method_is_a_405_problem(client: TestClient) -> None:
    answer = client.delete("/api/v1/auth/login")

    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"


def test_the_openapi_document_has_examples_and_problem_responses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    create = spec["paths"]["/api/v1/bookings"]["post"]
    examples = create["requestBody"]["content"]["application/json"]["examples"]
    assert {"weekly", "single lesson", "event"} <= examples.keys()
    assert examples["weekly"]["value"]["weekly"]["lesson_number"] == 3
    assert "application/problem+json" in create["responses"]["409"]["content"]
    assert "Idempotency-Key" in spec["info"]["description"]
    put = spec["paths"]["/api/v1/bookings/{booking_id}"]["put"]
    assert any(p["name"] == "If-Match" for p in put["parameters"])
    assert "428" in put["responses"]
    feed = spec["paths"]["/api/v1/calendars/terminals/{terminal_id}.ics"]["get"]
    assert "text/calendar" in feed["responses"]["200"]["content"]
    schemas = spec["components"]["schemas"]
    assert schemas["TerminalIn"]["examples"][0]["vendor"] == "cisco_xapi"
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/api/v1/health/live").json() == {"status": "ok"}
    assert client.get("/api/v1/health").json()["status"] == "ok"


# --- the document is valid and says what the answers are (issue 12 item 15) -----------------
def test_the_openapi_document_validates(client: TestClient) -> None:
    from openapi_spec_validator import validate

    validate(client.get("/openapi.json").json())


def test_local_times_are_declared_as_wall_clock_strings_not_format_time(
    client: TestClient, auth: Any
) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    lessons = schemas["BellScheduleOut"]["properties"]["lessons"]["additionalProperties"]
    answer = client.get("/api/v1/bell-schedules", headers=auth("rcc")).json()

    assert lessons["type"] == "array" and isinstance(lessons["items"], dict)
    assert "format" not in lessons["items"]
    pattern = re.compile(lessons["items"]["pattern"])
    start, end = answer["items"][0]["lessons"]["1"]
    assert pattern.match(start) and pattern.match(end)  # "08:00:00" matches what is declared
    assert "time" not in {s.get("format") for s in _leaves(spec)}


def test_every_answer_the_api_can_give_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    snapshot = spec["paths"]["/api/v1/cameras/{camera_id}/snapshot"]["get"]["responses"]

    assert "application/problem+json" in snapshot["502"]["content"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert "default" in responses, where  # 401, 404, 413, … are problems
            assert list(responses["default"]["content"]) == ["application/problem+json"], where
            if "422" in responses:
                assert list(responses["422"]["content"]) == ["application/problem+json"], where


def _leaves(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _leaves(value)
    elif isinstance(node, list):
        for value in node:
            found += _leaves(value)
    return found
