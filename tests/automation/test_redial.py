"""A dropped call comes back within seconds: the terminal's own feedback (a push that its
call ended) makes the lesson redial at once, and every step a batch plans next (a start
after its pre-flight, a retry with backoff) is handed to the runner to wake for. On the
memory store, fake devices and a frozen clock: a lesson at 09:00 in Kemerovo."""

from __future__ import annotations

from datetime import timedelta

from booking.bookings import OccurrenceState
from tests.automation.fakes import LESSON, bench, lesson

S = OccurrenceState
START_AT = LESSON - timedelta(minutes=5)
PREFLIGHT_AT = LESSON - timedelta(minutes=30)


def test_a_terminal_reporting_its_call_ended_is_redialled_at_once() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.at(LESSON + timedelta(minutes=7))
    b.devices.drop("term-kem-12")
    b.devices.dialled.clear()

    made_due = b.automation.hook(b.waker).call_ended("term-kem-12", "RemoteDisconnect")
    degraded = b.state(occurrence)
    b.run_due()

    assert made_due == {occurrence}
    assert b.waker.instants[-1] == LESSON + timedelta(minutes=7)  # wake now, not in 20 s
    assert degraded is S.DEGRADED
    assert b.store.history(occurrence)[-2].reason == (
        "dropped out: term-kem-12: the terminal reported its call ended (RemoteDisconnect)"
    )
    assert b.devices.dialled == ["term-kem-12"]
    assert b.causes(occurrence)[-2:] == [("degraded", "terminal"), ("live", "redial")]


def test_a_call_ended_by_the_lessons_own_end_redials_nothing() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.at(LESSON + timedelta(minutes=40))
    b.run_due()  # the end hangs the terminals up; each reports its call ended

    made_due = b.automation.hook(b.waker).call_ended("term-kem-12", "LocalDisconnect")

    assert made_due == set()
    assert b.state(occurrence) is S.ENDED


def test_a_batch_reports_when_the_steps_it_planned_fall_due() -> None:
    b = bench(now=PREFLIGHT_AT)
    (occurrence,) = b.add(lesson())
    b.announce(occurrence)

    checked = b.run_due()
    b.devices.calls["term-kem-12"] = "sip:vks-occ-chemistry-9-1@bbb-1.rcc.example.ru"
    b.add(lesson("occ-chemistry-9", start=LESSON - timedelta(minutes=45), state=S.LIVE))
    b.at(START_AT)
    started = b.run_due()  # a busy terminal: a retry after the first pause of the backoff

    assert checked.next_due == [START_AT]
    assert started.next_due == [START_AT + timedelta(seconds=5)]
