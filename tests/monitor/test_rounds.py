"""The monitor's rounds, one at a time, on the in-memory store with scripted devices and a
frozen clock: leases decide which devices it polls, the roster round follows devices added
and taken out of service, the schedule round tells the poller which lesson each terminal
should be in, and transitions the store could not take are kept for the next round."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from booking.errors import ServiceUnavailable
from booking.health import CallExpectation, DeviceKind, HealthState, TerminalStatus
from booking.health_memory import MemoryHealthStore
from booking.health_records import TransitionWrite
from tests.api.conftest import FrozenClock
from tests.monitor.conftest import fast_config
from tests.monitor.region import memory_region, watched_lesson
from tests.monitor.scripted import REFUSED, Script
from vks.monitor.service import NOT_MONITORED, Monitor

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Kemerovo
HALL = (DeviceKind.TERMINAL, "term-kem-20-hall")
PHYSICS = (DeviceKind.TERMINAL, "term-nvkz-7")


class FlakyStore(MemoryHealthStore):
    """A store whose next `record` fails, as a database restarting does."""

    failing = False

    def record(self, writes: Sequence[TransitionWrite]) -> None:
        if self.failing:
            self.failing = False
            raise ServiceUnavailable("the database is restarting")
        super().record(writes)


class Rounds:
    def __init__(self, store: MemoryHealthStore) -> None:
        self.store = store
        self.clock = FrozenClock(T0)
        self.script = Script()
        self.monitor = Monitor(
            store, fast_config(), instance="monitor-a", now=self.clock.now, checks=self.script.check
        )

    async def poll(self, key: tuple[DeviceKind, str]) -> None:
        self.clock.advance(seconds=1)
        await self.monitor.poller.poll(self.monitor.poller.slots[key])


@pytest.fixture
async def rounds() -> AsyncIterator[Rounds]:
    store = memory_region()
    rounds = Rounds(store)
    await rounds.monitor.lease_round()  # alone: holds every shard
    await rounds.monitor.roster_round()
    yield rounds
    await rounds.monitor.clients.aclose()


async def test_a_monitor_alone_polls_every_device_of_the_roster(rounds: Rounds) -> None:
    assert set(rounds.monitor.poller.slots) == {d.key for d in rounds.store.roster()}
    assert rounds.monitor.leases.leader


async def test_a_device_taken_out_of_service_is_no_longer_polled_and_stored_as_unknown(
    rounds: Rounds,
) -> None:
    await rounds.poll(HALL)
    await rounds.monitor.store_transitions()
    was = rounds.store.states()[HALL].state

    rounds.store.remove_device(HALL)
    await rounds.monitor.roster_round()
    await rounds.monitor.store_transitions()

    assert was is HealthState.OK
    assert HALL not in rounds.monitor.poller.slots
    state = rounds.store.states()[HALL]
    assert (state.state, state.cause) == (HealthState.UNKNOWN, NOT_MONITORED)


async def test_a_new_monitor_starts_from_the_stored_state(rounds: Rounds) -> None:
    rounds.script.says(HALL[1], REFUSED, REFUSED, REFUSED)
    for _ in range(3):
        await rounds.poll(HALL)
    await rounds.monitor.store_transitions()
    await rounds.monitor.leases.leave()

    successor = Rounds(rounds.store)
    await successor.monitor.lease_round()
    await successor.monitor.roster_round()
    health = successor.monitor.poller.slots[HALL].health
    await successor.monitor.clients.aclose()

    assert (health.state, health.cause) == (HealthState.DOWN, "connection refused")


async def test_the_schedule_round_tells_the_poller_which_lesson_a_terminal_should_be_in(
    rounds: Rounds,
) -> None:
    start = T0 + timedelta(minutes=5)
    rounds.store.add_lesson(
        watched_lesson("occ-algebra", start, title="Алгебра 8Б", terminals=(PHYSICS[1],))
    )

    await rounds.monitor.schedule_round()
    rounds.clock.advance(minutes=10)

    expected, session = rounds.monitor.poller.expected(PHYSICS[1], rounds.clock.now())
    assert expected is CallExpectation.IN_CALL
    assert session is not None and session.title == "Алгебра 8Б"
    assert rounds.monitor.poller.expected(HALL[1], rounds.clock.now())[0] is CallExpectation.IDLE


async def test_transitions_the_store_could_not_take_are_stored_next_round() -> None:
    store = FlakyStore()
    for device in memory_region().roster():
        store.add_device(device)
    rounds = Rounds(store)
    await rounds.monitor.lease_round()
    await rounds.monitor.roster_round()
    await rounds.poll(HALL)

    store.failing = True
    with pytest.raises(ServiceUnavailable):
        await rounds.monitor.store_transitions()
    lost = dict(store.states())
    await rounds.monitor.store_transitions()
    await rounds.monitor.clients.aclose()

    assert lost == {}
    assert store.states()[HALL].state is HealthState.OK


async def test_a_terminal_back_online_in_a_call_is_handed_to_the_automation() -> None:
    told: list[list[str]] = []
    rounds = Rounds(memory_region())
    rounds.monitor.back_in_a_call = told.append
    await rounds.monitor.lease_round()
    await rounds.monitor.roster_round()
    old_call = TerminalStatus(in_call=True, call_remote="sip:vks-occ-physics-8-1@bbb-1")
    rounds.script.says(HALL[1], REFUSED, REFUSED, REFUSED, old_call, old_call)
    rounds.script.says(PHYSICS[1], REFUSED, REFUSED, REFUSED, TerminalStatus(), TerminalStatus())
    for _ in range(3):
        await rounds.poll(HALL)
        await rounds.poll(PHYSICS)
    await rounds.monitor.store_transitions()
    down = told[:]

    for _ in range(2):
        await rounds.poll(HALL)
        await rounds.poll(PHYSICS)
    await rounds.monitor.store_transitions()
    await rounds.monitor.clients.aclose()

    assert down == []
    assert rounds.store.states()[HALL].state is HealthState.DEGRADED  # a call it should not be in
    assert told == [[HALL[1]]]  # the idle terminal that came back is nobody's business
