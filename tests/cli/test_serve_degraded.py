"""`vks serve` over a region where one conference server's secret is not set and one
terminal is configured with a wrong password (the region of tests/cli/test_check.py): the
service starts and stays up; readiness stays 200 and names both devices; the lesson of that
terminal, booked a quarter of an hour ahead, gets its room on the other server and is
flagged at risk with the reason (issue 20)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select

from adapters.storage.tables import occurrences
from adapters.storage.unit_of_work import sql_uow_factory
from simulators.bbb import BbbServer
from tests.cli.test_check import POLY, UNSET, Region, region

__all__ = ["region"]

SECRET = "test-secret-key-for-the-api-of-the-rcc-kuzbass"
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _eventually(probe: Callable[[], T], until: Callable[[T], bool], timeout_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = probe()
    return value


@pytest.fixture
def served(region: Region, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "VKS_DATA_DIR": str(tmp_path),
        "VKS_DATABASE_URL": region.url,
        "VKS_SECRET_KEY": SECRET,
        "VKS_POLL_INTERVAL_S": "1",
        "VKS_DEVICE_TIMEOUT_S": "2",
        "VKS_START_LEAD_MINUTES": "20",
    }
    assert UNSET not in os.environ
    vks = Path(sys.executable).with_name("vks")
    process = subprocess.Popen(
        [str(vks), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield f"http://127.0.0.1:{port}/api/v1", process
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)


def _health(base: str) -> dict[str, Any]:
    try:
        answer = httpx.get(f"{base}/health", timeout=2)
    except httpx.TransportError:
        return {}
    return {"code": answer.status_code, **answer.json()}


def test_the_service_starts_names_both_devices_and_places_the_room_on_the_other_server(
    region: Region, served: tuple[str, subprocess.Popen[str]]
) -> None:
    uow_factory = sql_uow_factory(region.engine)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=16)
    occurrence = region.sims.book(
        uow_factory, title="Информатика, 9 «А»", start=start, terminals=(POLY,), setup_minutes=5
    )
    base, process = served

    def at_risk() -> str:
        with region.engine.connect() as connection:
            return str(
                connection.scalar(
                    select(occurrences.c.at_risk).where(occurrences.c.id == occurrence)
                )
            )

    def seen() -> tuple[dict[str, Any], str, list[str]]:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        return _health(base), at_risk(), list(region.sims.servers["bbb-1"].meetings.by_id)

    health, flagged, rooms = _eventually(
        seen,
        # the flag follows the truth: "unknown (never polled)" until the monitor's polls
        # settle, then the reason
        lambda s: (
            "credentials refused" in str(s[0].get("dependencies"))
            and POLY in s[1]
            and "credentials refused" in s[1]
            and s[2]
        ),
        timeout_s=60,
    )

    assert process.poll() is None  # still serving
    assert health["code"] == 200
    assert health["status"] == "degraded"
    detail = health["dependencies"]["devices"]["detail"]
    assert f"server bbb-2 (secret {UNSET} not set)" in detail
    assert f"terminal {POLY} (credentials refused)" in detail
    assert "credentials refused" in flagged
    assert len(rooms) == 1
    bbb2 = region.sims.host.device("bbb-2")
    assert isinstance(bbb2, BbbServer) and not bbb2.meetings.by_id
