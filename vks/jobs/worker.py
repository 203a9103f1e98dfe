"""`vks worker`: an RQ worker for the automation queue, with the RQ scheduler (the worker
that holds the scheduler lock moves `enqueue_at` jobs to the queue when due) and, in the
background, the reconciler (one worker per round, by a Redis lock) and the webhook
delivery. Several workers on several machines share the work.

The worker class is RQ's `SimpleWorker`: jobs run in the worker process itself, without a
fork per job, so dequeuing is cheap and the process keeps its database pool, its device
clients and its event loop between jobs. A job that crashes the process is no worse off
than one whose worker was killed: its leases expire and another worker claims the steps.

Stopping: SIGTERM ends the work loop after the current job; RQ then stops its scheduler
child and the worker exits within a couple of seconds (its channel for commands is read
every `PUBSUB_POLL_S`, not RQ's 60 s, which held the exit that long). A worker killed
outright (SIGKILL, the OOM killer) takes its scheduler child with it: the child asks
Linux for SIGTERM when its parent dies (`die_with_parent`). Supervisors still kill the
whole process group on stop (systemd `KillMode=control-group`, deploy/systemd/).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import SimpleWorker

from vks.automation.service import Automation
from vks.jobs.liveness import Liveness
from vks.jobs.process import WorkerProcess, install, uninstall
from vks.jobs.redis_queue import QUEUE_NAME, queue_for
from vks.jobs.scheduling import WakeUpScheduler
from vks.jobs.takeover import Takeover

log = logging.getLogger(__name__)

RECONCILER_LOCK = "vks:automation:reconciler"
DELIVERY_EVERY_S = 1.0

ON_READY: list[Callable[[], object]] = []
"""HOOK: what else a `vks worker` process starts once it is ready (the health monitor)."""


PUBSUB_POLL_S = 1.0
"""How often the worker's command channel is read: bounds how long stopping takes."""
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child RQ forked (the scheduler): be sent SIGTERM when the worker dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's group kill remains
        pass


_forks_die_with_parent = False


def forks_die_with_parent() -> None:
    global _forks_die_with_parent
    if not _forks_die_with_parent and sys.platform == "linux":
        os.register_at_fork(after_in_child=die_with_parent)
        _forks_die_with_parent = True


class AutomationWorker(SimpleWorker):
    """Starts the automation's background work once the scheduler (a forked process) is
    running, so no thread of ours is alive when RQ forks."""

    on_ready: Any = None

    def subscribe(self) -> None:
        """RQ's subscription to the worker's command channel, read every PUBSUB_POLL_S."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_POLL_S,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    def _start_scheduler(self, *args: Any, **kwargs: Any) -> None:
        super()._start_scheduler(*args, **kwargs)
        ready, self.on_ready = self.on_ready, None
        if ready is not None:
            ready()


async def background(process: WorkerProcess) -> None:
    """Reconcile every round (if no other worker did), deliver webhook events every second.
    The scheduling of wake-ups, the takeover of killed workers' steps and of overdue ones
    run in a thread of their own (`vks.jobs.takeover`): this loop can be busy for seconds."""
    a = process.automation
    every = a.config.reconcile_every.total_seconds()
    last = float("-inf")
    while True:
        try:
            if time.monotonic() - last >= every:
                last = time.monotonic()
                lock_ms = max(500, int(every * 900))
                if process.redis.set(RECONCILER_LOCK, a.owner, nx=True, px=lock_ms):
                    report = await a.reconciler.run(process.waker)
                    if report.overdue or report.redial or report.planned:
                        log.info("reconciler: %s", report)
                else:  # rooms this worker moved off a server that is back now
                    await a.reconciler.tidy()
            await a.deliverer.deliver_due(a.clock.now())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("automation background round failed")
        await asyncio.sleep(min(DELIVERY_EVERY_S, every, a.config.heartbeat.total_seconds()))


def run_worker(
    redis_url: str,
    automation: Automation,
    *,
    queue_name: str = QUEUE_NAME,
    name: str | None = None,
    burst: bool = False,
    with_background: bool = True,
    logging_level: str = "WARNING",
) -> bool:
    """Work until stopped (SIGTERM/SIGINT), or until the queue is empty with `burst`."""
    for chatty in ("httpx", "httpcore"):  # one line per device request otherwise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    redis = Redis.from_url(redis_url)
    queue = queue_for(redis, queue_name)
    worker = AutomationWorker([queue], connection=redis, name=name)
    takeover: Takeover | None = None

    def ready() -> None:
        nonlocal takeover
        process = install(automation, redis, queue_name)
        try:
            process.loop.run(automation.warm_up(), timeout=30)
        except Exception:
            log.exception("warming up the device clients failed")
        if with_background:
            scheduler = WakeUpScheduler(redis, queue, automation.owner, automation.config.lease)
            liveness = Liveness(redis_url, queue_name, automation.owner)
            takeover = Takeover(process, liveness, scheduler).start()
            process.loop.submit(background(process))
        for hook in ON_READY:  # after RQ forked its scheduler: threads are safe now
            try:
                hook()
            except Exception:
                log.exception("a worker start-up hook failed")

    worker.on_ready = ready
    forks_die_with_parent()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)
    finally:
        if takeover is not None:
            takeover.stop()
        uninstall()
