"""The pre-flight check before a lesson: a terminal that does not answer is replaced by a
free terminal at the same school; where there is none, the lesson is marked at risk and
an event says so — and the lesson still starts with the schools that can join."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import OccurrenceState
from tests.automation.conftest import database_on, story, wait_for
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from vks.automation.events import AT_RISK, TERMINAL_SWITCHED
from vks.automation.service import Automation
from vks.jobs.embedded import EmbeddedRunner

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


def test_without_a_backup_the_lesson_is_at_risk_and_starts_degraded(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    take_offline(region, "term-kem-12")
    occurrence = book_lesson(region, uow_factory)

    with EmbeddedRunner(automation) as runner:
        automation.hook(runner).occurrences_changed([occurrence])
        checked = wait_for(
            lambda: automation.store.sessions([occurrence])[occurrence].at_risk,
            timeout=6,
            explain=lambda: story(automation, occurrence),
        )
        wait_for(
            lambda: automation.store.sessions([occurrence])[occurrence].state is S.DEGRADED,
            timeout=10,
            explain=lambda: story(automation, occurrence),
        )

    assert checked.startswith("terminal term-kem-12:")
    assert "no free backup at the site" in checked
    risk_events = [e for e in automation.store.events(occurrence) if e.type == AT_RISK]
    assert len(risk_events) == 1
    assert risk_events[0].payload["problems"] == [checked]
    degraded = next(h for h in automation.store.history(occurrence) if h.to_state == "degraded")
    assert degraded.reason.startswith("not in the room: term-kem-12")
    ((_, meeting),) = region.meetings_of(occurrence)
    assert [a.full_name for a in meeting.attendees.values() if a.sip] == ["Актовый зал"]
