"""Several monitors split the shards of the devices by leases: each takes its fair share,
never one another's, and takes over a dead monitor's shards once their leases expire. On
the in-memory store with a frozen clock (the SQL compare-and-set is specified in
test_health_store.py, the real split of polling in test_push_and_shards.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.health_memory import MemoryHealthStore
from tests.api.conftest import FrozenClock
from vks.monitor.shards import ShardLeases

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def monitor(store: MemoryHealthStore, name: str, clock: FrozenClock) -> ShardLeases:
    return ShardLeases(store, name, shards=8, lease=LEASE, now=clock.now)


def nothing_to_drop(shards: frozenset[int]) -> None:
    return None


async def test_two_monitors_take_half_the_shards_each_and_never_the_same_one() -> None:
    store, clock = MemoryHealthStore(), FrozenClock(T0)
    a, b = monitor(store, "monitor-a", clock), monitor(store, "monitor-b", clock)

    await a.round(nothing_to_drop)  # alone: takes everything
    alone = a.owned
    await b.round(nothing_to_drop)  # sees two alive, finds nothing free yet
    dropped: list[frozenset[int]] = []
    clock.advance(seconds=10)
    await a.round(dropped.append)  # gives back above its fair share, dropping them first
    await b.round(nothing_to_drop)

    assert alone == frozenset(range(8)) and a.leader
    assert dropped == [frozenset({4, 5, 6, 7})]
    assert a.owned == frozenset({0, 1, 2, 3}) and b.owned == frozenset({4, 5, 6, 7})
    assert a.leader and not b.leader


async def test_a_dead_monitors_shards_are_taken_over_once_their_leases_expire() -> None:
    store, clock = MemoryHealthStore(), FrozenClock(T0)
    a, b = monitor(store, "monitor-a", clock), monitor(store, "monitor-b", clock)
    await a.round(nothing_to_drop)
    await b.round(nothing_to_drop)
    clock.advance(seconds=10)
    await a.round(nothing_to_drop)
    await b.round(nothing_to_drop)

    clock.advance(seconds=25)  # a stops renewing; its leases still run
    await b.round(nothing_to_drop)
    while_valid = b.owned
    clock.advance(seconds=20)  # a's leases have expired, and a no longer counts as alive
    await b.round(nothing_to_drop)

    assert while_valid == frozenset({4, 5, 6, 7})
    assert b.owned == frozenset(range(8)) and b.leader
    assert a.owned == frozenset()  # a's own view: its leases ran out


async def test_a_monitor_leaving_frees_its_shards_at_once() -> None:
    store, clock = MemoryHealthStore(), FrozenClock(T0)
    a, b = monitor(store, "monitor-a", clock), monitor(store, "monitor-b", clock)
    await a.round(nothing_to_drop)

    await a.leave()
    await b.round(nothing_to_drop)

    assert b.owned == frozenset(range(8))
    assert store.live_instances(T0 - LEASE) == ["monitor-b"]


async def test_a_lease_about_to_run_out_is_no_longer_polled_on() -> None:
    store, clock = MemoryHealthStore(), FrozenClock(T0)
    a = monitor(store, "monitor-a", clock)
    await a.round(nothing_to_drop)

    clock.advance(seconds=26)  # 4 s left: less than a sixth of the lease
    nearly_out = a.owned
    clock.advance(seconds=-2)  # 6 s left

    assert nearly_out == frozenset()
    assert a.owned == frozenset(range(8))
