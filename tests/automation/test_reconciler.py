"""The reconciler watches running lessons: a terminal that dropped out is redialled
(the lesson shows `degraded` meanwhile, then `live` again); a room that vanished with its
server is made again. The decisions on the memory store and fake devices; one run on the
simulators (slow)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.conference.platform import LinkRole
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import OccurrenceState
from booking.lifecycle import Step
from tests.automation.conftest import database_on, story, wait_for
from tests.automation.fakes import LESSON, bench
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from vks.automation.hardware import HardwareDevices
from vks.automation.rooms import room_of
from vks.automation.service import Automation
from vks.jobs.embedded import EmbeddedRunner

S = OccurrenceState

database_url = database_on(
    "sqlite", "embedded mode, as deployed: SQLite (both backends: test_embedded_runner)"
)


def test_a_terminal_that_dropped_out_is_reported_and_its_start_made_due() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.devices.drop("term-kem-12")  # the codec drops the call
    b.at(LESSON + timedelta(minutes=3))

    report = b.reconcile()

    degraded = b.store.history(occurrence)[-1]
    plan = b.store.plans([occurrence])[occurrence]
    assert (report.watched, report.redial) == (1, [occurrence])
    assert (degraded.to_state, degraded.cause) == ("degraded", "reconciler")
    assert degraded.reason == "dropped out: term-kem-12"
    assert (plan.step, plan.due_at) == (Step.START, LESSON + timedelta(minutes=3))
    assert b.waker.instants[-1] == LESSON + timedelta(minutes=3)


def test_each_poll_of_a_live_lesson_keeps_the_peak_of_people_joined_by_link() -> None:
    b = bench()
    occurrence = b.live_lesson()
    seen = []
    for minute, people in ((3, 2), (6, 5), (9, 1)):  # two parents, five, then one stays
        b.devices.by_link[occurrence] = people
        b.at(LESSON + timedelta(minutes=minute))
        b.reconcile()
        seen.append(b.store.link_peaks([occurrence]))

    assert seen == [{occurrence: 2}, {occurrence: 5}, {occurrence: 5}]
    assert [h.to_state for h in b.store.history(occurrence)][-1] == "live"  # a count, no fault


def test_a_lesson_nobody_joined_by_link_keeps_no_peak() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.at(LESSON + timedelta(minutes=3))

    b.reconcile()

    assert b.store.link_peaks([occurrence]) == {}


def test_the_redial_brings_the_dropped_terminal_back_and_the_lesson_live() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.devices.drop("term-kem-12")
    b.at(LESSON + timedelta(minutes=3))
    b.reconcile()
    b.devices.dialled.clear()

    b.run_due()

    live = b.store.history(occurrence)[-1]
    assert (live.to_state, live.cause) == ("live", "redial")
    assert live.details["dialled"] == ["term-kem-12"]
    assert b.devices.dialled == ["term-kem-12"]
    assert b.devices.created == [occurrence]


def test_a_room_that_vanished_with_its_server_is_made_again_on_another() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.devices.open_rooms.clear()  # the server restarted: its meetings are gone
    b.devices.calls.clear()
    b.at(LESSON + timedelta(minutes=3))

    b.reconcile()
    gone = b.store.history(occurrence)[-1]
    b.run_due()

    room = b.session(occurrence).room
    assert gone.reason == "the room is gone or empty: term-kem-12, term-kem-20-hall"
    assert room is not None and room.generation == 2
    assert b.devices.created == [occurrence, occurrence]
    assert b.state(occurrence) is S.LIVE


def test_every_round_lets_the_devices_end_rooms_left_on_a_server_that_came_back() -> None:
    b = bench()
    b.live_lesson()

    b.reconcile()
    b.reconcile()

    assert b.devices.tidied == 2


def test_a_complete_live_lesson_is_left_alone() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.at(LESSON + timedelta(minutes=3))

    report = b.reconcile()

    assert (report.watched, report.redial) == (1, [])
    assert b.causes(occurrence)[-1] == ("live", "start")
    assert b.store.plans([occurrence])[occurrence].step is Step.END


@pytest.mark.slow
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


@pytest.mark.slow
def test_people_who_follow_the_join_link_are_counted_on_the_simulated_server(
    automation: Automation, region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    now = datetime.now(UTC)
    _, occurrence = region.book(
        uow_factory,
        title="Физика 9 класс",
        start=now + timedelta(seconds=2),
        end=now + timedelta(seconds=60),
        participants=[SCHOOL_20, SCHOOL_12],
    )
    devices = automation.devices
    assert isinstance(devices, HardwareDevices)

    with EmbeddedRunner(automation) as runner:
        automation.hook(runner).occurrences_changed([occurrence])
        wait_for(lambda: automation.store.sessions([occurrence])[occurrence].state is S.LIVE, 6)
        room = room_of(automation.store.rooms([occurrence])[occurrence])
        assert room is not None
        with httpx.Client(follow_redirects=True) as http:  # two pupils at home, by the link
            for user, name in (("pupil-1", "Ершова Анна"), ("pupil-2", "Белов Кирилл")):
                link = devices.pool.join_link(room, LinkRole.ATTENDEE, name, user)
                assert http.get(link).status_code == 200
        wait_for(
            lambda: automation.store.link_peaks([occurrence]) == {occurrence: 2},
            timeout=8,
            explain=lambda: f"peaks {automation.store.link_peaks([occurrence])}",
        )

    ((_, meeting),) = region.meetings_of(occurrence)
    assert len([a for a in meeting.attendees.values() if a.sip]) == 2  # the terminals apart
