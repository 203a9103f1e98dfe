"""The pre-flight check before a lesson, end to end on the simulators and the database: a
terminal that does not answer is replaced by a free terminal at the same school (its
reservation moves with it) and the lesson starts with it.

The pre-flight's decisions (no backup: at risk, with an event; a silent camera, full
servers) are specified on the memory store in `test_dispatch.py`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.automation_store import TERMINAL_SWITCHED
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


def take_offline(region: SimRegion, terminal_id: str) -> None:
    region.terminals[terminal_id].faults.offline = True
    time.sleep(0.4)  # the simulator host closes the listener within a quarter second


def book_lesson(region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]) -> str:
    now = datetime.now(UTC)
    _, occurrence = region.book(
        uow_factory,
        title="Химия 9 класс: периодический закон",
        start=now + timedelta(seconds=5),
        end=now + timedelta(seconds=40),
        participants=[SCHOOL_20, SCHOOL_12],
    )
    return occurrence


def test_an_unreachable_terminal_is_replaced_by_a_free_one_at_the_same_school(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    take_offline(region, "term-kem-20-hall")
    occurrence = book_lesson(region, uow_factory)

    with EmbeddedRunner(automation) as runner:
        automation.hook(runner).occurrences_changed([occurrence])
        wait_for(
            lambda: automation.store.sessions([occurrence])[occurrence].state is S.LIVE,
            timeout=10,
            explain=lambda: story(automation, occurrence),
        )
        session = automation.store.sessions([occurrence])[occurrence]

    assert session.terminal_ids == ["term-kem-20-it", "term-kem-12"]
    assert session.at_risk == ""
    switch = next(h for h in automation.store.history(occurrence) if h.cause == "preflight")
    assert switch.reason.startswith("switched term-kem-20-hall → term-kem-20-it")
    assert switch.details["from"] == "term-kem-20-hall"
    ((_, meeting),) = region.meetings_of(occurrence)
    callers = sorted(a.full_name for a in meeting.attendees.values() if a.sip)
    assert callers == sorted(["Кабинет информатики", "Кабинет 12"])
    events = automation.store.events(occurrence)
    switched = [e for e in events if e.type == TERMINAL_SWITCHED]
    assert [(e.payload["from"], e.payload["to"]) for e in switched] == [
        ("term-kem-20-hall", "term-kem-20-it")
    ]
