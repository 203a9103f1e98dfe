"""A killed worker delays nobody for long: the workers' registry knows it is dead the
moment its connections close, and a surviving worker gives its claimed steps back and
runs them, and takes the scheduling of wake-ups over, at its next round; a worker that
died unseen loses its leases (a setting, renewed by heartbeat while it works) within
seconds. Decisions on the memory store and a frozen clock; the registry and the
scheduling lock on Redis, with real processes killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from redis import Redis
from rq import Queue

from booking.bookings import OccurrenceState
from tests.automation.conftest import wait_for
from tests.automation.fakes import LESSON, bench
from vks.automation.config import AutomationConfig
from vks.automation.start import TerminalsFirst
from vks.jobs.liveness import Liveness
from vks.jobs.loop import LoopThread
from vks.jobs.redis_queue import JOB_OPTIONS, RUN_DUE
from vks.jobs.scheduling import WakeUpScheduler
from vks.jobs.takeover import Takeover
from vks.settings import Settings

S = OccurrenceState
START_AT = LESSON - timedelta(minutes=5)


def test_lease_and_heartbeat_are_settings() -> None:
    settings = Settings(
        data_dir=Path("/tmp/vks-test-takeover"),
        automation_lease_seconds=8,
        automation_heartbeat_seconds=2,
    )

    config = AutomationConfig.from_settings(settings)

    assert (config.lease, config.heartbeat) == (timedelta(seconds=8), timedelta(seconds=2))
    assert AutomationConfig().lease == timedelta(seconds=5)


def test_the_start_a_killed_worker_claimed_is_taken_over_when_its_lease_runs_out() -> None:
    b = bench()
    occurrence = b.checked_lesson()
    b.at(START_AT)
    (claim,) = b.store.claim(START_AT, "w-killed", b.automation.config.lease, 10)
    watched: list[datetime] = []
    b.automation.dispatcher.lease_watch = watched.append

    b.at(START_AT + timedelta(seconds=3))
    too_early = b.run_due()
    b.at(START_AT + timedelta(seconds=6))
    taken_over = b.run_due()

    assert claim.occurrence_id == occurrence
    assert too_early.claimed == 0
    assert taken_over.claimed == 1
    assert b.state(occurrence) is S.LIVE
    assert watched == [START_AT + timedelta(seconds=6 + 5)]  # a wake-up if w-1 dies too


def test_a_worker_busy_with_its_own_batch_takes_overdue_steps_over_alongside_it() -> None:
    b = bench()
    occurrence = b.checked_lesson()
    b.at(START_AT)
    b.store.claim(START_AT, "w-unseen", b.automation.config.lease, 10)  # died unregistered
    loop = LoopThread().start()  # the worker's RQ job keeps its event loop busy meanwhile
    process: Any = SimpleNamespace(automation=b.automation, waker=b.waker, loop=loop)
    takeover = Takeover(process, cast(Any, KnownDead(set(), alive=2)), cast(Any, NoScheduling()))
    try:
        b.at(START_AT + timedelta(seconds=5))  # the lease runs out now: not overdue yet
        takeover.round()
        early = list(takeover.running)
        b.at(START_AT + timedelta(seconds=7))
        takeover.round()
        (sweep,) = takeover.running
        report = sweep.result(10)
    finally:
        loop.stop()

    assert early == []
    assert report["claimed"] == 1
    assert b.state(occurrence) is S.LIVE
    assert b.waker.instants, "the next step (the end) has its wake-up"


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def test_a_surviving_worker_takes_the_scheduling_of_wake_ups_over_within_a_lease(
    redis: Redis,
) -> None:
    queue = Queue(f"vks-test-takeover-{uuid.uuid4().hex[:8]}", connection=redis)
    killed = WakeUpScheduler(redis, queue, "w-killed", timedelta(seconds=1))
    survivor = WakeUpScheduler(redis, queue, "w-survivor", timedelta(seconds=1))
    try:
        killed.round()
        queue.enqueue_at(datetime.now(UTC) - timedelta(seconds=1), RUN_DUE, **JOB_OPTIONS)

        while_held = (survivor.round(), survivor.holding)  # killed: its lock still runs
        time.sleep(1.2)
        after_the_lease = (survivor.round(), survivor.holding)

        assert while_held == (0, False)
        assert after_the_lease == (1, True)
        assert queue.count == 1
    finally:
        queue.empty()
        redis.delete(killed.key, queue.scheduled_job_registry.key)


def test_a_surviving_worker_takes_the_scheduling_lock_of_a_dead_one_at_once(redis: Redis) -> None:
    queue = Queue(f"vks-test-takeover-{uuid.uuid4().hex[:8]}", connection=redis)
    killed = WakeUpScheduler(redis, queue, "w-killed", timedelta(minutes=1))
    survivor = WakeUpScheduler(redis, queue, "w-survivor", timedelta(minutes=1))
    other = WakeUpScheduler(redis, queue, "w-other", timedelta(minutes=1))
    try:
        killed.round()
        queue.enqueue_at(datetime.now(UTC) - timedelta(seconds=1), RUN_DUE, **JOB_OPTIONS)

        while_alive = (survivor.round(), survivor.holding)
        once_dead = (survivor.round(dead={"w-killed"}), survivor.holding)
        not_from_a_live_holder = (other.round(dead={"w-killed"}), other.holding)

        assert while_alive == (0, False)
        assert once_dead == (1, True)
        assert not_from_a_live_holder == (0, False)
        assert queue.count == 1
    finally:
        queue.empty()
        redis.delete(killed.key, queue.scheduled_job_registry.key)


REGISTERED_WORKER = """
import sys, time
from vks.automation.start import TerminalsFirst
from vks.jobs.liveness import Liveness
liveness = Liveness(sys.argv[1], sys.argv[2], sys.argv[3])
liveness.beat()
print("registered", flush=True)
time.sleep(120)
"""


@pytest.fixture
def registered(redis_url: str) -> Iterator[Any]:
    """Start a process that registers as a worker of a queue and then only waits."""
    started: list[subprocess.Popen[str]] = []

    def start(queue: str, owner: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", REGISTERED_WORKER, redis_url, queue, owner],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None and process.stdout.readline() == "registered\n"
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait(5)


def test_a_killed_worker_is_known_dead_at_once_and_a_stalled_one_is_not(
    redis_url: str, registered: Any
) -> None:
    queue = f"vks-test-liveness-{uuid.uuid4().hex[:8]}"
    survivor = Liveness(redis_url, queue, "w-survivor")
    survivor.beat()
    killed = registered(queue, "w-killed")
    stalled = registered(queue, "w-stalled")  # as a worker whose event loop is starved
    try:
        before = survivor.dead()
        os.kill(stalled.pid, signal.SIGSTOP)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(5)
        began = time.monotonic()
        dead = wait_for(survivor.dead, timeout=5, every=0.01)
        noticed_in = time.monotonic() - began
        alive_then = survivor.alive
        survivor.forget(dead)

        assert before == set()
        assert dead == {"w-killed"}
        assert noticed_in < 0.5
        assert alive_then == 2  # the survivor and the stalled one
        assert survivor.dead() == set()
    finally:
        survivor.redis.delete(survivor.key)
        survivor.leave()


def test_a_worker_whose_own_connection_was_renewed_judges_nobody_that_round(
    redis_url: str, redis: Redis
) -> None:
    worker = Liveness(redis_url, f"vks-test-liveness-{uuid.uuid4().hex[:8]}", "w-1")
    try:
        first = worker.beat()
        redis.client_kill_filter(_id=str(worker.redis.client_id()))  # Redis restarted, say

        after_the_break = worker.beat()
        next_round = worker.beat()

        assert (first, after_the_break, next_round) == (False, True, False)
    finally:
        worker.redis.delete(worker.key)
        worker.leave()


class KnownDead:
    """A registry in which some workers are dead (and the rest alive)."""

    def __init__(self, dead: set[str], alive: int) -> None:
        self._dead = dead
        self.alive = alive
        self.forgotten: set[str] = set()

    def beat(self) -> bool:
        return False

    def dead(self) -> set[str]:
        return set(self._dead)

    def forget(self, owners: set[str]) -> None:
        self.forgotten |= owners


class NoScheduling:
    def round(self, dead: set[str] | frozenset[str] = frozenset()) -> int:
        return 0


def test_a_survivor_gives_a_dead_workers_steps_back_and_runs_them_at_its_next_round() -> None:
    b = bench()
    occurrence = b.checked_lesson()
    b.at(START_AT)
    b.store.claim(START_AT, "w-killed", timedelta(minutes=2), 10)  # a long lease
    b.at(START_AT + timedelta(seconds=1))
    loop = LoopThread().start()
    process: Any = SimpleNamespace(automation=b.automation, waker=b.waker, loop=loop)
    takeover = Takeover(
        process, cast(Any, KnownDead({"w-killed"}, alive=1)), cast(Any, NoScheduling())
    )
    try:
        given_back = takeover.round()
        (running,) = takeover.running
        report = running.result(10)
        seen_again = takeover.round()
    finally:
        loop.stop()

    assert (given_back, seen_again) == (1, 0)
    assert report["claimed"] == 1
    assert b.state(occurrence) is S.LIVE
    assert takeover.running == [running]  # nothing more was run for the same death


def test_a_bells_cameras_wait_for_the_terminals_of_starts_taken_over_after_it() -> None:
    hold = timedelta(seconds=15)

    async def story() -> tuple[bool, bool, bool]:
        dialling: set[TerminalsFirst] = set()
        own = TerminalsFirst(2, hold, dialling)
        own.done()
        own.done()  # the bell's own terminals are in: its cameras may move…
        taken_over = TerminalsFirst(1, hold, dialling)  # …but a dead worker's starts dial
        cameras = asyncio.ensure_future(own.wait())
        await asyncio.sleep(0.05)
        held_while_dialling = not cameras.done()
        taken_over.done()
        await asyncio.wait_for(cameras, 0.5)  # well before the hold
        moved_once_in = cameras.done()
        alone = TerminalsFirst(0, hold)  # a small batch's cameras never wait
        await asyncio.wait_for(alone.wait(), 0.01)
        return held_while_dialling, moved_once_in, not dialling

    assert asyncio.run(story()) == (True, True, True)


def test_a_bells_cameras_wait_for_another_batch_no_longer_than_its_hold() -> None:
    async def story() -> float:
        dialling: set[TerminalsFirst] = set()
        own = TerminalsFirst(1, timedelta(seconds=15), dialling)
        own.done()
        TerminalsFirst(1, timedelta(milliseconds=100), dialling)  # its terminals never answer
        began = asyncio.get_running_loop().time()
        await asyncio.wait_for(own.wait(), 1)
        return asyncio.get_running_loop().time() - began

    assert 0.05 < asyncio.run(story()) < 0.5
