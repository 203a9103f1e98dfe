"""What one RQ worker process holds between jobs: the automation (database engine,
device clients), its event loop thread, the Redis queue. `vks worker` installs it before
the first job; a worker started otherwise builds it from the settings on first use."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from redis import Redis
from rq import Queue

from vks.automation.service import Automation
from vks.jobs.loop import LoopThread
from vks.jobs.redis_queue import QUEUE_NAME, RqWaker, queue_for

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 10.0
LEASE_SLACK = timedelta(seconds=1)


@dataclass
class WorkerProcess:
    automation: Automation
    loop: LoopThread
    redis: Redis
    queue: Queue
    waker: RqWaker


_current: WorkerProcess | None = None
_lock = threading.Lock()
_factory: Callable[[], Automation] | None = None


def install(automation: Automation, redis: Redis, queue_name: str = QUEUE_NAME) -> WorkerProcess:
    global _current
    with _lock:
        queue = queue_for(redis, queue_name)
        waker = RqWaker(queue, automation.clock)
        _current = WorkerProcess(
            automation=automation,
            loop=LoopThread().start(),
            redis=redis,
            queue=queue,
            waker=waker,
        )
        # if this worker dies holding leases, a wake-up just after they run out lets a
        # surviving worker take its steps over at once (not at the reconciler's round)
        automation.dispatcher.lease_watch = lambda until: waker.wake_at([until + LEASE_SLACK])
        return _current


def set_factory(factory: Callable[[], Automation]) -> None:
    """How to build the automation when a job runs in a process nobody installed it in."""
    global _factory
    _factory = factory


def current() -> WorkerProcess:
    if _current is not None:
        return _current
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        raise RuntimeError("no automation installed in this process and not inside an RQ job")
    if _factory is None:
        from vks.jobs.assembly import automation_from_settings

        automation = automation_from_settings()
    else:
        automation = _factory()
    return install(automation, job.connection, job.origin)


def uninstall() -> None:
    """Close the automation's device clients (on the loop that used them) and stop it."""
    global _current
    with _lock:
        if _current is not None:
            try:
                _current.loop.run(_current.automation.close(), CLOSE_TIMEOUT_S)
            except Exception:
                log.exception("closing the automation's device clients failed")
            _current.loop.stop()
        _current = None
