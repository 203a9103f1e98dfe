"""`vks demo` starts with four weeks of the demo timetable lived by the automation on
simulated devices under a virtual clock, so that the monthly report of Кемерово for the
month before has real figures: lessons held, late, partly held, failed with their causes,
cancelled by the municipality and moved, people joined by the web link — from a fixed plan
of faults, the same every time."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.storage.automation import SqlAutomationStore
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
    cpu = time.process_time()
    out = io.StringIO()
    with redirect_stdout(out):
        load_demo(container)
    yield container, time.process_time() - cpu, out.getvalue()
    container.close()


def november(container: Container) -> dict[str, Any]:
    return monthly_report(report_sources(container), COORDINATOR, "kemerovo", "2026-11",
                          now=MONDAY_MORNING)  # fmt: skip


def test_the_demo_starts_with_a_month_lived_on_the_simulators_in_seconds_of_cpu(
    started: tuple[Container, float, str],
) -> None:
    _, cpu_seconds, out = started
    line = re.search(
        r"the last 28 days of the demo timetable lived by the automation on simulators"
        r" under a virtual clock in [\d.]+ s \(([\d.]+) s CPU\).*?(\d+) automation steps,"
        r" (\d+) rooms on the simulated servers",
        out,
    )
    assert line is not None, out
    assert float(line.group(1)) < 20, line.group(0)
    assert int(line.group(2)) > 100 and int(line.group(3)) > 10, line.group(0)
    assert cpu_seconds < 30, f"the demo took {cpu_seconds:.1f} s of CPU to load"


def test_the_monthly_report_of_kemerovo_for_november_has_the_figures_the_faults_made(
    started: tuple[Container, float, str],
) -> None:
    container, _, _ = started
    report = november(container)
    totals = report["totals"]

    assert totals["pending"] == 0, totals  # every past lesson has an outcome
    assert (totals["planned"], totals["on_time"], totals["late"], totals["partial"]) == (
        24, 11, 5, 1,
    ), totals  # fmt: skip
    assert totals["failed_by_cause"] == {"terminal": 2, "server": 2}, totals
    assert totals["cancelled_by"] == {"municipality": 3} and totals["moved"] == 3, totals
    assert totals["mean_late_s"] >= 3 * 60, totals  # the codecs came back 3-6 min late
    assert totals["recorded"] == totals["held"] == 17 and totals["pupils"] == 357, totals
    held = {row["school_id"] for row in report["schools"] if row["held"]}
    assert {"kem-school-20", "kem-school-12", "kem-school-41", "kem-school-85"} <= held
    by_link = {row["school_id"]: row["joined_by_link"] for row in report["schools"]}
    assert totals["joined_by_link"] == 3 and by_link["kem-school-20"] == 3, by_link


def lived(container: Container, day: int) -> list[tuple[str, str, str]]:
    """(state, cause, reason) of the Кемерово lessons of a November day, in order."""
    store = SqlAutomationStore(container.engine)
    start = datetime(2026, 11, day, tzinfo=UTC)
    with container.uow_factory() as uow:
        ids = [o.id for o in uow.occurrences.between(start, start + timedelta(days=1))]
    return [(t.to_state, t.cause, t.reason) for i in sorted(ids) for t in store.history(i)]


def test_the_faults_were_met_by_the_automation_on_the_simulated_devices(
    started: tuple[Container, float, str],
) -> None:
    container, _, _ = started

    monday = lived(container, 9)  # СОШ №20's codec offline before «Физика»
    assert any(
        cause == "preflight" and reason.startswith("switched term-kem-20 → term-kem-20-b")
        for _, cause, reason in monday
    ), monday
    thursday = lived(container, 19)  # СОШ №85's call dropped mid-lesson
    assert [s for s, _, _ in thursday] == [
        "checking", "preparing", "live", "degraded", "degraded", "live", "ending", "ended",
    ], thursday  # fmt: skip
    assert ("degraded", "reconciler", "dropped out: term-kem-85") in thursday
    failed_server = lived(container, 26)  # the servers answered 500
    assert failed_server[-1][:2] == ("failed", "start"), failed_server
    assert "HTTP 500" in failed_server[-1][2], failed_server


def test_without_history_the_past_month_is_empty(tmp_path: Path) -> None:
    container = demo(tmp_path, 0)
    try:
        load_demo(container)
        assert november(container)["totals"]["planned"] == 0
    finally:
        container.close()
