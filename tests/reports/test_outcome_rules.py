"""The rules that turn a lesson's history into its outcome (`booking.outcomes`), on their
own: causes of failures, a terminal that dropped out, a lesson the automation never ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.automation_store import TransitionRecord
from booking.bookings import OccurrenceState
from booking.outcomes import Cause, LessonFacts, OutcomeKind, derive, failure_cause

S = OccurrenceState
START = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 9:00 in Кемерово
T20, T41 = "term-kem20-1", "term-kem41-1"


def facts(state: S) -> LessonFacts:
    return LessonFacts(
        "occ-1110",
        START,
        START + timedelta(minutes=40),
        state,
        "",
        False,
        None,
        {T20: "kem-school-20", T41: "kem-school-41"},
        ["kem-school-20", "kem-school-41"],
    )


def step(minutes: float, to: S, cause: str = "start", reason: str = "") -> TransitionRecord:
    return TransitionRecord(
        "occ-1110", START + timedelta(minutes=minutes), "", to, cause, reason, {}
    )


def test_failures_are_classified_by_what_went_wrong() -> None:
    assert (
        failure_cause("start", "the room could not be created: server_at_capacity") is Cause.SERVER
    )
    assert (
        failure_cause(
            "start", f"no terminal joined by the grace period: {T20}: device_unreachable: timed out"
        )
        is Cause.TERMINAL
    )
    assert (
        failure_cause(
            "start", f"no terminal joined by the grace period: {T20}: dialled, but not in the room"
        )
        is Cause.NOBODY_JOINED
    )
    assert (
        failure_cause(
            "reconciler", "never started: no worker ran the start before the lesson ended"
        )
        is Cause.AUTOMATION
    )


def test_a_terminal_that_dropped_out_for_ten_minutes_makes_the_lesson_partly_held() -> None:
    history = [
        step(-5, S.PREPARING),
        step(-1, S.LIVE),
        step(
            12, S.DEGRADED, "terminal", f"dropped out: {T41}: the terminal reported its call ended"
        ),
        step(22, S.LIVE, "redial"),
        step(40, S.ENDING, "end"),
        step(40.1, S.ENDED, "end"),
    ]

    outcome = derive(facts(S.ENDED), history)

    assert outcome is not None and outcome.kind is OutcomeKind.PARTIAL
    assert outcome.missing == {"kem-school-41": 600}
    assert outcome.present_s == {"kem-school-20": 2400, "kem-school-41": 1800}


def test_a_lesson_never_started_is_failed_by_the_automation_an_hour_after_its_end() -> None:
    assert derive(facts(S.SCHEDULED), [], now=START + timedelta(minutes=50)) is None

    outcome = derive(facts(S.SCHEDULED), [], now=START + timedelta(hours=2))

    assert outcome is not None
    assert (outcome.kind, outcome.cause) == (OutcomeKind.FAILED, Cause.AUTOMATION)
