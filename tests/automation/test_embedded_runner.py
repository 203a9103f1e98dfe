"""Embedded mode (no Redis): lessons start and end by themselves in the service process.

Lessons are booked a few seconds ahead with second-scale lead times; the equipment is the
simulated Kuzbass region on loopback ports (terminals over xAPI, cameras over ONVIF,
BigBlueButton with its SIP video gateway)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import OccurrenceState
from tests.automation.conftest import wait_for
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from vks.automation.service import Automation
from vks.jobs.embedded import EmbeddedRunner

pytestmark = pytest.mark.slow  # end to end: the simulated region and a runner

S = OccurrenceState


def state_of(automation: Automation, occurrence_id: str) -> OccurrenceState:
    return automation.store.sessions([occurrence_id], full=False)[occurrence_id].state


def in_call(region: SimRegion, terminal_id: str) -> str | None:
    call = region.terminals[terminal_id].current_call(time.monotonic())
    return None if call is None else call.number


def test_a_lesson_goes_live_at_its_time_and_ends_at_its_end(
    automation: Automation, region: SimRegion, uow_factory: type[SqlUnitOfWork]
) -> None:
    now = datetime.now(UTC)
    start, end = now + timedelta(seconds=3.5), now + timedelta(seconds=6.5)
    _, occurrence = region.book(
        uow_factory,
        title="Физика 8 класс: законы Ньютона",
        start=start,
        end=end,
        participants=[SCHOOL_20, SCHOOL_12],
    )

    with EmbeddedRunner(automation) as runner:
        automation.hook(runner).occurrences_changed([occurrence])
        wait_for(lambda: state_of(automation, occurrence) is S.LIVE, timeout=8)
        live_at = datetime.now(UTC)
        meetings = region.meetings_of(occurrence)
        calls = {t: in_call(region, t) for t in ("term-kem-20-hall", "term-kem-12")}
        presets = wait_for(
            lambda: (
                {c: region.cameras[c].preset_at() for c in ("cam-kem-20-hall", "cam-kem-12")}
                if all(region.cameras[c].preset_at() for c in ("cam-kem-20-hall", "cam-kem-12"))
                else None
            ),
            timeout=3,
        )
        wait_for(lambda: state_of(automation, occurrence) is S.ENDED, timeout=8)
        ended_at = datetime.now(UTC)

    history = automation.store.history(occurrence)
    assert [(h.from_state, h.to_state) for h in history] == [
        ("scheduled", "checking"),
        ("checking", "preparing"),
        ("preparing", "live"),
        ("live", "ending"),
        ("ending", "ended"),
    ]
    start_due = start - automation.config.timing.start_lead
    assert start_due - timedelta(seconds=0.2) <= history[1].at <= start_due + timedelta(seconds=1.5)
    assert live_at < start
    assert end <= history[3].at <= end + timedelta(seconds=1.5)
    assert ended_at < end + timedelta(seconds=3)
    assert len(meetings) == 1
    assert all(number and number.startswith("sip:") for number in calls.values()), calls
    assert presets == {"cam-kem-20-hall": "teacher", "cam-kem-12": "board"}
    assert region.meetings_of(occurrence) == []
    assert in_call(region, "term-kem-20-hall") is None
    assert in_call(region, "term-kem-12") is None
