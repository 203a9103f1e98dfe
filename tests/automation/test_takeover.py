"""A killed worker delays nobody for long: its leases (a setting, renewed by heartbeat
while it works) run out within seconds, a wake-up at their end lets a surviving worker
take its steps over, and the scheduling of wake-ups passes to a surviving worker within
a lease. Decisions on the memory store and a frozen clock; the scheduling lock on Redis."""

from __future__ import annotations

import asyncio
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
from tests.automation.fakes import LESSON, bench
from vks.automation.config import AutomationConfig
from vks.automation.dispatch import DispatchReport
from vks.jobs.redis_queue import JOB_OPTIONS, RUN_DUE
from vks.jobs.scheduling import WakeUpScheduler
from vks.jobs.worker import overdue_sweep
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
    b.store.claim(START_AT, "w-killed", b.automation.config.lease, 10)
    process: Any = SimpleNamespace(automation=b.automation)  # its RQ job is busy meanwhile

    async def rounds() -> tuple[object, DispatchReport]:
        b.at(START_AT + timedelta(seconds=5))  # the lease runs out now: not overdue yet
        early = await overdue_sweep(process)
        b.at(START_AT + timedelta(seconds=7))
        sweep = await overdue_sweep(process)
        assert sweep is not None
        return early, cast(DispatchReport, await sweep)

    early, report = asyncio.run(rounds())

    assert early is None
    assert report.claimed == 1
    assert b.state(occurrence) is S.LIVE


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
