"""The first-day journeys of issue 14 replayed against `vks demo` started as a process
(a temporary data dir, ephemeral ports: `--port`, `VKS_DEMO_SIM_PORT` and
`VKS_DEMO_PORT_OFFSET`), through HTTP only and as the README shows them: a network
administrator books a weekly lesson between the Kuzbass school and the Mordovian partner,
reads both schools' calendar feeds, each in its own lesson numbers; the demo's scheduler
posts a timetable; an RCC operator watches a lesson go live, takes one of its terminals
offline through the simulators' fault API and brings it back: it is redialled.

Slow (about three minutes: the demo's first lesson starts two minutes after the demo)."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import icalendar
import pytest

pytestmark = pytest.mark.slow

SECRET = "test-secret-key-for-the-demo-of-the-rcc-kuzbass"
PASSWORD = "vks-demo-2026"
DEVICE_PORTS = (18001, 18036, 18101, 18131, 18201, 18202)  # the demo region's port ranges
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_offset() -> int:
    """An offset that moves every simulated device onto ports nobody holds now."""
    for _ in range(50):
        offset = random.randrange(1000, 14000, 500)  # below the ephemeral ports (32768…)
        lowest, highest = DEVICE_PORTS[0] + offset, DEVICE_PORTS[-1] + offset
        if all(_free(p) for p in range(lowest, highest + 1)):
            return offset
    pytest.fail("no free range of ports for the demo's simulated devices")


def _eventually(probe: Callable[[], T], until: Callable[[T], bool], timeout_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.5)
        value = probe()
    return value


@dataclass
class Demo:
    api: str
    sim: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def said(self, pattern: str) -> re.Match[str] | None:
        text = "\n".join(self.lines)
        return re.search(pattern, text)

    def login(self, username: str) -> dict[str, str]:
        answer = httpx.post(
            f"{self.api}/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    port, sim_port = _free_port(), _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path_factory.mktemp("home")),
        "VKS_DATA_DIR": str(tmp_path_factory.mktemp("demo")),
        "VKS_SECRET_KEY": SECRET,
        "VKS_DEMO_SIM_PORT": str(sim_port),
        "VKS_DEMO_PORT_OFFSET": str(_free_offset()),
        "VKS_POLL_INTERVAL_S": "2",  # the monitor looks every 2 s (30 s by default)
    }
    vks = Path(sys.executable).with_name("vks")
    process = subprocess.Popen(
        [str(vks), "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    running = Demo(f"http://127.0.0.1:{port}/api/v1", f"http://127.0.0.1:{sim_port}", process)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()

    def up() -> bool:
        try:
            return httpx.get(f"{running.api}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    assert _eventually(up, bool, 90), "\n".join(running.lines)
    yield running
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def _events(feed: httpx.Response, title: str) -> list[tuple[str, Any]]:
    assert feed.status_code == 200, feed.text
    calendar = icalendar.Calendar.from_ical(feed.content)
    return sorted(
        (str(e["SUMMARY"]), e["DTSTART"].dt)
        for e in calendar.walk("VEVENT")
        if str(e["SUMMARY"]).startswith(title)
    )


def test_a_network_administrator_books_the_readmes_weekly_lesson_and_reads_both_feeds(
    demo: Demo,
) -> None:
    headers = demo.login("net20")  # the README's own commands, through HTTP
    booked = httpx.post(
        f"{demo.api}/bookings",
        headers={**headers, "Idempotency-Key": "phys-10-q3"},
        json={
            "title": "Физика, 10 класс",
            "host_school_id": "kem-school-20",
            "teacher": "Иванова Мария Петровна",
            "participants": [
                {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
                {"school_id": "ins-school-mp", "terminal_id": "term-ins-mp"},
            ],
            "weekly": {"weekdays": ["tue"], "lesson_number": 3, "quarter": 3},
        },
    )
    feed_token = httpx.post(f"{demo.api}/auth/feed-token", headers=headers).json()["token"]
    host = _events(
        httpx.get(
            f"{demo.api}/calendars/schools/kem-school-20.ics",
            params={"token": feed_token, "tz": "local"},
        ),
        "Физика, 10 класс",
    )
    partner = _events(
        httpx.get(
            f"{demo.api}/calendars/schools/ins-school-mp.ics",
            params={"token": feed_token, "tz": "local"},
        ),
        "Физика, 10 класс",
    )

    assert booked.status_code == 201, booked.text
    lessons = booked.json()["occurrences"]
    assert len(lessons) == 9  # the Tuesdays of the third quarter
    readme = [(s, t) for s, t in host if "сетевой курс" not in s]
    assert len(readme) == 9
    summary, start = readme[0]
    assert summary == "Физика, 10 класс (3-й урок)"  # the host's own third lesson
    assert (start.hour, start.minute, str(start.tzinfo)) == (9, 45, "Asia/Novokuznetsk")
    summary, start = partner[0]
    # 05:45 in Moscow is before the partner's first lesson: never the host's number
    assert "3-й урок" not in summary
    assert (start.hour, start.minute, str(start.tzinfo)) == (5, 45, "Europe/Moscow")


def test_the_demo_scheduler_posts_a_timetable_with_the_printed_token(demo: Demo) -> None:
    printed = demo.said(r"scheduler token of kem-net-20 .*\n    (\S+)")
    assert printed, "\n".join(demo.lines)
    headers = {"Authorization": f"Bearer {printed.group(1)}"}
    item = {
        "external_ref": "journeys/kem-net-20/astro-11",
        "title": "Астрономия, 11 класс",
        "host_school_id": "kem-school-20",
        "teacher": "Иванова Мария Петровна",
        "participants": [
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
            {"school_id": "kem-school-12", "terminal_id": "term-kem-12"},
        ],
        "weekly": {"weekdays": ["fri"], "lesson_number": 6, "quarter": 3},
    }

    first = httpx.post(f"{demo.api}/timetable", headers=headers, json={"items": [item]})
    again = httpx.post(f"{demo.api}/timetable", headers=headers, json={"items": [item]})

    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == ["created"], first.text
    assert [r["status"] for r in again.json()["results"]] == ["unchanged"], again.text


@pytest.mark.timeout(360)
def test_an_operator_watches_a_lesson_go_live_and_a_terminal_taken_offline_come_back(
    demo: Demo,
) -> None:
    printed = demo.said(r"«Физика, 8 класс: законы Ньютона» — .* \(occurrence (\S+)\)")
    assert printed, "\n".join(demo.lines)
    lesson = printed.group(1)
    headers = demo.login("rcc")

    def lifecycle() -> dict[str, Any]:
        answer = httpx.get(f"{demo.api}/occurrences/{lesson}/lifecycle", headers=headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    live = _eventually(lifecycle, lambda x: x["state"] == "live", 180)
    faults = f"{demo.sim}/_sim/devices/term-kem-12/faults"
    assert httpx.put(faults, json={"offline": True}).status_code == 200
    dropped = _eventually(lifecycle, lambda x: x["state"] == "degraded", 60)
    assert httpx.delete(faults).status_code in (200, 204)
    back = _eventually(lifecycle, lambda x: x["state"] == "live", 60)

    assert live["state"] == "live", live
    assert dropped["state"] == "degraded", dropped
    assert "term-kem-12" in dropped["state_reason"]
    assert back["state"] == "live", back
    last = back["transitions"][-1]
    assert (last["to_state"], last["cause"]) == ("live", "redial"), back["transitions"]
