"""`vks demo` starts with four weeks of the demo timetable lived through the service, so
that the monthly report of Кемерово for the month before has real figures: lessons held,
late, partly held, failed with their causes, cancelled by a school and moved."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from booking.access import Principal, Role
from booking.services.reports.monthly import monthly_report
from vks.automation.clock import FrozenClock
from vks.bootstrap import Container, build_container, report_sources
from vks.demo.runner import fresh_database, load_demo
from vks.settings import Settings

SECRET = "test-secret-key-for-the-demo-of-the-rcc-kuzbass"
MONDAY_MORNING = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 in Кемерово (UTC+7)
COORDINATOR = Principal("kem-coord", Role.MUNICIPAL_COORDINATOR, "kemerovo", "kuzbass/kemerovo")


def demo(tmp_path: Path, days: int) -> Container:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, demo_history_days=days)
    settings = settings.model_copy(update={"database_url": fresh_database(tmp_path)})
    return build_container(settings, clock=FrozenClock(MONDAY_MORNING), migrate=True)


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, float, str]]:
    container = demo(tmp_path_factory.mktemp("demo"), 28)
    began = time.monotonic()
    out = io.StringIO()
    with redirect_stdout(out):
        load_demo(container)
    yield container, time.monotonic() - began, out.getvalue()
    container.close()


def november(container: Container) -> dict[str, Any]:
    return monthly_report(report_sources(container), COORDINATOR, "kemerovo", "2026-11",
                          now=MONDAY_MORNING)  # fmt: skip


def test_the_demo_starts_with_a_month_of_history_in_a_few_seconds(
    started: tuple[Container, float, str],
) -> None:
    _, seconds, out = started
    assert re.search(r"the last 28 days of the demo timetable lived for the reports", out), out
    assert seconds < 20, f"the demo took {seconds:.1f} s to load"


def test_the_monthly_report_of_kemerovo_for_november_has_real_figures(
    started: tuple[Container, float, str],
) -> None:
    container, _, _ = started
    report = november(container)
    totals = report["totals"]

    assert totals["pending"] == 0, totals  # every past lesson has an outcome
    assert totals["on_time"] >= 3, totals
    assert totals["late"] >= 1 and totals["mean_late_s"] >= 4 * 60, totals
    assert totals["partial"] >= 1, totals
    assert set(totals["failed_by_cause"]) == {"terminal", "server"}, totals
    assert totals["cancelled_by"].get("municipality", 0) >= 1, totals
    assert totals["moved"] >= 1, totals
    assert totals["recorded"] == totals["held"] and totals["pupils"] > 0, totals
    held = {row["school_id"] for row in report["schools"] if row["held"]}
    assert {"kem-school-20", "kem-school-12", "kem-school-41", "kem-school-85"} <= held


def test_without_history_the_past_month_is_empty(tmp_path: Path) -> None:
    container = demo(tmp_path, 0)
    try:
        load_demo(container)
        assert november(container)["totals"]["planned"] == 0
    finally:
        container.close()
