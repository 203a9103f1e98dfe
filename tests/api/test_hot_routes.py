"""The hot routes' lean path (`vks/api/hot.py`) answers exactly what the full FastAPI stack
answers: each request is sent to the app as served (lean path on) and, with the database
put back and the same booking ids, to the app without the lean path; status, headers and
body must be equal byte for byte — for a create (201, Location, ETag), its replay under the
same Idempotency-Key (Idempotent-Replayed), a dry run (200), a conflict (409 with the
alternatives), a caller out of scope (403), no or a bad token (401), a body the route
refuses (422), a reused key (422), and the free terminals of a slot (200, 422)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from booking.services import creating
from tests.api.conftest import DemoDatabase, _restore
from tests.api.test_booking_flow import weekly_informatics
from vks.api import hot
from vks.api.app import create_app
from vks.api.routes import availability as availability_routes
from vks.api.routes import bookings as booking_routes
from vks.bootstrap import Container

Auth = Callable[[str], dict[str, str]]
Request = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments

SINGLE = {**weekly_informatics(), "date": "2026-09-15", "lesson_number": 2}
del SINGLE["weekly"]
SLOT = {"start": "2026-09-15T03:00:00Z", "end": "2026-09-15T04:00:00Z"}


def full_stack(container: Container) -> FastAPI:
    """The same app without the lean path: every request through FastAPI's routes."""
    app = create_app(container=container)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not hot.HotRoutes]
    return app


@pytest.fixture
def apps(container: Container) -> Iterator[dict[str, TestClient]]:
    with (
        TestClient(create_app(container=container), raise_server_exceptions=False) as lean,
        TestClient(full_stack(container), raise_server_exceptions=False) as full,
    ):
        yield {"lean": lean, "full": full}


def answers(
    apps: dict[str, TestClient],
    demo_database: DemoDatabase,
    monkeypatch: pytest.MonkeyPatch,
    requests: list[Request],
) -> dict[str, list[tuple[int, list[tuple[str, str]], bytes]]]:
    """Each app's answers to `requests`, from the same database and the same booking ids."""
    got: dict[str, list[tuple[int, list[tuple[str, str]], bytes]]] = {}
    for name, client in apps.items():
        _restore(demo_database.engine, demo_database.snapshot)
        ids = iter(f"b{n:015d}" for n in count(1))
        monkeypatch.setattr(creating, "new_id", ids.__next__)
        got[name] = []
        for method, path, kwargs in requests:
            response = client.request(method, path, **kwargs)
            got[name].append((response.status_code, response.headers.multi_items(),
                              response.content))  # fmt: skip
    return got


def test_a_create_its_replay_and_a_conflict_are_answered_alike(
    apps: dict[str, TestClient], demo_database: DemoDatabase, auth: Auth,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    net20 = auth("net20")
    keyed = {**net20, "Idempotency-Key": "timetable-2026/inf-9-tue-2"}
    clash = {**SINGLE, "title": "Другой урок на то же время"}
    requests: list[Request] = [
        ("POST", "/api/v1/bookings", {"json": SINGLE, "headers": keyed}),
        ("POST", "/api/v1/bookings", {"json": SINGLE, "headers": keyed}),  # a retry
        ("POST", "/api/v1/bookings", {"json": clash, "headers": net20}),  # 409
        ("POST", "/api/v1/bookings", {"json": clash, "headers": keyed}),  # key reused: 422
        ("POST", "/api/v1/bookings?dry_run=true", {"json": clash, "headers": net20}),
    ]

    got = answers(apps, demo_database, monkeypatch, requests)

    assert [status for status, _, _ in got["lean"]] == [201, 201, 409, 422, 200]
    assert ("idempotent-replayed", "true") in got["lean"][1][1]
    assert got["lean"][2][2].count(b'"alternatives"') == 1
    assert got["lean"] == got["full"]


def test_refusals_of_the_caller_and_of_the_body_are_answered_alike(
    apps: dict[str, TestClient], demo_database: DemoDatabase, auth: Auth,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    no_title = {k: v for k, v in SINGLE.items() if k != "title"}
    requests: list[Request] = [
        ("POST", "/api/v1/bookings", {"json": SINGLE, "headers": auth("net5")}),  # 403
        ("POST", "/api/v1/bookings", {"json": SINGLE}),  # no token: 401
        ("POST", "/api/v1/bookings", {"json": SINGLE,
                                      "headers": {"Authorization": "Bearer forged.token.x"}}),
        ("POST", "/api/v1/bookings", {"json": no_title, "headers": auth("net20")}),  # 422
        ("POST", "/api/v1/bookings", {"content": b"{not json", "headers": {
            **auth("net20"), "Content-Type": "application/json"}}),  # 422
        ("POST", "/api/v1/bookings", {"content": b"[" * 40 + b"]" * 40, "headers": {
            **auth("net20"), "Content-Type": "application/json"}}),  # too deep: 422
    ]  # fmt: skip

    got = answers(apps, demo_database, monkeypatch, requests)

    assert [status for status, _, _ in got["lean"]] == [403, 401, 401, 422, 422, 422]
    assert got["lean"] == got["full"]


def test_free_terminals_are_answered_alike(
    apps: dict[str, TestClient], demo_database: DemoDatabase, auth: Auth,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    rcc = auth("rcc")
    requests: list[Request] = [
        ("POST", "/api/v1/bookings", {"json": SINGLE, "headers": auth("net20")}),
        ("GET", "/api/v1/availability/terminals", {"params": SLOT, "headers": rcc}),
        ("GET", "/api/v1/availability/terminals",
         {"params": {**SLOT, "org_id": "kem-net-20", "setup_minutes": "15"}, "headers": rcc}),
        ("GET", "/api/v1/availability/terminals",
         {"params": {**SLOT, "start": "yesterday"}, "headers": rcc}),  # 422
        ("GET", "/api/v1/availability/terminals", {"params": SLOT}),  # 401
    ]  # fmt: skip

    got = answers(apps, demo_database, monkeypatch, requests)

    assert [status for status, _, _ in got["lean"]] == [201, 200, 200, 422, 401]
    assert got["lean"] == got["full"]


def test_a_plain_create_and_a_free_terminals_read_skip_the_framework(
    container: Container, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(*_: Any, **__: Any) -> Any:
        raise AssertionError("the FastAPI route was called")

    monkeypatch.setattr(booking_routes, "run_in_threadpool", not_here)
    monkeypatch.setattr(availability_routes, "run_in_threadpool", not_here)
    headers = {**auth("net20"), "Idempotency-Key": "k-1"}

    with TestClient(create_app(container=container), raise_server_exceptions=False) as client:
        created = client.post("/api/v1/bookings", json=SINGLE, headers=headers)
        free = client.get("/api/v1/availability/terminals", params=SLOT, headers=auth("rcc"))

    assert created.status_code == 201, created.text
    assert free.status_code == 200, free.text
