"""The stepped clock the demo's history lives the past with: it jumps forward to the
instant it is told, never back, and runs at the speed of real time between jumps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from vks.automation.clock import SteppedClock

MONDAY_0830 = datetime(2026, 11, 9, 1, 30, tzinfo=UTC)  # 08:30 in Кемерово: a pre-flight


def test_a_jump_lands_on_the_instant_of_the_next_step() -> None:
    clock = SteppedClock(MONDAY_0830)

    landed = clock.jump_to(MONDAY_0830 + timedelta(minutes=25))  # the start step

    assert landed == MONDAY_0830 + timedelta(minutes=25)
    assert clock.now() - landed < timedelta(seconds=1)


def test_between_jumps_the_clock_runs_with_real_time() -> None:
    clock = SteppedClock(MONDAY_0830)
    before = clock.now()

    time.sleep(0.05)  # a presence poll's real wait inside a step

    passed = clock.now() - before
    assert timedelta(milliseconds=50) <= passed < timedelta(seconds=5)


def test_a_jump_to_an_instant_already_passed_leaves_the_clock_where_it_is() -> None:
    clock = SteppedClock(MONDAY_0830 + timedelta(hours=1))

    landed = clock.jump_to(MONDAY_0830)

    assert landed >= MONDAY_0830 + timedelta(hours=1)
    assert clock.now() >= MONDAY_0830 + timedelta(hours=1)
