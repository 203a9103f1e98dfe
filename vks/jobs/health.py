"""The job queue's side of the service's health: does Redis answer, and which `vks worker`
processes were seen recently. RQ keeps each worker's registration in Redis with a
time-to-live its heartbeats renew, so a worker that died (or lost Redis) drops out on its
own; a registration whose last heartbeat is older than that is not counted either."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.worker import BaseWorker

from vks.jobs.redis_queue import QUEUE_NAME, queue_for, unreachable

SEEN_WITHIN = timedelta(seconds=480)  # RQ's worker time-to-live (420 s) and some slack


@dataclass(frozen=True)
class Check:
    """One dependency: `ok`, `down` (the process cannot do its work without it) or
    `missing` (the process works, but something else will not happen)."""

    status: str
    detail: str = ""

    @property
    def down(self) -> bool:
        return self.status == "down"


def redis_check(redis: Redis) -> Check:
    reason = unreachable(redis)
    return Check("ok") if reason is None else Check("down", reason)


def recent_workers(redis: Redis, now: datetime, queue_name: str = QUEUE_NAME) -> list[BaseWorker]:
    """Workers of the automation queue with a recent heartbeat (RedisError if it is down)."""
    workers = Worker.all(connection=redis, queue=queue_for(redis, queue_name))
    return [w for w in workers if _recent(w.last_heartbeat, now)]


def workers_check(redis: Redis, now: datetime, queue_name: str = QUEUE_NAME) -> Check:
    """Workers of the automation queue with a recent heartbeat."""
    try:
        seen = recent_workers(redis, now, queue_name)
    except RedisError as error:
        return Check("down", f"the workers cannot be looked up: {error}")
    if not seen:
        return Check(
            "missing",
            "no `vks worker` seen recently: lessons will not start or end by themselves",
        )
    return Check("ok", f"{len(seen)} worker{'s' if len(seen) != 1 else ''} seen recently")


def _recent(heartbeat: datetime | None, now: datetime) -> bool:
    if heartbeat is None:
        return False
    if heartbeat.tzinfo is None:  # RQ stores UTC
        heartbeat = heartbeat.replace(tzinfo=UTC)
    return now - heartbeat <= SEEN_WITHIN
