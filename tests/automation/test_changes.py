"""Changes reach the automation at once: a moved lesson starts at its new time, a
cancelled one never starts (or ends at once if it is running), a lesson booked after its
start-lead instant still starts — and, in embedded mode, even a booking nobody told the
automation about is picked up within seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import OccurrenceState
from booking.lifecycle import Step
from booking.services.bookings import cancel_booking, cancel_occurrence, move_occurrence
from tests.automation.conftest import database_on, story, wait_for
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from vks.automation.service import Automation
from vks.jobs.embedded import EmbeddedRunner

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


def test_a_moved_lesson_is_started_at_its_new_time(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    occurrence = book(region, uow_factory, in_s=600)
    with EmbeddedRunner(automation) as runner:
        hook = automation.hook(runner)
        hook.occurrences_changed([occurrence])
        planned = automation.store.plans([occurrence])[occurrence]

        now = datetime.now(UTC)
        new_start = now + timedelta(seconds=3)
        move_occurrence(
            uow_factory(),
            region.rcc,
            occurrence,
            now=now,
            start=new_start,
            end=new_start + timedelta(seconds=30),
        )
        hook.occurrences_changed([occurrence])
        moved = automation.store.plans([occurrence])[occurrence]
        wait_for(
            lambda: state(automation, occurrence) is S.LIVE,
            timeout=8,
            explain=lambda: story(automation, occurrence),
        )

    assert planned.step is Step.PREFLIGHT
    assert planned.due_at is not None and planned.due_at > now + timedelta(seconds=500)
    assert moved.due_at is not None and moved.due_at < now + timedelta(seconds=3)
    assert len(region.meetings_of(occurrence)) == 1


def test_a_cancelled_lesson_never_starts(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    occurrence = book(region, uow_factory, in_s=3)
    with EmbeddedRunner(automation) as runner:
        hook = automation.hook(runner)
        hook.occurrences_changed([occurrence])
        cancel_occurrence(
            uow_factory(), region.rcc, occurrence, now=datetime.now(UTC), reason="карантин"
        )
        hook.occurrences_changed([occurrence])
        time.sleep(3.5)  # past the lesson's start
        plan = automation.store.plans([occurrence])[occurrence]

    assert plan.step is Step.NONE
    assert state(automation, occurrence) is S.CANCELLED
    assert region.meetings_of(occurrence) == []
    assert all(h.to_state != "preparing" for h in automation.store.history(occurrence))


def test_an_operator_ends_a_running_lesson_at_once(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    occurrence = book(region, uow_factory, in_s=2)
    with EmbeddedRunner(automation) as runner:
        hook = automation.hook(runner)
        hook.occurrences_changed([occurrence])
        wait_for(lambda: state(automation, occurrence) is S.LIVE, timeout=6)
        assert hook.end_now([occurrence]) == {occurrence}
        wait_for(
            lambda: state(automation, occurrence) is S.ENDED,
            timeout=4,
            explain=lambda: story(automation, occurrence),
        )

    assert region.meetings_of(occurrence) == []
    assert [h.to_state for h in automation.store.history(occurrence)][-2:] == ["ending", "ended"]


def test_cancelling_the_booking_leaves_a_running_lesson_alone(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    occurrence = book(region, uow_factory, in_s=2)
    with EmbeddedRunner(automation) as runner:
        hook = automation.hook(runner)
        hook.occurrences_changed([occurrence])
        wait_for(lambda: state(automation, occurrence) is S.LIVE, timeout=6)
        session = automation.store.sessions([occurrence], full=False)[occurrence]
        cancel_booking(uow_factory(), region.rcc, session.booking_id, now=datetime.now(UTC))
        hook.bookings_changed([session.booking_id])
        time.sleep(1.5)

        assert state(automation, occurrence) is S.LIVE
        assert len(region.meetings_of(occurrence)) == 1


def test_a_lesson_booked_after_its_start_instant_still_starts_and_is_not_late(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    with EmbeddedRunner(automation) as runner:
        occurrence = book(region, uow_factory, in_s=0.8)  # start lead is 1 s: already due
        automation.hook(runner).occurrences_changed([occurrence])
        wait_for(
            lambda: state(automation, occurrence) is S.LIVE,
            timeout=6,
            explain=lambda: story(automation, occurrence),
        )

    preparing = next(h for h in automation.store.history(occurrence) if h.to_state == "preparing")
    assert preparing.details["late_s"] < 0.5
    assert preparing.reason == ""


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
