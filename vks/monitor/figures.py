"""The database figures behind the scrape-time gauges of `/metrics` (see `metrics.py`).

Queue depth and job failures come from RQ when Redis is configured (the automation's queue
and its failed-job registry); in embedded mode, from the automation's plan: steps due now
and not yet taken, and steps whose last attempt failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from booking.health_store import AlertStore, AutomationBacklog, DeviceStates, WatchedLessons
from vks.monitor.metrics import DatabaseFigures

log = logging.getLogger(__name__)

QUEUE = "vks-automation"

QueueReader = Callable[[], dict[str, tuple[int, int]]]
WorkerReader = Callable[[], int]


class FigureStore(DeviceStates, WatchedLessons, AlertStore, Protocol):
    """What the gauges read."""


def embedded_queue(plan: AutomationBacklog) -> QueueReader:
    def read() -> dict[str, tuple[int, int]]:
        return {QUEUE: plan.automation_backlog(datetime.now(UTC))}

    return read


def rq_queue(redis_url: str) -> QueueReader:
    def read() -> dict[str, tuple[int, int]]:
        from redis import Redis
        from rq import Queue
        from rq.registry import FailedJobRegistry

        redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            queue = Queue(QUEUE, connection=redis)
            return {QUEUE: (queue.count, FailedJobRegistry(queue=queue).count)}
        finally:
            redis.close()

    return read


def rq_workers(redis_url: str) -> WorkerReader:
    def read() -> int:
        from redis import Redis

        from vks.jobs.health import recent_workers

        redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return len(recent_workers(redis, datetime.now(UTC)))
        finally:
            redis.close()

    return read


def reader(
    store: FigureStore,
    zone: ZoneInfo,
    queues: QueueReader | None,
    workers: WorkerReader | None = None,
) -> Callable[[], DatabaseFigures]:
    def read() -> DatabaseFigures:
        now = datetime.now(UTC)
        today = now.astimezone(zone).date()
        day_start = datetime.combine(today, time(), tzinfo=zone)
        lessons = store.lesson_counts(day_start, day_start + timedelta(days=1))
        at_risk = len(store.at_risk(now, now + timedelta(hours=24)))
        alerts = store.open_alert_counts()
        queue_figures: dict[str, tuple[int, int]] = {}
        if queues is not None:
            try:
                queue_figures = queues()
            except Exception as exc:
                log.warning("metrics: cannot read the job queue: %s", exc)
        worker_count: int | None = None
        if workers is not None:
            try:
                worker_count = workers()
            except Exception as exc:
                log.warning("metrics: cannot read the workers: %s", exc)
        return DatabaseFigures(
            devices=store.state_counts(),
            lessons=lessons,
            at_risk=at_risk,
            alerts_open=alerts,
            queues=queue_figures,
            workers=worker_count,
        )

    return read
