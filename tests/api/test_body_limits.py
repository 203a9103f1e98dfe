"""Request bodies are bounded: a body over `VKS_MAX_BODY_BYTES` is a 413 problem whether
it says its length or streams without one, a region's largest legitimate body (a
timetable of 5,000 lessons) fits, and nesting too deep to parse is a 4xx with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from vks.bootstrap import Container
from vks.settings import Settings

Auth = Callable[[str], dict[str, str]]

TEN_MB = 10 * 1024 * 1024


def timetable_item(n: int) -> dict[str, Any]:
    """One realistic lesson of a network's timetable (Cyrillic, all optional fields)."""
    return {
        "external_ref": f"timetable-2026/физика-10-{n:05d}",
        "title": "Физика, 10 класс (сетевой курс по углублённой программе)",
        "kind": "full_broadcast",
        "host_school_id": "kem-school-20",
        "teacher": "Иванова Мария Петровна",
        "subject": "Физика",
        "participants": [
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20",
             "camera_preset": "teacher", "class_name": "10А"},
            {"school_id": "kem-school-12", "terminal_id": "term-kem-12",
             "camera_preset": "class", "class_name": "10Б"},
            {"school_id": "ins-school-1", "terminal_id": "term-ins-1",
             "camera_preset": "class", "class_name": "10В"},
        ],
        "weekly": {"weekdays": ["tue", "thu"], "lesson_number": 3, "quarter": 2,
                   "starts_on": "2026-11-05", "week_parity": "A"},
        "setup_minutes": 10,
        "expected_participants": 75,
    }  # fmt: skip


@pytest.mark.parametrize("escaped", [False, True], ids=["utf-8", "ascii-escaped"])
def test_the_default_limit_fits_a_region_timetable_of_5000_lessons(escaped: bool) -> None:
    largest = json.dumps(
        {"items": [timetable_item(n) for n in range(5000)]}, ensure_ascii=escaped
    ).encode()

    assert len(largest) < Settings().max_body_bytes < TEN_MB


def test_a_10_mb_body_is_a_413_problem(client: TestClient, auth: Auth) -> None:
    answer = client.post(
        "/api/v1/bookings",
        content=b'{"title": "' + b"x" * TEN_MB + b'"}',
        headers={**auth("net20"), "Content-Type": "application/json"},
    )

    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "body_too_large"
    assert str(Settings().max_body_bytes) in problem["detail"]


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"title": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


def test_a_body_streamed_without_content_length_is_cut_off_at_the_limit(
    client: TestClient, auth: Auth
) -> None:
    answer = client.post(
        "/api/v1/timetable",
        content=_chunks(TEN_MB),
        headers={**auth("net20"), "Content-Type": "application/json"},
    )

    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"


def test_the_limit_is_a_setting(container: Container, auth: Auth) -> None:
    from vks.api.app import create_app

    container.settings = container.settings.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(container=container), raise_server_exceptions=False) as small:
        answer = small.post(
            "/api/v1/bookings",
            json={"title": "Ф" * 600},
            headers=auth("net20"),
        )

    assert answer.status_code == 413


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/bookings", '{"title": ' + "[" * 20_000 + "]" * 20_000 + "}"),
        ("/api/v1/timetable", '{"items": ' + '{"a": ' * 20_000 + "1" + "}" * 20_001),
        ("/api/v1/organisations", "[" * 20_000 + "]" * 20_000),
    ],
    ids=["arrays-in-a-field", "objects-in-a-list", "top-level-arrays"],
)
def test_nesting_too_deep_is_a_4xx_with_the_reason_not_a_traceback(
    client: TestClient, auth: Auth, path: str, body: str
) -> None:
    answer = client.post(
        path, content=body.encode(), headers={**auth("rcc"), "Content-Type": "application/json"}
    )

    assert 400 <= answer.status_code < 500, answer.text[:300]
    assert answer.headers["content-type"] == "application/problem+json"
    assert "nest" in answer.json()["detail"]
    assert "Traceback" not in answer.text
