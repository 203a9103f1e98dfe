"""The schema-driven probe, kept: schemathesis generates requests for every operation of
the OpenAPI document (a fixed seed, a few examples each) and sends them to the app over
the demo region (on PostgreSQL, which refuses more than SQLite) with an RCC token and a
network-admin token, once with generated path parameters and once with the region's real
ids. Every answer must match the document (status code, content type, body schema) and
be no server error — a documented 502/503 (a device or the automation not answering: none
runs here) being the truthful answer. About 1.5 minutes on this machine.

Failures are collected, not raised one by one, so one run lists every operation that
breaks (and Hypothesis does not spend minutes shrinking each)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from vks.bootstrap import Container

Auth = Callable[[str], dict[str, str]]

EXAMPLES_PER_OPERATION = 20
SEED = 20261206
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _a_device_failed(operation: Any, status: int, failure: Any) -> bool:
    """A documented 502/503 (a camera that does not answer: the demo's devices are not
    running here) is the truthful answer, not a server error."""
    documented = str(status) in operation.definition.raw.get("responses", {})
    return status in (502, 503) and documented and failure.title == "Server error"


@pytest.fixture
def app(client: TestClient) -> FastAPI:
    assert isinstance(client.app, FastAPI)
    return client.app


@pytest.fixture
def api_schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations(api_schema: Any) -> Iterator[Any]:
    for result in api_schema.get_all_operations():
        yield result.ok()


def _probe(
    operation: Any,
    headers: dict[str, str],
    failures: list[str],
    known: dict[str, str] | None = None,
) -> None:
    """Send EXAMPLES_PER_OPERATION generated requests; with `known`, path parameters are
    real ids of the region (so the requests reach the handlers, not just the 404)."""
    path_parameters = {
        name: value for name, value in (known or {}).items() if f"{{{name}}}" in operation.path
    }
    if known is not None and not path_parameters:
        return

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(path_parameters=path_parameters or None))
        try:
            response = case.call(headers=headers)
        except Exception as error:  # the app raised: the server error of an ASGI call
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            failures.append(f"{operation.label}: raised {type(error).__name__}: {first}\n"
                            f"  {case.as_curl_command()[:600]}")  # fmt: skip
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                if _a_device_failed(operation, response.status_code, failure):
                    continue
                message = " ".join(str(failure.message).split())[:400]
                failures.append(f"{operation.label}: {failure.title}: {message}\n"
                                f"  {case.as_curl_command()[:600]}")  # fmt: skip

    run()


def _first_id(client: TestClient, path: str, headers: dict[str, str]) -> str:
    return str(client.get(f"/api/v1/{path}", headers=headers).json()["items"][0]["id"])


def real_ids(client: TestClient, auth: Auth) -> dict[str, str]:
    """Ids of the demo region for every path parameter, and a booking to aim at."""
    rcc = auth("rcc")
    lesson = {
        "title": "Физика, 10 класс", "host_school_id": "kem-school-20",
        "teacher": "Иванова Мария Петровна", "date": "2026-09-15", "lesson_number": 3,
        "participants": [{"school_id": "kem-school-20", "terminal_id": "term-kem-20"}],
    }  # fmt: skip
    booked = client.post("/api/v1/bookings", json=lesson, headers=auth("net20"))
    assert booked.status_code == 201, booked.text
    terminal = client.get("/api/v1/terminals/term-kem-20", headers=rcc).json()
    cameras = client.get("/api/v1/cameras", params={"terminal_id": terminal["id"]}, headers=rcc)
    return {
        "booking_id": booked.json()["booking"]["id"],
        "occurrence_id": booked.json()["occurrences"][0]["id"],
        "terminal_id": terminal["id"],
        "camera_id": _first_id(client, "cameras", rcc) if cameras.is_success else "cam-kem-20",
        "org_id": "kem-school-20",
        "site_id": "kem-school-20",
        "school_id": "kem-school-20",
        "server_id": _first_id(client, "servers", rcc),
        "year_id": _first_id(client, "academic-years", rcc),
        "schedule_id": _first_id(client, "bell-schedules", rcc),
        "user_id": client.get("/api/v1/auth/me", headers=auth("teacher")).json()["user_id"],
        "kind": "terminal",
        "device_id": terminal["id"],
        "lesson_number": "3",
        "teacher": "Иванова Мария Петровна",
    }


@pytest.mark.timeout(600)  # ~80 s on a quiet machine (with the workflow routes); loaded: 4x+
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_every_operation_answers_within_its_document_for_rcc_and_network_admin(
    api_schema: Any, client: TestClient, auth: Auth, container: Container
) -> None:
    known = real_ids(client, auth)
    failures: list[str] = []

    for username in ("rcc", "net20"):
        headers = auth(username)
        for operation in _operations(api_schema):
            _probe(operation, headers, failures)  # generated path parameters
            _probe(operation, headers, failures, known)  # the region's ids

    assert not failures, f"{len(failures)} failing answers:\n" + "\n\n".join(failures)
