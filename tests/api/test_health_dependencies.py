"""Health tells the truth about the service's dependencies. `/health/live` answers while
the process runs (for supervisors); `/health` is readiness: the database, and with
`VKS_REDIS_URL` Redis and the workers seen recently — 503 naming what is down when the
process cannot do its work. With Redis down the operators' start-now/end-now answer 503
`jobs_unavailable` with the reason, not a 500 with a traceback."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Worker

from tests.api.conftest import DemoDatabase, FrozenClock
from tests.api.test_scheduler import lesson
from vks.api.app import create_app
from vks.bootstrap import Container, build_container
from vks.jobs.assembly import attach_automation
from vks.jobs.redis_queue import queue_for
from vks.settings import Settings

Auth = Callable[[str], dict[str, str]]
Serve = Callable[[str], TestClient]


def nothing_listens() -> str:
    """A Redis URL at a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def serve(
    container: Container, settings: Settings, clock: FrozenClock, demo_database: DemoDatabase
) -> Iterator[Serve]:
    """The API of `vks serve` with this VKS_REDIS_URL: the automation hands its work to
    workers through Redis."""
    stops: list[Callable[[], None]] = []
    clients: list[TestClient] = []

    def start(redis_url: str) -> TestClient:
        configured = settings.model_copy(update={"redis_url": redis_url, "redis_timeout_s": 1.0})
        built = build_container(configured, clock=clock, engine=demo_database.engine)
        stops.append(attach_automation(built))
        client = TestClient(create_app(container=built), raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)
    for stop in stops:
        stop()


@contextmanager
def a_running_worker(redis_url: str) -> Iterator[None]:
    """A `vks worker` as Redis sees it: RQ's registration with a fresh heartbeat."""
    redis = Redis.from_url(redis_url)
    worker = Worker([queue_for(redis)], connection=redis, name="vks-worker-test-kem")
    worker.register_birth()
    worker.heartbeat()
    try:
        yield
    finally:
        worker.register_death()
        redis.close()


def test_with_redis_down_health_is_503_naming_redis_and_liveness_still_answers(
    serve: Serve,
) -> None:
    client = serve(nothing_listens())

    ready = client.get("/api/v1/health")
    live = client.get("/api/v1/health/live")

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("redis: ")
    assert body["dependencies"]["database"] == {"status": "ok", "detail": ""}
    assert body["dependencies"]["redis"]["status"] == "down"
    assert "Connection refused" in body["dependencies"]["redis"]["detail"]
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}


def test_with_redis_down_start_now_and_end_now_are_503_jobs_unavailable(
    serve: Serve, auth: Auth
) -> None:
    client = serve(nothing_listens())
    booked = client.post("/api/v1/bookings", json=lesson(), headers=auth("net20"))
    occurrence = booked.json()["occurrences"][0]["id"]

    started = client.post(f"/api/v1/occurrences/{occurrence}/start-now", headers=auth("rcc"))
    ended = client.post(f"/api/v1/occurrences/{occurrence}/end-now", headers=auth("rcc"))

    assert booked.status_code == 201  # the booking itself does not need the workers
    for answer in (started, ended):
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "jobs_unavailable"
        assert "Redis" in answer.json()["detail"]


def test_with_everything_up_health_is_200_listing_each_dependency_ok(
    serve: Serve, redis_url: str
) -> None:
    client = serve(redis_url)

    with a_running_worker(redis_url):
        ready = client.get("/api/v1/health")

    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert body["reason"] == ""
    assert {name: d["status"] for name, d in body["dependencies"].items()} == {
        "database": "ok",
        "redis": "ok",
        "workers": "ok",
        "devices": "ok",
    }
    assert body["dependencies"]["workers"]["detail"].endswith("seen recently")


def test_without_a_worker_health_is_degraded_but_the_api_stays_in_service(
    serve: Serve, redis_url: str
) -> None:
    client = serve(redis_url)

    ready = client.get("/api/v1/health")

    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["dependencies"]["workers"]["status"] == "missing"
    assert "no `vks worker` seen recently" in ready.json()["reason"]


def test_in_embedded_mode_health_lists_the_database_and_the_devices_only(
    client: TestClient,
) -> None:
    ready = client.get("/api/v1/health")

    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "reason": "",
        "dependencies": {
            "database": {"status": "ok", "detail": ""},
            "devices": {"status": "ok", "detail": "68 devices"},
        },
    }
