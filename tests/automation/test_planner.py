"""The planner decides each occurrence's next step from its kind, times, state and
cancellation — on the memory store with a frozen clock (no devices, no database)."""

from __future__ import annotations

from datetime import timedelta

from booking.automation_store import PENDING, PlanWrite, TransitionWrite
from booking.bookings import BookingStatus, OccurrenceState, Participant, SessionKind
from booking.lifecycle import Step
from tests.automation.fakes import LESSON, bench, lesson

S = OccurrenceState


def test_a_lesson_is_checked_30_minutes_before_it_and_started_5_minutes_before() -> None:
    b = bench(now=LESSON - timedelta(hours=1))
    (occurrence,) = b.add(lesson())

    b.announce(occurrence)
    checked = b.store.plans([occurrence])[occurrence]
    b.store.transition(
        [TransitionWrite(occurrence, S.CHECKING, frozenset({S.SCHEDULED}), cause="preflight")],
        b.clock.now(),
    )
    b.announce(occurrence)
    started = b.store.plans([occurrence])[occurrence]

    assert (checked.step, checked.due_at) == (Step.PREFLIGHT, LESSON - timedelta(minutes=30))
    assert (started.step, started.due_at) == (Step.START, LESSON - timedelta(minutes=5))
    assert b.waker.instants == [checked.due_at, started.due_at]  # within the 2 h horizon


def test_the_planner_schedules_a_partial_broadcast_at_its_sub_slot_and_recordings_never() -> None:
    b = bench()
    partial, recording = b.add(
        lesson(
            "occ-biology-6",
            title="Биология 6 класс (трансляция фрагмента)",
            kind=SessionKind.PARTIAL_BROADCAST,
            broadcast_offset_minutes=20,
            broadcast_minutes=10,
        ),
        lesson(
            "occ-geography-rec",
            title="Видеоурок: география",
            kind=SessionKind.RECORDING,
            start=LESSON + timedelta(hours=1),
            participants=[Participant("kem-school-20", class_name="6А")],
        ),
    )

    b.announce(partial, recording)
    plans = b.store.plans([partial, recording])

    sub_slot = LESSON + timedelta(minutes=20)
    assert plans[partial].step is Step.PREFLIGHT
    assert plans[partial].due_at == sub_slot - timedelta(minutes=30)
    assert plans[recording].step is Step.NONE


def test_a_moved_lesson_moves_its_next_step() -> None:
    b = bench(now=LESSON - timedelta(hours=1))
    (occurrence,) = b.add(lesson())
    b.announce(occurrence)
    planned = b.store.plans([occurrence])[occurrence]

    now = b.clock.now()
    moved_to = now + timedelta(minutes=3)  # inside its start lead: started at once
    b.add(lesson(start=moved_to, setup_start=moved_to, occurrence_version=2))
    b.announce(occurrence)
    moved = b.store.plans([occurrence])[occurrence]

    assert (planned.step, planned.due_at) == (Step.PREFLIGHT, LESSON - timedelta(minutes=30))
    assert (moved.step, moved.due_at) == (Step.START, now)
    assert moved.occurrence_version == 2


def test_a_cancelled_lesson_is_cancelled_and_needs_nothing() -> None:
    b = bench(now=LESSON - timedelta(minutes=10))
    (occurrence,) = b.add(lesson())
    b.announce(occurrence)

    b.add(lesson(cancelled=True, state_reason="карантин", occurrence_version=2))
    b.announce(occurrence)

    plan = b.store.plans([occurrence])[occurrence]
    assert (plan.step, plan.status) == (Step.NONE, "idle")
    assert b.state(occurrence) is S.CANCELLED
    assert b.causes(occurrence) == [("cancelled", "booking")]
    assert b.store.history(occurrence)[0].reason == "карантин"


def test_cancelling_the_booking_leaves_a_running_lesson_to_end_at_its_time() -> None:
    b = bench(now=LESSON + timedelta(minutes=5))
    (occurrence,) = b.add(lesson(state=S.LIVE, booking_status=BookingStatus.CANCELLED))

    b.announce(occurrence)

    plan = b.store.plans([occurrence])[occurrence]
    assert (plan.step, plan.due_at) == (Step.END, LESSON + timedelta(minutes=40))
    assert b.state(occurrence) is S.LIVE


def test_cancelling_a_running_occurrence_ends_it_at_once() -> None:
    now = LESSON + timedelta(minutes=5)
    b = bench(now=now)
    (occurrence,) = b.add(lesson(state=S.LIVE, cancelled=True))

    b.announce(occurrence)

    plan = b.store.plans([occurrence])[occurrence]
    assert (plan.step, plan.due_at) == (Step.END, now)
    assert b.waker.instants == [now]


def test_a_lesson_booked_after_its_start_instant_is_started_now_and_not_counted_late() -> None:
    now = LESSON - timedelta(minutes=2)  # the start lead (5 min) has passed
    b = bench(now=now)
    (occurrence,) = b.add(lesson())

    b.announce(occurrence)

    plan = b.store.plans([occurrence])[occurrence]
    assert (plan.step, plan.due_at) == (Step.START, now)
    assert b.waker.instants == [now]


def test_a_lesson_nobody_started_before_its_end_is_failed() -> None:
    b = bench(now=LESSON + timedelta(minutes=41))
    (occurrence,) = b.add(lesson(state=S.CHECKING))

    b.announce(occurrence)

    assert b.state(occurrence) is S.FAILED
    assert b.store.history(occurrence)[0].reason.startswith("never started")
    assert b.store.plans([occurrence])[occurrence].step is Step.NONE


def test_a_pending_start_retry_survives_an_unrelated_edit() -> None:
    now = LESSON + timedelta(seconds=30)
    b = bench(now=now)
    (occurrence,) = b.add(lesson(state=S.DEGRADED))
    retry = now + timedelta(seconds=10)
    b.store.write_plans([PlanWrite(occurrence, Step.START, retry, 1, 1, attempts=2)], now)

    b.add(
        lesson(state=S.DEGRADED, title="Физика 8 класс: законы Ньютона (повтор)", booking_version=2)
    )
    b.announce(occurrence)

    plan = b.store.plans([occurrence])[occurrence]
    assert (plan.step, plan.due_at, plan.status) == (Step.START, retry, PENDING)
    assert plan.attempts == 2


def test_a_step_leased_by_a_worker_is_not_replanned_under_it() -> None:
    b = bench(now=LESSON - timedelta(minutes=5))
    (occurrence,) = b.add(lesson(state=S.CHECKING))
    b.announce(occurrence)
    (claim,) = b.store.claim(b.clock.now(), "w-2", timedelta(minutes=2), 10)

    b.add(lesson(state=S.CHECKING, cancelled=True, occurrence_version=2))
    b.announce(occurrence)

    plan = b.store.plans([occurrence])[occurrence]
    assert claim.step is Step.START
    assert (plan.status, plan.lease_owner, plan.step) == ("running", "w-2", Step.START)


def test_the_reconciler_plans_a_lesson_nobody_announced_and_wakes_the_runner() -> None:
    now = LESSON - timedelta(minutes=10)
    b = bench(now=now)
    (occurrence,) = b.add(lesson())  # no hook call

    report = b.reconcile()

    plan = b.store.plans([occurrence])[occurrence]
    assert report.planned == 1
    assert (plan.step, plan.due_at) == (Step.PREFLIGHT, now)  # its pre-flight is overdue
    assert b.waker.instants == [now]


def test_the_reconciler_wakes_the_runner_for_an_overdue_step_after_a_lost_queue() -> None:
    b = bench(now=LESSON - timedelta(minutes=10))
    (occurrence,) = b.add(lesson(state=S.CHECKING))
    b.announce(occurrence)
    b.at(LESSON - timedelta(minutes=2))  # the wake-up at 01:55 was lost with the queue

    report = b.reconcile()

    assert (report.planned, report.overdue, report.wake_ups) == (0, 1, 1)
    assert b.waker.instants[-1] == LESSON - timedelta(minutes=5)
