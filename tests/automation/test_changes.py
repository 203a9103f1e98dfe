"""Changes reach the automation end to end, on the simulators: in embedded mode a booking
nobody told the automation about is picked up within seconds, and in a batch a lesson
shows `live` while a slower one is still dialling.

What the automation decides about a change (a moved, cancelled, late-booked lesson, an
operator's end) is specified on the memory store: `test_planner.py`, `test_dispatch.py`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import OccurrenceState
from tests.automation.conftest import database_on, story, wait_for
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from vks.automation.service import Automation
from vks.jobs.embedded import EmbeddedRunner

pytestmark = pytest.mark.slow  # end to end: the simulated region and a runner

S = OccurrenceState

database_url = database_on(
    "sqlite", "embedded mode, as deployed: SQLite (both backends: test_embedded_runner)"
)


def state(automation: Automation, occurrence: str) -> OccurrenceState:
    return automation.store.sessions([occurrence], full=False)[occurrence].state


def book(
    region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork], in_s: float, for_s: float = 30
) -> str:
    now = datetime.now(UTC)
    _, occurrence = region.book(
        uow_factory,
        title="Английский язык 7 класс",
        start=now + timedelta(seconds=in_s),
        end=now + timedelta(seconds=in_s + for_s),
        participants=[SCHOOL_20, SCHOOL_12],
    )
    return occurrence


def test_embedded_mode_picks_up_a_booking_nobody_announced(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    with EmbeddedRunner(automation):
        occurrence = book(region, uow_factory, in_s=3)  # no hook call
        wait_for(
            lambda: state(automation, occurrence) is S.LIVE,
            timeout=8,
            explain=lambda: story(automation, occurrence),
        )

    assert len(region.meetings_of(occurrence)) == 1


def test_in_a_batch_a_lesson_shows_live_while_a_slower_one_is_still_dialling(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    region.terminals["term-kem-12"].faults.latency_ms = 1800  # every answer (timeout: 2 s)
    now = datetime.now(UTC)
    start = now + timedelta(seconds=3)  # the same instant: one batch
    _, quick = region.book(
        uow_factory, title="Физика 8А", start=start, end=start + timedelta(seconds=40),
        participants=[SCHOOL_20],
    )  # fmt: skip
    _, slow = region.book(
        uow_factory, title="Физика 8Б", start=start, end=start + timedelta(seconds=40),
        participants=[SCHOOL_12],
    )  # fmt: skip
    with EmbeddedRunner(automation) as runner:
        automation.hook(runner).occurrences_changed([quick, slow])
        wait_for(
            lambda: state(automation, quick) is S.LIVE,
            timeout=15,
            explain=lambda: story(automation, quick),
        )
        slow_plan = automation.store.plans([slow])[slow]
        slow_state = state(automation, slow)

    assert slow_plan.status == "running"  # its start is still under way in the same batch
    assert slow_state is S.PREPARING
