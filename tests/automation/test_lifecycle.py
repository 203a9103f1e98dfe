"""The lifecycle rules (pure): transitions, timing, start outcomes, the backoff of every
retry, the camera preset of a terminal."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from booking.automation_store import camera_preset
from booking.bookings import OccurrenceState, SessionKind
from booking.errors import Conflict
from booking.lifecycle import (
    IllegalTransition,
    Plan,
    Step,
    Timing,
    backoff,
    check_endable,
    check_transition,
    next_step,
    retry_after,
    start_outcome,
    window,
)
from tests.automation.fakes import terminal
from tests.automation.region import SCHOOL_12, SCHOOL_20
from vks.automation.events import retry_delay

S = OccurrenceState
LESSON = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 09:00 in Kemerovo, 3rd lesson-ish
TIMING = Timing()  # production defaults: pre-flight 30 min, start 5 min, grace 10 min


def test_the_happy_path_is_a_chain_of_allowed_transitions() -> None:
    chain = [S.SCHEDULED, S.CHECKING, S.PREPARING, S.LIVE, S.ENDING, S.ENDED]
    for current, new in itertools.pairwise(chain):
        check_transition(current, new)
    check_transition(S.LIVE, S.DEGRADED)
    check_transition(S.DEGRADED, S.LIVE)


@pytest.mark.parametrize(
    ("current", "new"),
    [(S.ENDED, S.LIVE), (S.LIVE, S.FAILED), (S.SCHEDULED, S.LIVE), (S.CANCELLED, S.PREPARING)],
)
def test_impossible_transitions_are_refused(current: S, new: S) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, new)


def test_a_full_broadcast_is_checked_30_and_started_5_minutes_before_the_lesson() -> None:
    win = window(SessionKind.FULL_BROADCAST, LESSON, LESSON + timedelta(minutes=40), TIMING)
    assert win is not None
    assert win.preflight_at == LESSON - timedelta(minutes=30)
    assert win.start_at == LESSON - timedelta(minutes=5)
    assert win.online_until == LESSON + timedelta(minutes=40)
    assert win.give_up_at == LESSON + timedelta(minutes=10)


def test_a_partial_broadcast_opens_only_its_sub_slot() -> None:
    win = window(
        SessionKind.PARTIAL_BROADCAST,
        LESSON,
        LESSON + timedelta(minutes=40),
        TIMING,
        broadcast_offset_minutes=20,
        broadcast_minutes=15,
    )
    assert win is not None
    assert win.online_from == LESSON + timedelta(minutes=20)
    assert win.start_at == LESSON + timedelta(minutes=15)
    assert win.online_until == LESSON + timedelta(minutes=35)


@pytest.mark.parametrize("kind", [SessionKind.RECORDING, SessionKind.LMS])
def test_recordings_and_lms_lessons_start_nothing(kind: SessionKind) -> None:
    assert window(kind, LESSON, LESSON + timedelta(minutes=40), TIMING) is None
    assert next_step(S.SCHEDULED, None, LESSON - timedelta(hours=1)).step is Step.NONE


def test_the_start_lead_can_differ_per_kind_of_session() -> None:
    timing = Timing(start_lead_by_kind={SessionKind.EVENT: timedelta(minutes=15)})
    event = window(SessionKind.EVENT, LESSON, LESSON + timedelta(hours=2), timing)
    lesson = window(SessionKind.FULL_BROADCAST, LESSON, LESSON + timedelta(hours=1), timing)
    assert event is not None and lesson is not None
    assert event.start_at == LESSON - timedelta(minutes=15)
    assert lesson.start_at == LESSON - timedelta(minutes=5)


def test_next_steps_follow_the_state() -> None:
    win = window(SessionKind.FULL_BROADCAST, LESSON, LESSON + timedelta(minutes=40), TIMING)
    assert win is not None
    an_hour_before = LESSON - timedelta(hours=1)
    assert next_step(S.SCHEDULED, win, an_hour_before) == Plan(Step.PREFLIGHT, win.preflight_at)
    assert next_step(S.CHECKING, win, an_hour_before) == Plan(Step.START, win.start_at)
    # booked 2 minutes before the lesson: no pre-flight, straight to the start
    late = LESSON - timedelta(minutes=2)
    assert next_step(S.SCHEDULED, win, late) == Plan(Step.START, win.start_at)
    assert next_step(S.LIVE, win, LESSON) == Plan(Step.END, win.online_until)
    retry = LESSON + timedelta(seconds=20)
    assert next_step(S.DEGRADED, win, LESSON, retry_at=retry) == Plan(Step.START, retry)
    assert next_step(S.PREPARING, win, LESSON) == Plan(Step.START, LESSON)  # interrupted
    assert next_step(S.LIVE, win, LESSON, cancelled=True) == Plan(Step.END, LESSON)
    assert next_step(S.ENDED, win, LESSON).step is Step.NONE


def test_a_partial_start_is_degraded_and_none_by_the_grace_period_is_failed() -> None:
    give_up = LESSON + timedelta(minutes=10)
    both = ["term-kem-20-hall", "term-kem-12"]
    assert start_outcome(both, both, LESSON, give_up).state is S.LIVE
    partial = start_outcome(both, ["term-kem-20-hall"], LESSON, give_up, {"term-kem-12": "busy"})
    assert (partial.state, partial.retry) == (S.DEGRADED, True)
    assert partial.reason == "not in the room: term-kem-12: busy"
    waiting = start_outcome(both, [], LESSON, give_up)
    assert (waiting.state, waiting.retry) == (S.PREPARING, True)
    failed = start_outcome(both, [], give_up, give_up)
    assert (failed.state, failed.retry) == (S.FAILED, False)


def test_failed_dials_are_retried_with_growing_pauses() -> None:
    pauses = [retry_after(n, TIMING).total_seconds() for n in range(1, 7)]
    assert pauses == [5, 10, 20, 40, 60, 60]


def test_webhook_deliveries_back_off_by_the_same_rule_up_to_ten_minutes() -> None:
    pauses = [retry_delay(n).total_seconds() for n in range(1, 9)]
    assert pauses == [10, 20, 40, 80, 160, 320, 600, 600]
    assert [backoff(n, timedelta(seconds=5), timedelta(seconds=60)) for n in (1, 4, 5)] == [
        retry_after(n, TIMING) for n in (1, 4, 5)
    ]


def test_a_camera_takes_the_preset_booked_with_its_terminal() -> None:
    assert camera_preset([SCHOOL_20, SCHOOL_12], terminal("term-kem-12")) == "board"
    assert camera_preset([SCHOOL_20, SCHOOL_12], terminal("term-kem-20-hall")) == "teacher"


def test_a_backup_terminal_takes_the_preset_of_its_school() -> None:
    assert camera_preset([SCHOOL_20, SCHOOL_12], terminal("term-kem-20-it")) == "teacher"
    assert camera_preset([SCHOOL_12], terminal("term-kem-20-it")) is None


def test_ending_an_occurrence_that_is_over_and_closed_is_refused_with_the_reason() -> None:
    check_endable("occ-1", S.LIVE, "", room_open=True)  # running: fine
    check_endable("occ-1", S.FAILED, "no terminal joined", room_open=True)  # room left open

    with pytest.raises(Conflict) as refused:
        check_endable("occ-1", S.ENDED, "term-kem-12: device_unreachable", room_open=False)

    assert str(refused.value).startswith(
        "occurrence occ-1 is already ended (term-kem-12: device_unreachable): there is nothing"
    )
