"""RQ mode: Redis holds the wake-up calls, `vks worker` processes (SimpleWorker with the RQ
scheduler) do the work. Real Redis (its own database number, flushed), real worker
processes, the simulated region."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Worker
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import OccurrenceState
from tests.automation.conftest import database_on, story, wait_for
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from tests.automation.timing import fast_config
from vks.automation.service import Automation
from vks.bootstrap import hardware_automation
from vks.jobs.redis_queue import RqWaker, queue_for

S = OccurrenceState
ROOT = Path(__file__).resolve().parents[2]
AUTOMATION_REDIS_DB = 11  # not the default test database: these tests flush theirs

pytestmark = [pytest.mark.redis, pytest.mark.slow]  # end to end: Redis, RQ worker processes


database_url = database_on(
    "postgres", "RQ mode runs on PostgreSQL (as in production); the embedded specs cover SQLite."
)


@pytest.fixture
def queue_redis_url(redis_url: str) -> Iterator[str]:
    url = make_url(redis_url.replace("redis://", "redis+x://", 1))
    own = f"redis://{url.host}:{url.port or 6379}/{AUTOMATION_REDIS_DB}"
    if url.password:
        own = f"redis://:{url.password}@{url.host}:{url.port or 6379}/{AUTOMATION_REDIS_DB}"
    client = Redis.from_url(own)
    client.flushdb()
    yield own
    client.flushdb()
    client.close()


@pytest.fixture
def redis(queue_redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(queue_redis_url)
    yield client
    client.close()


@pytest.fixture
def waker(redis: Redis) -> RqWaker:
    return RqWaker(queue_for(redis))


Workers = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def workers(database_url: str, queue_redis_url: str, redis: Redis) -> Iterator[Workers]:
    """Start a worker process; returns once it has registered with RQ and warmed up."""
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, **changes: object) -> subprocess.Popen[bytes]:
        alive = sum(1 for p in started if p.poll() is None)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.automation.worker_process",
                database_url,
                queue_redis_url,
                f"{name}-{os.getpid()}-{len(started)}",
                json.dumps(changes),
            ],
            cwd=ROOT,
            start_new_session=True,  # its own process group: RQ forks the scheduler into a child
        )
        started.append(process)
        queue = queue_for(redis)
        wait_for(lambda: Worker.count(connection=redis, queue=queue) > alive, timeout=20)
        time.sleep(1.0)  # the ONVIF WSDLs are parsed before the first job
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        with contextlib.suppress(ProcessLookupError):  # what is left of its group
            os.killpg(process.pid, signal.SIGKILL)


def state_of(automation: Automation, occurrence_id: str) -> OccurrenceState:
    return automation.store.sessions([occurrence_id], full=False)[occurrence_id].state


def calls_of(region: SimRegion) -> dict[str, str | None]:
    now = time.monotonic()
    return {
        tid: (call.number if (call := device.current_call(now)) is not None else None)
        for tid, device in region.terminals.items()
    }


def book(region: SimRegion, uow_factory: Callable[[], SqlUnitOfWork], in_s: float, for_s: float):
    now = datetime.now(UTC)
    start, end = now + timedelta(seconds=in_s), now + timedelta(seconds=in_s + for_s)
    _, occurrence = region.book(
        uow_factory,
        title="Информатика 9 класс: алгоритмы",
        start=start,
        end=end,
        participants=[SCHOOL_20, SCHOOL_12],
    )
    return occurrence, start, end


def test_workers_start_a_lesson_at_its_time_and_end_it_at_its_end(
    automation: Automation,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    workers: Workers,
    waker: RqWaker,
) -> None:
    workers("first")
    workers("second")
    occurrence, start, end = book(region, uow_factory, in_s=6, for_s=3)

    automation.hook(waker).occurrences_changed([occurrence])
    assert waker.scheduled_count() >= 1
    wait_for(lambda: state_of(automation, occurrence) is S.LIVE, timeout=12)
    live_at = datetime.now(UTC)
    room = region.meetings_of(occurrence)
    calls = calls_of(region)
    wait_for(lambda: state_of(automation, occurrence) is S.ENDED, timeout=10)

    assert live_at < start
    assert len(room) == 1
    assert calls["term-kem-20-hall"] and calls["term-kem-12"]
    assert calls["term-kem-20-it"] is None
    history = automation.store.history(occurrence)
    assert [h.to_state for h in history] == ["checking", "preparing", "live", "ending", "ended"]
    assert history[3].at >= end
    assert region.meetings_of(occurrence) == []
    assert calls_of(region) == dict.fromkeys(region.terminals)


def test_a_worker_killed_mid_start_still_gives_one_room_and_a_live_lesson(
    engine: Engine,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    workers: Workers,
    waker: RqWaker,
) -> None:
    early = {"start_lead_s": 12, "preflight_lead_s": 12}  # start well ahead, no pre-flight
    automation = hardware_automation(engine, fast_config(**early))
    first = workers("doomed", **early)
    region.terminals["term-kem-12"].faults.latency_ms = 1200  # the start dwells on it
    occurrence, _start, _end = book(region, uow_factory, in_s=13, for_s=30)
    automation.hook(waker).occurrences_changed([occurrence])

    def room_recorded() -> bool:
        room = automation.store.rooms([occurrence]).get(occurrence)
        return room is not None and bool(room.room_id)

    wait_for(room_recorded, timeout=12)
    assert state_of(automation, occurrence) is S.PREPARING
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its scheduler child, as a crash does
    first.wait(5)
    workers("survivor", **early)

    wait_for(
        lambda: state_of(automation, occurrence) is S.LIVE,
        timeout=15,
        explain=lambda: story(automation, occurrence),
    )
    meetings = region.meetings_of(occurrence)
    assert len(meetings) == 1
    ((_, meeting),) = meetings
    sip_callers = [a for a in meeting.attendees.values() if a.sip]
    assert len(sip_callers) == 2
    calls = calls_of(region)
    assert calls["term-kem-20-hall"] == calls["term-kem-12"] is not None
    history = automation.store.history(occurrence)
    assert [h.to_state for h in history] == ["preparing", "live"]


def test_a_running_worker_takes_over_the_start_a_killed_one_claimed_long_before_its_lease_ends(
    engine: Engine,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    workers: Workers,
    waker: RqWaker,
) -> None:
    early = {"start_lead_s": 12, "preflight_lead_s": 12, "lease_s": 30}
    automation = hardware_automation(engine, fast_config(**early))
    pair = {p.pid: p for p in (workers("one", **early), workers("two", **early))}
    region.terminals["term-kem-12"].faults.latency_ms = 1200  # the start dwells on it
    occurrence, _start, _end = book(region, uow_factory, in_s=13, for_s=30)
    automation.hook(waker).occurrences_changed([occurrence])

    def claimed_with_a_room() -> str | None:
        room = automation.store.rooms([occurrence]).get(occurrence)
        return automation.store.plans([occurrence])[occurrence].lease_owner if room else None

    owner = wait_for(claimed_with_a_room, timeout=16)
    doomed = pair[int(owner.split(":")[1])]  # a lease names its worker: host:pid:tag
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its scheduler child, as a crash does
    killed_at = time.monotonic()
    doomed.wait(5)

    wait_for(
        lambda: state_of(automation, occurrence) is S.LIVE,
        timeout=30,
        explain=lambda: story(automation, occurrence),
    )
    taken_over_in = time.monotonic() - killed_at
    assert taken_over_in < 8, f"live {taken_over_in:.1f} s after the kill (lease 30 s)"
    assert len(region.meetings_of(occurrence)) == 1
    ((_, meeting),) = region.meetings_of(occurrence)
    assert len([a for a in meeting.attendees.values() if a.sip]) == 2
    history = automation.store.history(occurrence)
    assert [h.to_state for h in history] == ["preparing", "live"]


def test_a_flushed_redis_is_repaired_by_the_reconciler(
    automation: Automation,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    workers: Workers,
    waker: RqWaker,
    redis: Redis,
) -> None:
    workers("steady")
    time.sleep(2.5)  # the worker is up and has reconciled once
    occurrence, _start, _end = book(region, uow_factory, in_s=7, for_s=30)
    automation.hook(waker).occurrences_changed([occurrence])
    assert waker.scheduled_count() >= 1

    redis.flushdb()
    assert waker.scheduled_count() == 0
    wait_for(lambda: waker.scheduled_count() >= 1, timeout=5)  # re-queued by the reconciler
    wait_for(lambda: state_of(automation, occurrence) is S.LIVE, timeout=12)

    preparing = next(h for h in automation.store.history(occurrence) if h.to_state == "preparing")
    assert preparing.details["late_s"] < 2.5
    assert len(region.meetings_of(occurrence)) == 1


def test_a_worker_down_at_start_time_starts_the_lesson_late_and_records_it(
    automation: Automation,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    workers: Workers,
    waker: RqWaker,
) -> None:
    occurrence, _start, _end = book(region, uow_factory, in_s=3, for_s=30)
    automation.hook(waker).occurrences_changed([occurrence])
    time.sleep(4)  # start time passes with no worker running
    workers("latecomer")

    wait_for(lambda: state_of(automation, occurrence) is S.LIVE, timeout=15)

    history = automation.store.history(occurrence)
    preparing, live = (next(h for h in history if h.to_state == s) for s in ("preparing", "live"))
    assert preparing.details["late_s"] >= 2
    assert preparing.reason.startswith("started") and preparing.reason.endswith("s late")
    assert live.to_state == "live"
    assert live.details["after_lesson_start_s"] > 0
    assert live.reason.startswith("late: live")


def test_duplicate_wake_ups_on_two_workers_never_make_a_second_room(
    automation: Automation,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    workers: Workers,
    waker: RqWaker,
) -> None:
    workers("one")
    workers("two")
    occurrence, start, _end = book(region, uow_factory, in_s=5, for_s=30)
    automation.hook(waker).occurrences_changed([occurrence])
    due = start - timedelta(seconds=1)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
    for tag in range(8):
        waker.wake_now(f"duplicate-{tag}")

    wait_for(lambda: state_of(automation, occurrence) is S.LIVE, timeout=10)
    time.sleep(1)

    assert len(region.meetings_of(occurrence)) == 1
    ((_, meeting),) = region.meetings_of(occurrence)
    assert len([a for a in meeting.attendees.values() if a.sip]) == 2
    history = [h.to_state for h in automation.store.history(occurrence)]
    assert history == ["checking", "preparing", "live"]
