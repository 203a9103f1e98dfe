"""A dropped call is redialled on the terminal's own word, also when its feedback reaches
`vks monitor` rather than the API: with Redis, the monitor hands a pushed "call ended" to
the automation workers as a job, and the worker that takes it makes the lesson redial at
once — without waiting for the reconciler's next look at the rooms. An API process with
no monitor answers other news 202 without acting on it. The monitor's port
on a real Redis queue; the worker's side on the memory store, fake devices and a frozen
clock (a lesson at 09:00 in Kemerovo)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue

from booking.bookings import OccurrenceState
from booking.health_memory import MemoryHealthStore
from tests.automation.fakes import LESSON, bench
from tests.monitor.conftest import fast_config
from vks.api import problems
from vks.jobs import process, tasks
from vks.jobs.redis_queue import CALL_ENDED, RUN_DUE, queue_for
from vks.monitor.api import MonitorApi, push_router
from vks.monitor.metrics import new_registry
from vks.monitor.push import push_token
from vks.monitor.service import Monitor
from vks.monitor.wiring import monitor_app
from vks.settings import Settings

S = OccurrenceState
HALL = "term-kem-20-hall"
SECRET = "test-secret-key-of-the-kuzbass-rcc-monitor"
DISCONNECT = (
    '<?xml version="1.0"?><Event><CallDisconnect><CallId>3</CallId>'
    "<CauseType>RemoteDisconnect</CauseType><RemoteURI>sip:vks-occ-physics-9-1@bbb-1"
    "</RemoteURI></CallDisconnect></Event>"
)
CONNECTED = (
    '<?xml version="1.0"?><Status><Call item="3"><Status>Connected</Status>'
    "<RemoteNumber>sip:vks-occ-physics-9-1@bbb-1</RemoteNumber></Call></Status>"
)


@pytest.fixture
def queue(redis_url: str) -> Iterator[Queue]:
    redis = Redis.from_url(redis_url)
    jobs = queue_for(redis)
    jobs.empty()
    yield jobs
    jobs.empty()
    redis.close()


def monitor_port(redis_url: str) -> TestClient:
    settings = Settings(data_dir=Path("/tmp/vks-test-push-redial"), secret_key=SECRET)
    settings.redis_url = redis_url
    monitor = Monitor(MemoryHealthStore(), fast_config(), registry=new_registry(process=False))
    return TestClient(monitor_app(monitor, new_registry(process=False), settings))


def test_vks_monitor_hands_a_pushed_disconnect_to_the_workers(queue: Queue, redis_url: str) -> None:
    url = f"/api/v1/monitor/push/terminals/{HALL}?token={push_token(SECRET, HALL)}"

    with monitor_port(redis_url) as client:
        connected = client.post(url, content=CONNECTED, headers={"Content-Type": "text/xml"})
        dropped = client.post(url, content=DISCONNECT, headers={"Content-Type": "text/xml"})

    jobs = queue.get_jobs()
    assert connected.status_code == dropped.status_code == 202
    assert [(j.func_name, j.args) for j in jobs] == [(CALL_ENDED, (HALL, "RemoteDisconnect"))]


def test_an_api_without_a_monitor_answers_a_terminals_news_without_an_error() -> None:
    # with Redis, `vks serve` runs no monitor (the workers and `vks monitor` do)
    app = FastAPI()
    problems.install(app)
    api = MonitorApi(store=MemoryHealthStore(), principal=lambda: None, secret_key=SECRET)
    app.include_router(push_router(api), prefix="/api/v1")
    url = f"/api/v1/monitor/push/terminals/{HALL}?token={push_token(SECRET, HALL)}"

    with TestClient(app) as client:
        connected = client.post(url, content=CONNECTED, headers={"Content-Type": "text/xml"})

    assert connected.status_code == 202
    answer = connected.json()
    assert (answer["accepted"], answer["in_call"]) == (False, True)
    assert answer["reason"].startswith("no monitor runs in this process")


def test_the_worker_taking_the_job_redials_the_terminal_at_once(queue: Queue) -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.at(LESSON + timedelta(minutes=7))
    b.devices.drop("term-kem-12")
    b.devices.dialled.clear()
    process.install(b.automation, queue.connection)
    try:
        made_due = tasks.call_ended("term-kem-12", "RemoteDisconnect")
        degraded = b.state(occurrence)
        wake_ups = [j.func_name for j in queue.get_jobs()]
    finally:
        process.uninstall()
    b.run_due()

    assert made_due == [occurrence]
    assert degraded is S.DEGRADED
    assert wake_ups == [RUN_DUE]  # the workers wake now, not at the reconciler's round
    assert b.devices.dialled == ["term-kem-12"]
    assert b.state(occurrence) is S.LIVE
