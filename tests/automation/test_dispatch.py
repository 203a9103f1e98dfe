"""What the dispatcher does with a claimed step — pre-flight, start, end — and what it
writes: states, history, events, the next step. On the memory store, fake devices and a
frozen clock: a lesson at 09:00 in Kemerovo (02:00 UTC) with production lead times."""

from __future__ import annotations

from datetime import timedelta

from booking.automation_store import AT_RISK, STATE_CHANGED, TERMINAL_SWITCHED
from booking.bookings import OccurrenceState
from booking.lifecycle import Step
from tests.automation.fakes import LESSON, bench, lesson, terminal
from tests.automation.region import SCHOOL_NAMES

S = OccurrenceState
START_AT = LESSON - timedelta(minutes=5)
PREFLIGHT_AT = LESSON - timedelta(minutes=30)
END_AT = LESSON + timedelta(minutes=40)


# --- the start ------------------------------------------------------------------------------
def test_a_due_start_makes_one_room_dials_every_terminal_points_the_cameras_and_goes_live() -> None:
    b = bench()
    occurrence = b.checked_lesson()
    b.at(START_AT)

    report = b.run_due()

    room = b.session(occurrence).room
    assert room is not None
    assert report.claimed == 1
    assert b.causes(occurrence) == [("preparing", "start"), ("live", "start")]
    assert b.devices.created == [occurrence]
    assert b.devices.calls == {
        "term-kem-20-hall": room.sip_address,
        "term-kem-12": room.sip_address,
    }
    assert b.devices.presets == {"cam-kem-20-hall": "teacher", "cam-kem-12": "board"}
    assert b.event_types(occurrence) == [STATE_CHANGED, STATE_CHANGED]
    assert b.store.events(occurrence)[-1].payload["to"] == "live"
    plan = b.store.plans([occurrence])[occurrence]
    assert (plan.step, plan.due_at, plan.status) == (Step.END, END_AT, "pending")


def test_a_start_run_again_reuses_the_room_and_dials_only_the_missing_terminal() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.devices.drop("term-kem-12")
    b.devices.dialled.clear()

    b.automation.hook(b.waker).start_now([occurrence])
    b.run_due()

    assert b.devices.created == [occurrence]  # still one room
    assert b.devices.dialled == ["term-kem-12"]
    assert b.state(occurrence) is S.LIVE


def test_a_busy_terminal_makes_a_degraded_start_retried_after_a_pause() -> None:
    b = bench()
    b.add(  # the lesson before, running late on the same terminal, explains its call
        lesson("occ-chemistry-9", start=LESSON - timedelta(minutes=45), state=S.LIVE)
    )
    occurrence = b.checked_lesson()
    b.devices.calls["term-kem-12"] = "sip:vks-occ-chemistry-9-1@bbb-1.rcc.example.ru"
    b.at(START_AT)

    b.run_due()
    degraded = b.store.history(occurrence)[-1]
    retry = b.store.plans([occurrence])[occurrence]
    del b.devices.calls["term-kem-12"]  # the school hung up
    b.at(START_AT + timedelta(seconds=5))
    b.run_due()

    assert (degraded.to_state, degraded.cause) == ("degraded", "start")
    assert degraded.reason.startswith("not in the room: term-kem-12: device_busy")
    assert (retry.step, retry.due_at, retry.attempts) == (
        Step.START,
        START_AT + timedelta(seconds=5),  # the first pause of the backoff
        1,
    )
    assert retry.last_error.startswith("term-kem-12: device_busy")
    assert b.causes(occurrence)[-1] == ("live", "redial")
    assert b.store.history(occurrence)[-1].details["dialled"] == ["term-kem-12"]


def test_a_terminal_left_in_an_ended_lessons_call_is_hung_up_and_dialled_at_the_start() -> None:
    b = bench()
    b.add(lesson("occ-chemistry-9", start=LESSON - timedelta(minutes=45), state=S.ENDED))
    occurrence = b.checked_lesson()
    stale = "sip:vks-occ-chemistry-9-1@bbb-1.rcc.example.ru"
    b.devices.calls["term-kem-12"] = stale  # its hang-up failed during a "down" phase
    b.at(START_AT)

    b.run_due()

    room = b.session(occurrence).room
    assert room is not None
    assert b.state(occurrence) is S.LIVE
    assert b.devices.hung_up == ["term-kem-12"]
    assert b.devices.calls["term-kem-12"] == room.sip_address
    assert b.store.history(occurrence)[-1].details["hung_up"] == {"term-kem-12": stale}


def test_nobody_in_the_room_by_the_grace_period_fails_the_lesson_and_closes_its_room() -> None:
    b = bench()
    occurrence = b.checked_lesson()
    b.devices.never_join = {"term-kem-20-hall", "term-kem-12"}
    b.at(START_AT)
    b.run_due()
    waiting = b.state(occurrence)

    b.at(LESSON + timedelta(minutes=10))  # give up: lesson start + grace
    b.run_due()
    failed = b.session(occurrence)
    b.run_due()  # the planner asked for the room to be closed

    assert waiting is S.PREPARING
    assert failed.state is S.FAILED
    assert failed.state_reason.startswith("no terminal joined")
    room = b.session(occurrence).room
    assert room is not None and room.ended_at == LESSON + timedelta(minutes=10)
    assert b.devices.open_rooms == set()


def test_a_start_claimed_late_records_how_late() -> None:
    b = bench()
    occurrence = b.checked_lesson()
    b.at(START_AT + timedelta(seconds=90))  # the worker was down at 01:55

    b.run_due()

    preparing = b.store.history(occurrence)[0]
    assert preparing.reason == "started 90 s late"
    assert preparing.details["late_s"] == 90
    assert b.state(occurrence) is S.LIVE


def test_a_lesson_booked_after_its_start_instant_is_not_counted_late() -> None:
    booked_at = LESSON - timedelta(minutes=2)
    b = bench(now=booked_at)
    (occurrence,) = b.add(lesson())
    b.announce(occurrence)

    b.run_due()

    preparing = b.store.history(occurrence)[0]
    assert (preparing.to_state, preparing.reason, preparing.details["late_s"]) == (
        "preparing",
        "",
        0,
    )
    assert b.state(occurrence) is S.LIVE


def test_a_start_claimed_after_the_lesson_was_cancelled_touches_no_device() -> None:
    b = bench()
    occurrence = b.checked_lesson()
    b.add(lesson(state=S.CHECKING, cancelled=True, occurrence_version=2))  # nobody announced
    b.at(START_AT)

    report = b.run_due()

    assert report.steps == {"none": 1}
    assert b.devices.created == []
    assert b.state(occurrence) is S.CANCELLED
    assert "preparing" not in [to for to, _ in b.causes(occurrence)]


# --- the end --------------------------------------------------------------------------------
def test_at_its_end_a_lesson_hangs_up_ends_its_room_and_sends_the_cameras_home() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.at(END_AT)

    b.run_due()

    room = b.session(occurrence).room
    assert b.causes(occurrence)[-2:] == [("ending", "end"), ("ended", "end")]
    assert room is not None and room.ended_at == END_AT
    assert b.devices.calls == {}
    assert b.devices.open_rooms == set()
    assert b.devices.presets == {"cam-kem-20-hall": "home", "cam-kem-12": "home"}
    assert b.store.plans([occurrence])[occurrence].step is Step.NONE


def test_an_operator_ends_a_running_lesson_at_once() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.at(LESSON + timedelta(minutes=12))

    made_due = b.automation.hook(b.waker).end_now([occurrence])
    b.run_due()

    assert made_due == {occurrence}
    assert b.waker.instants[-1] == LESSON + timedelta(minutes=12)
    assert [to for to, _ in b.causes(occurrence)][-2:] == ["ending", "ended"]
    assert b.devices.open_rooms == set()


def test_the_end_leaves_alone_a_terminal_already_in_its_next_lesson() -> None:
    b = bench()
    occurrence = b.live_lesson()
    next_room = "sip:vks-occ-chemistry-9-1@bbb-1.rcc.example.ru"
    b.devices.calls["term-kem-12"] = next_room  # dialled into the next lesson already
    b.at(END_AT)

    b.run_due()

    assert b.devices.hung_up == ["term-kem-20-hall"]
    assert b.devices.calls == {"term-kem-12": next_room}
    assert b.state(occurrence) is S.ENDED


def test_an_end_the_server_does_not_answer_is_retried_then_recorded_with_the_reason() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.devices.server_down = True
    b.at(END_AT)

    retries = []
    for _ in range(3):  # end_attempts
        b.run_due()
        plan = b.store.plans([occurrence])[occurrence]
        retries.append((b.state(occurrence), plan.step))
        if plan.due_at is not None:
            b.at(plan.due_at)

    assert retries == [(S.ENDING, Step.END), (S.ENDING, Step.END), (S.ENDED, Step.NONE)]
    ended = b.store.history(occurrence)[-1]
    assert ended.reason.startswith("the room could not be ended: device_unreachable")


def test_a_terminal_the_end_could_not_hang_up_is_hung_up_by_a_retry_once_it_answers() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.devices.unreachable = {"term-kem-12"}  # a "down" phase of a flapping codec
    b.at(END_AT)

    b.run_due()
    first = (b.state(occurrence), b.store.plans([occurrence])[occurrence])
    b.devices.unreachable = set()
    assert first[1].due_at is not None
    b.at(first[1].due_at)
    b.run_due()

    assert (first[0], first[1].step) == (S.ENDING, Step.END)
    assert first[1].last_error.startswith("term-kem-12: device_unreachable")
    assert b.devices.open_rooms == set()  # the room was ended at once
    assert b.devices.hung_up == ["term-kem-20-hall", "term-kem-12"]
    assert b.devices.calls == {}
    assert b.state(occurrence) is S.ENDED
    assert b.store.history(occurrence)[-1].reason == ""


# --- the pre-flight -------------------------------------------------------------------------
def test_the_pre_flight_hangs_up_a_call_nobody_booked() -> None:
    b = bench(now=PREFLIGHT_AT)
    (occurrence,) = b.add(lesson())
    b.devices.calls["term-kem-12"] = "sip:vks-occ-chemistry-9-1@bbb-1.rcc.example.ru"
    b.announce(occurrence)

    b.run_due()

    checked = b.session(occurrence)
    assert checked.state is S.CHECKING
    assert checked.at_risk == ""
    assert checked.terminal_ids == ["term-kem-20-hall", "term-kem-12"]  # not switched
    assert b.devices.calls == {}
    note = next(h for h in b.store.history(occurrence) if h.reason.startswith("hung up"))
    assert note.reason == (
        "hung up term-kem-12: in a call nobody booked"
        " (sip:vks-occ-chemistry-9-1@bbb-1.rcc.example.ru)"
    )


def test_an_unreachable_terminal_is_replaced_by_a_free_one_at_the_same_school() -> None:
    b = bench(now=PREFLIGHT_AT)
    (occurrence,) = b.add(lesson())
    b.spares(["term-kem-20-it"])
    b.devices.unreachable = {"term-kem-20-hall"}
    b.announce(occurrence)

    b.run_due()
    checked = b.session(occurrence)
    b.at(START_AT)
    b.run_due()

    assert checked.state is S.CHECKING
    assert checked.terminal_ids == ["term-kem-20-it", "term-kem-12"]
    assert checked.at_risk == ""
    switch = next(h for h in b.store.history(occurrence) if h.cause == "preflight")
    assert switch.reason.startswith("switched term-kem-20-hall → term-kem-20-it")
    assert switch.details["from"] == "term-kem-20-hall"
    switched = [e for e in b.store.events(occurrence) if e.type == TERMINAL_SWITCHED]
    assert [(e.payload["from"], e.payload["to"]) for e in switched] == [
        ("term-kem-20-hall", "term-kem-20-it")
    ]
    assert switched[0].payload["where"] == (
        f"the class of {SCHOOL_NAMES['kem-school-20']} goes to"
        f" «{terminal('term-kem-20-it').name}» instead of «{terminal('term-kem-20-hall').name}»"
    )
    assert switch.reason.endswith(switched[0].payload["where"])
    assert b.state(occurrence) is S.LIVE
    assert sorted(b.devices.calls) == ["term-kem-12", "term-kem-20-it"]


def test_without_a_backup_the_lesson_is_at_risk_and_starts_degraded() -> None:
    b = bench(now=PREFLIGHT_AT)
    (occurrence,) = b.add(lesson())
    b.devices.unreachable = {"term-kem-12"}
    b.announce(occurrence)

    b.run_due()
    at_risk = b.session(occurrence).at_risk
    b.at(START_AT)
    b.run_due()

    assert at_risk.startswith("terminal term-kem-12:")
    assert "no free backup at the site" in at_risk
    risk_events = [e for e in b.store.events(occurrence) if e.type == AT_RISK]
    assert [e.payload["problems"] for e in risk_events] == [[at_risk]]
    degraded = next(h for h in b.store.history(occurrence) if h.to_state == "degraded")
    assert degraded.reason.startswith("not in the room: term-kem-12")
    assert list(b.devices.calls) == ["term-kem-20-hall"]


def test_a_lesson_live_after_a_redial_no_longer_says_it_is_at_risk() -> None:
    b = bench(now=PREFLIGHT_AT)
    (occurrence,) = b.add(lesson())
    b.devices.unreachable = {"term-kem-12"}
    b.announce(occurrence)
    b.run_due()
    b.at(START_AT)
    b.run_due()
    degraded = b.session(occurrence)
    b.devices.unreachable = set()  # the codec is back

    b.at(START_AT + timedelta(seconds=5))
    b.run_due()

    assert degraded.state is S.DEGRADED and "no free backup" in degraded.at_risk
    live = b.session(occurrence)
    assert (live.state, live.at_risk) == (S.LIVE, "")
    assert "no free backup" in b.store.history(occurrence)[-1].details["at_risk_cleared"]


def test_a_silent_camera_and_full_servers_put_the_lesson_at_risk_but_change_no_terminal() -> None:
    b = bench(now=PREFLIGHT_AT)
    (occurrence,) = b.add(lesson())
    b.devices.unreachable = {"cam-kem-12"}
    b.devices.capacity = "every server is at its limit of rooms"
    b.announce(occurrence)

    b.run_due()

    checked = b.session(occurrence)
    assert checked.state is S.CHECKING
    assert checked.terminal_ids == ["term-kem-20-hall", "term-kem-12"]
    assert checked.at_risk == (
        "camera cam-kem-12: unreachable; servers: every server is at its limit of rooms"
    )
    plan = b.store.plans([occurrence])[occurrence]
    assert (plan.step, plan.due_at) == (Step.START, START_AT)


def test_a_pre_flight_claimed_too_close_to_the_start_starts_the_lesson_instead() -> None:
    b = bench(now=PREFLIGHT_AT)
    (occurrence,) = b.add(lesson())
    b.announce(occurrence)
    b.at(START_AT + timedelta(seconds=30))  # the pre-flight's worker was down

    report = b.run_due()

    assert report.steps == {"start": 1}
    assert b.causes(occurrence) == [("preparing", "start"), ("live", "start")]


def test_a_step_is_claimed_by_one_worker_only() -> None:
    b = bench()
    occurrence = b.checked_lesson()
    b.at(START_AT)
    claims = b.store.claim(START_AT, "w-2", timedelta(minutes=2), 10)  # another worker

    report = b.run_due()

    assert [c.occurrence_id for c in claims] == [occurrence]
    assert report.claimed == 0
    assert b.devices.created == []
