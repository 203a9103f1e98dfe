"""Racing clients over real HTTP: twenty requests for the same terminal and lesson at once
yield exactly one booking; the others get 409 — on SQLite (writers serialised) and on
PostgreSQL (the exclusion constraint decides a race the checks could not see)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from vks.api.app import create_app
from vks.bootstrap import Container

Auth = Callable[[str], dict[str, str]]

PHYSICS = {
    "title": "Физика, 10 класс",
    "host_school_id": "kem-school-20",
    "teacher": "Иванова Мария Петровна",
    "participants": [
        {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
        {"school_id": "ins-school-mp", "terminal_id": "term-ins-mp"},
    ],
    "weekly": {"weekdays": ["tue"], "lesson_number": 3, "quarter": 1},
}


@pytest.fixture
def base_url(container: Container) -> Iterator[str]:
    """The API served by uvicorn on a free loopback port, in a thread."""
    config = uvicorn.Config(
        create_app(container=container), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_twenty_parallel_requests_for_one_slot_yield_exactly_one_booking(
    base_url: str, auth: Auth
) -> None:
    headers = auth("net20")
    start = threading.Barrier(20)

    def book(_: int) -> int:
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
            start.wait()
            return http.post("/api/v1/bookings", json=PHYSICS).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = Counter(pool.map(book, range(20)))

    assert statuses == Counter({201: 1, 409: 19})
    with httpx.Client(base_url=base_url, headers=headers) as http:
        listed = http.get("/api/v1/bookings").json()
        occurrences = http.get(f"/api/v1/bookings/{listed['items'][0]['id']}/occurrences")
    assert listed["total"] == 1
    assert occurrences.json()["total"] == 8
