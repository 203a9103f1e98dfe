"""The poller's decisions between polls: which transitions to hand on, when to poll again
soon, what call a terminal should be in, what time to account to which state and day, and
what to do with devices leaving the roster. Scripted checks and a frozen clock: no device,
no database, no waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from booking.health import (
    Booked,
    CallExpectation,
    DeviceKind,
    HealthState,
    TerminalStatus,
)
from booking.health_records import StateRow
from tests.api.conftest import FrozenClock
from tests.monitor.conftest import fast_config
from tests.monitor.region import memory_region
from tests.monitor.scripted import REFUSED, Script
from vks.monitor.poller import Poller, new_clients

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Kemerovo (UTC+7)
HALL = (DeviceKind.TERMINAL, "term-kem-20-hall")
IT_ROOM = (DeviceKind.TERMINAL, "term-kem-20-it")
OK, DEGRADED, DOWN = HealthState.OK, HealthState.DEGRADED, HealthState.DOWN


@pytest.fixture
async def poller_parts() -> AsyncIterator[tuple[Poller, Script, FrozenClock]]:
    config = fast_config()
    clients = new_clients(config)
    clock = FrozenClock(T0)
    script = Script()
    poller = Poller(config, clients, now=clock.now, checks=script.check)
    poller.update(memory_region().roster(), {}, T0)
    yield poller, script, clock
    await clients.aclose()


async def poll(poller: Poller, clock: FrozenClock, key: tuple[DeviceKind, str], times: int) -> None:
    """Poll a device `times` times, a second apart (the first a second from now)."""
    for _ in range(times):
        clock.advance(seconds=1)
        await poller.poll(poller.slots[key])


async def test_a_device_is_handed_on_as_down_only_after_the_hysteresis_with_its_cause(
    poller_parts: tuple[Poller, Script, FrozenClock],
) -> None:
    poller, script, clock = poller_parts
    await poll(poller, clock, HALL, 1)
    settled = poller.take_transitions()
    script.says(HALL[1], REFUSED, REFUSED)

    await poll(poller, clock, HALL, 2)
    before_the_count = poller.take_transitions()
    settling = poller.slots[HALL].health.settling
    script.says(HALL[1], REFUSED)
    await poll(poller, clock, HALL, 1)

    [first] = settled
    assert (first.transition.from_state, first.transition.to_state) == (HealthState.UNKNOWN, OK)
    assert before_the_count == [] and settling  # a quick confirmation poll is due
    [down] = poller.take_transitions()
    assert (down.kind, down.device_id) == HALL
    assert (down.transition.from_state, down.transition.to_state) == (OK, DOWN)
    assert (down.transition.at, down.transition.cause) == (
        T0 + timedelta(seconds=4),
        "connection refused",
    )
    assert poller.slots[HALL].health.settling is False


async def test_a_terminal_not_in_the_lesson_it_should_be_in_is_degraded(
    poller_parts: tuple[Poller, Script, FrozenClock],
) -> None:
    poller, script, clock = poller_parts
    start = T0 + timedelta(minutes=5)
    poller.sessions = {
        "term-nvkz-7": [Booked(start, start, start + timedelta(minutes=40), "Алгебра 8Б")]
    }
    clock.advance(minutes=5)
    script.says("term-nvkz-7", TerminalStatus(in_call=False))

    await poll(poller, clock, (DeviceKind.TERMINAL, "term-nvkz-7"), 1)

    [degraded] = poller.take_transitions()  # a first answer settles an unknown device
    assert degraded.transition.to_state is DEGRADED
    assert degraded.transition.cause == "not in the call it should be in (Алгебра 8Б)"
    assert poller.expected("term-nvkz-7", clock.now())[0] is CallExpectation.IN_CALL


async def test_a_call_with_nothing_booked_is_flagged_only_when_configured(
    poller_parts: tuple[Poller, Script, FrozenClock],
) -> None:
    poller, _, clock = poller_parts
    lenient = Poller(fast_config(flag_unexpected_calls=False), poller.clients, now=clock.now)

    assert poller.expected("term-nvkz-7", T0) == (CallExpectation.IDLE, None)
    assert lenient.expected("term-nvkz-7", T0) == (CallExpectation.EITHER, None)


async def test_samples_account_each_state_s_time_per_local_day_and_the_latest_poll(
    poller_parts: tuple[Poller, Script, FrozenClock],
) -> None:
    poller, script, clock = poller_parts
    await poll(poller, clock, HALL, 1)  # ok from 09:00:01 local
    clock.at = T0 + timedelta(hours=14) - timedelta(seconds=1)
    script.says(HALL[1], REFUSED, REFUSED, REFUSED)
    await poll(poller, clock, HALL, 3)  # down at 23:00:02 local
    clock.at = T0 + timedelta(hours=16)  # 01:00 the next local day

    seen, uptime = poller.take_samples(clock.now())

    hall = {u.day: u.uptime for u in uptime if (u.kind, u.device_id) == HALL}
    day, next_day = date(2026, 11, 24), date(2026, 11, 25)
    assert (hall[day].unknown_s, hall[day].ok_s) == (1.0, 14 * 3600 + 1.0)
    assert hall[day].down_s == 3600 - 2.0
    assert hall[next_day].down_s == 3600.0
    assert (hall[day].polls, hall[day].failures) == (4, 3)
    [latest] = [s for s in seen if (s.kind, s.device_id) == HALL]
    assert (latest.state, latest.last_poll_at) == (DOWN, T0 + timedelta(hours=14, seconds=2))
    assert [s for s in seen if (s.kind, s.device_id) == IT_ROOM] == []  # not polled: not seen
    assert poller.take_samples(clock.now()) == ([], [])


async def test_a_device_leaving_the_roster_is_dropped_with_its_time_and_comes_back_as_stored(
    poller_parts: tuple[Poller, Script, FrozenClock],
) -> None:
    poller, _, clock = poller_parts
    await poll(poller, clock, HALL, 1)
    clock.advance(minutes=10)
    roster = memory_region().roster()

    [dropped] = poller.update([r for r in roster if r.key != HALL], {}, clock.now())
    stored = {HALL: StateRow(*HALL, DOWN, T0, "connection refused")}
    poller.update(roster, stored, clock.now())

    assert dropped.record.key == HALL
    [figures] = dropped.ledger.drain().values()
    assert figures.ok_s == 600.0
    back = poller.slots[HALL].health
    assert (back.state, back.since, back.cause) == (DOWN, T0, "connection refused")


async def test_a_device_taken_out_of_service_becomes_unknown_at_once(
    poller_parts: tuple[Poller, Script, FrozenClock],
) -> None:
    poller, _, clock = poller_parts
    await poll(poller, clock, HALL, 1)
    poller.take_transitions()

    poller.force(poller.slots[HALL], HealthState.UNKNOWN, "no longer monitored", clock.now())

    [gone] = poller.take_transitions()
    assert (gone.transition.from_state, gone.transition.to_state) == (OK, HealthState.UNKNOWN)


async def test_transitions_that_could_not_be_stored_go_first_next_time(
    poller_parts: tuple[Poller, Script, FrozenClock],
) -> None:
    poller, _, clock = poller_parts
    await poll(poller, clock, HALL, 1)
    failed_to_store = poller.take_transitions()
    await poll(poller, clock, IT_ROOM, 1)

    poller.requeue(failed_to_store)

    assert [w.device_id for w in poller.take_transitions()] == [HALL[1], IT_ROOM[1]]
