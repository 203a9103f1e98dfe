"""The reconciler watches running lessons: a terminal that dropped out is redialled
(the lesson shows `degraded` meanwhile, then `live` again)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import OccurrenceState
from tests.automation.conftest import database_on, story, wait_for
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from vks.automation.service import Automation
from vks.jobs.embedded import EmbeddedRunner

S = OccurrenceState

database_url = database_on(
    "sqlite", "embedded mode, as deployed: SQLite (both backends: test_embedded_runner)"
)


def test_a_terminal_that_dropped_out_of_a_live_lesson_is_redialled(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    now = datetime.now(UTC)
    _, occurrence = region.book(
        uow_factory,
        title="Литература 11 класс",
        start=now + timedelta(seconds=2),
        end=now + timedelta(seconds=60),
        participants=[SCHOOL_20, SCHOOL_12],
    )

    def state() -> OccurrenceState:
        return automation.store.sessions([occurrence], full=False)[occurrence].state

    with EmbeddedRunner(automation) as runner:
        automation.hook(runner).occurrences_changed([occurrence])
        wait_for(lambda: state() is S.LIVE, timeout=6)
        school12 = region.terminals["term-kem-12"]
        region.host.call_soon(school12.disconnect)  # the codec drops the call
        wait_for(lambda: school12.current_call(time.monotonic()) is None, timeout=2)
        wait_for(
            lambda: (
                [h.to_state for h in automation.store.history(occurrence)][-2:]
                == ["degraded", "live"]
            ),
            timeout=8,
            explain=lambda: story(automation, occurrence),
        )

    degraded, live = automation.store.history(occurrence)[-2:]
    assert degraded.cause == "reconciler"
    assert degraded.reason == "dropped out: term-kem-12"
    assert live.cause == "redial"
    assert live.details["dialled"] == ["term-kem-12"]
    assert school12.current_call(time.monotonic()) is not None
    ((_, meeting),) = region.meetings_of(occurrence)
    assert len([a for a in meeting.attendees.values() if a.sip]) == 2
