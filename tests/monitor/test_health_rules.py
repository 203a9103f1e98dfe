"""The pure rules of device health: hysteresis, what a poll means, uptime per local day,
the call a terminal should be in, and what makes a lesson at risk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.health import (
    AT_RISK_PREFIX,
    Booked,
    CallExpectation,
    DeviceHealth,
    DeviceKind,
    DeviceStatus,
    HealthState,
    Hysteresis,
    Limits,
    Needs,
    Observation,
    ServerLoad,
    TerminalStatus,
    UptimeLedger,
    assess_server,
    assess_terminal,
    expected_call,
    is_health_reason,
    month_total,
    risk_reason,
    split_by_day,
)

NOVOKUZNETSK = ZoneInfo("Asia/Novokuznetsk")  # UTC+7
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 in Kemerovo
RULES = Hysteresis(down_after=3, up_after=2)
OK = Observation(rtt_ms=12.0)
REFUSED = Observation(failure="connection refused")
HOT = Observation(problems=("temperature 86.0 °C",))


def run(health: DeviceHealth, *observations: Observation) -> list[HealthState]:
    """The state after each observation, one second apart."""
    states = []
    for i, obs in enumerate(observations):
        health.observe(obs, T0 + timedelta(seconds=i), RULES)
        states.append(health.state)
    return states


def test_a_device_goes_down_only_after_n_consecutive_failures() -> None:
    health = DeviceHealth()
    assert run(health, OK, REFUSED, REFUSED, REFUSED) == [
        HealthState.OK,
        HealthState.OK,
        HealthState.OK,
        HealthState.DOWN,
    ]
    assert health.cause == "connection refused"


def test_an_answer_between_failures_restarts_the_count() -> None:
    health = DeviceHealth()
    states = run(health, OK, REFUSED, REFUSED, OK, REFUSED, REFUSED)
    assert HealthState.DOWN not in states


def test_a_down_device_comes_back_after_m_answers_to_the_state_they_show() -> None:
    health = DeviceHealth()
    run(health, OK, REFUSED, REFUSED, REFUSED)
    assert run(health, OK) == [HealthState.DOWN]
    assert run(health, HOT) == [HealthState.DEGRADED]  # two answers; the latest has a problem
    assert run(health, OK, OK) == [HealthState.DEGRADED, HealthState.OK]


def test_first_answer_settles_an_unknown_device_but_failures_need_the_full_count() -> None:
    answered, failing = DeviceHealth(), DeviceHealth()
    assert run(answered, HOT) == [HealthState.DEGRADED]
    assert run(failing, REFUSED, REFUSED) == [HealthState.UNKNOWN, HealthState.UNKNOWN]
    assert run(failing, REFUSED) == [HealthState.DOWN]


def test_transitions_carry_the_time_and_cause_and_settling_asks_for_a_quick_recheck() -> None:
    health = DeviceHealth()
    health.observe(OK, T0, RULES)
    health.observe(REFUSED, T0 + timedelta(seconds=30), RULES)
    assert health.settling
    health.observe(REFUSED, T0 + timedelta(seconds=31), RULES)
    transition = health.observe(REFUSED, T0 + timedelta(seconds=32), RULES)

    assert transition is not None
    assert (transition.from_state, transition.to_state) == (HealthState.OK, HealthState.DOWN)
    assert transition.at == T0 + timedelta(seconds=32)
    assert transition.cause == "connection refused"
    assert not health.settling


def test_flapping_faster_than_the_hysteresis_never_changes_the_state() -> None:
    health = DeviceHealth()
    states = run(health, OK, *([REFUSED, REFUSED, OK] * 10))
    assert set(states) == {HealthState.OK}


def test_a_terminal_poll_is_judged_by_registration_heat_camera_and_call() -> None:
    lesson = Booked(T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=50), "Физика 9А")
    healthy = TerminalStatus(temperature_c=41.5, camera_connected=True)
    sick = TerminalStatus(
        sip_registration="Failed",
        temperature_c=86.0,
        camera_connected=False,
        in_call=True,
        call_remote="83412@vks.example.ru",
    )

    assert assess_terminal(healthy, CallExpectation.IDLE, Limits()).level is HealthState.OK
    assert assess_terminal(sick, CallExpectation.IDLE, Limits()).problems == (
        "SIP registration Failed",
        "temperature 86.0 °C",
        "camera not connected",
        "in a call it should not be in (83412@vks.example.ru)",
    )
    assert assess_terminal(healthy, CallExpectation.IN_CALL, Limits(), session=lesson).problems == (
        "not in the call it should be in (Физика 9А)",
    )
    assert assess_terminal(sick, CallExpectation.EITHER, Limits()).problems[-1] == (
        "camera not connected"
    )


def test_a_server_near_or_at_capacity_is_degraded() -> None:
    assert assess_server(ServerLoad(10, 100, 40, 400), Limits()).level is HealthState.OK
    assert assess_server(ServerLoad(36, 100, 40, 400), Limits()).problems == (
        "near capacity: 36/40 rooms",
    )
    assert assess_server(ServerLoad(12, 400, 40, 400), Limits()).problems == (
        "at capacity: 400/400 participants",
    )


def test_the_call_a_terminal_should_be_in_follows_the_schedule() -> None:
    lesson = Booked(
        setup_start=T0, start=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=50)
    )
    grace, margin = timedelta(minutes=2), timedelta(minutes=5)

    def at(minutes: float) -> CallExpectation:
        return expected_call(T0 + timedelta(minutes=minutes), [lesson], grace=grace, margin=margin)

    assert at(-30) is CallExpectation.IDLE
    assert at(-3) is CallExpectation.EITHER  # the set-up buffer is near
    assert at(11) is CallExpectation.EITHER  # within the start grace
    assert at(12) is CallExpectation.IN_CALL
    assert at(49) is CallExpectation.IN_CALL
    assert at(52) is CallExpectation.EITHER  # just ended: hanging up takes a moment
    assert at(60) is CallExpectation.IDLE


def test_time_is_split_at_local_midnight() -> None:
    # 16:30 to 17:30 UTC is 23:30 to 00:30 in Novokuznetsk
    start = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)
    assert split_by_day(start, start + timedelta(hours=1), NOVOKUZNETSK) == [
        (date(2026, 11, 24), 1800.0),
        (date(2026, 11, 25), 1800.0),
    ]


def test_uptime_is_accounted_per_state_per_day_and_summed_for_the_month() -> None:
    ledger = UptimeLedger(accounted_until=datetime(2026, 11, 24, 16, 0, tzinfo=UTC))
    ledger.account(HealthState.OK, datetime(2026, 11, 24, 17, 0, tzinfo=UTC), NOVOKUZNETSK)
    ledger.account(HealthState.DOWN, datetime(2026, 11, 24, 17, 15, tzinfo=UTC), NOVOKUZNETSK)
    ledger.poll(datetime(2026, 11, 24, 17, 10, tzinfo=UTC), NOVOKUZNETSK, True, None)
    ledger.poll(datetime(2026, 11, 24, 16, 10, tzinfo=UTC), NOVOKUZNETSK, False, 40.0)

    days = ledger.drain()
    month = month_total(days.values())

    assert days[date(2026, 11, 24)].ok_s == 3600.0  # 23:00–24:00 local
    assert days[date(2026, 11, 25)].down_s == 900.0
    assert days[date(2026, 11, 25)].failures == 1
    assert (month.ok_s, month.down_s, month.polls) == (3600.0, 900.0, 2)
    assert month.availability == pytest.approx(0.8)
    assert month.mean_rtt_ms == 40.0
    assert ledger.drain() == {}


def test_a_lesson_is_at_risk_when_any_device_it_needs_is_not_ok() -> None:
    terminal = (DeviceKind.TERMINAL, "term-kem-20-hall")
    camera = (DeviceKind.CAMERA, "cam-kem-20-hall")
    server = (DeviceKind.SERVER, "bbb-1")
    states = {
        terminal: DeviceStatus(
            "term-kem-20-hall",
            DeviceKind.TERMINAL,
            HealthState.DOWN,
            "connection refused",
            "terminal term-kem-20-hall «Актовый зал», МБОУ «СОШ №20»",
        ),
        camera: DeviceStatus("cam-kem-20-hall", DeviceKind.CAMERA, HealthState.OK, "ok"),
        server: DeviceStatus("bbb-1", DeviceKind.SERVER, HealthState.OK, "ok"),
    }
    needs = Needs(
        terminal_ids=["term-kem-20-hall"], camera_ids=["cam-kem-20-hall"], server_id="bbb-1"
    )

    reason = risk_reason(needs, states, ["bbb"])

    assert reason == (
        AT_RISK_PREFIX
        + "terminal term-kem-20-hall «Актовый зал», МБОУ «СОШ №20» is down (connection refused)"
    )
    assert is_health_reason(reason)
    states[terminal] = DeviceStatus("term-kem-20-hall", DeviceKind.TERMINAL, HealthState.OK)
    assert risk_reason(needs, states, ["bbb"]) == ""


def test_a_lesson_without_a_room_yet_is_at_risk_when_no_server_of_its_platform_is_ok() -> None:
    needs = Needs(platform="bbb")
    assert risk_reason(needs, {}, ["jitsi"]) == AT_RISK_PREFIX + "no bbb conference server is ok"
    assert risk_reason(needs, {}, ["bbb", "jitsi"]) == ""
    assert risk_reason(Needs(terminal_ids=["t-9"]), {}, ["bbb"]) == (
        AT_RISK_PREFIX + "terminal t-9 is unknown (never polled)"
    )
