"""Racing clients over real HTTP: twenty requests for the same terminal and lesson at once
yield exactly one booking; the others get 409 — on SQLite (writers serialised) and on
PostgreSQL (the exclusion constraint decides a race the checks could not see). And across
processes: fifty creates spread over two `vks serve` processes on one database store one
booking, every loser a 409 `booking_conflict` naming the winner."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from booking.schoolyear import AcademicYear, Quarter, day_off
from booking.services import users
from tests.api.conftest import SECRET
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


# --- two `vks serve` processes on one database ---------------------------------------------
def a_study_day_ahead(container: Container) -> date:
    """A Tuesday at least a week after today (the servers run on the real clock) on which
    the demo schools study; a year of its own is added when no academic year covers it."""
    day = datetime.now(UTC).date() + timedelta(days=7)
    day += timedelta(days=(1 - day.weekday()) % 7)
    with container.uow_factory() as uow:
        for _ in range(20):
            year = uow.academic_years.covering(day)
            if year is None:
                uow.academic_years.add(
                    AcademicYear(
                        id=f"race-{day:%Y}", start=day, end=day + timedelta(days=30),
                        quarters=[Quarter(1, day, day + timedelta(days=30))], holidays=[],
                        public_holidays=[], shortened_days=[],
                    )
                )  # fmt: skip
                uow.commit()
                return day
            if day_off(day, year, []) is None:
                return day
            day += timedelta(days=7)
    raise AssertionError("no study day in twenty weeks")


@contextmanager
def serving(database_url: str, data_dirs: list[Path]) -> Iterator[list[str]]:
    """`vks serve` processes of their own (started together) on `database_url`; their
    base URLs."""
    processes: list[tuple[subprocess.Popen[str], str]] = []
    vks = Path(sys.executable).with_name("vks")
    try:
        for data_dir in data_dirs:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            env = {
                "PATH": "/usr/bin:/bin",
                "VKS_DATA_DIR": str(data_dir),
                "VKS_DATABASE_URL": database_url,
                "VKS_SECRET_KEY": SECRET,
                "VKS_POLL_INTERVAL_S": "3600",  # the monitor of each process stays quiet
            }
            process = subprocess.Popen(
                [str(vks), "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            processes.append((process, f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + 60
        for process, base_url in processes:
            while True:
                try:
                    httpx.get(f"{base_url}/api/v1/health", timeout=1)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, process.stderr.read() if process.stderr else ""
                    assert time.monotonic() < deadline, "vks serve did not answer"
                    time.sleep(0.1)
        yield [base_url for _, base_url in processes]
    finally:
        errors = []
        for process, _ in processes:
            process.send_signal(signal.SIGTERM)
            errors.append(process.communicate(timeout=30)[1])
    assert not any("Traceback" in err for err in errors), errors


@pytest.mark.timeout(180)
def test_fifty_racing_creates_over_two_server_processes_yield_one_booking_and_name_it(
    container: Container, database_url: str, tmp_path: Path
) -> None:
    day = a_study_day_ahead(container)
    lesson = {
        "title": "Физика, 10 класс",
        "host_school_id": "kem-school-20",
        "teacher": "Иванова Мария Петровна",
        "participants": [{"school_id": "kem-school-20", "terminal_id": "term-kem-20"}],
        "date": day.isoformat(),
        "lesson_number": 3,
    }
    net20 = users.find_user(container.uow_factory(), "net20")
    assert net20 is not None
    token = container.tokens.issue(  # on the servers' clock, the real one
        users.principal_of(container.uow_factory(), net20),
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )
    headers = {"Authorization": f"Bearer {token.value}"}
    racers = 50
    start = threading.Barrier(racers)

    with serving(database_url, [tmp_path / "a", tmp_path / "b"]) as (first, second):

        def book(racer: int) -> httpx.Response:
            base_url = first if racer % 2 == 0 else second
            with httpx.Client(base_url=base_url, headers=headers, timeout=120) as http:
                start.wait()
                return http.post("/api/v1/bookings", json=lesson)

        with ThreadPoolExecutor(max_workers=racers) as pool:
            answers = list(pool.map(book, range(racers)))
        listed = httpx.get(f"{second}/api/v1/bookings", headers=headers).json()

    statuses = Counter(a.status_code for a in answers)
    assert statuses == Counter({201: 1, 409: racers - 1}), [a.text for a in answers][:3]
    [won] = [a.json() for a in answers if a.status_code == 201]
    winner = won["booking"]["id"]
    assert [b["id"] for b in listed["items"]] == [winner]
    for lost in (a.json() for a in answers if a.status_code == 409):
        assert lost["code"] == "booking_conflict", lost
        assert winner in {c["other_booking_id"] for c in lost["conflicts"]}, lost
