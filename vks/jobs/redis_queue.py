"""The Redis side of the RQ runner: wake-up calls for due steps.

A wake-up is an RQ job (`vks.jobs.tasks.run_due`) scheduled with `enqueue_at` for the
second a step falls due; its id names the second (`vks-due-<epoch>`), so asking twice
queues it once. It carries no occurrence: the job claims whatever is due when it runs.
Losing wake-ups (Redis flushed) delays nothing beyond the reconciler's next round, and a
duplicate finds nothing left to claim.
"""

from __future__ import annotations

import contextlib
import math
import time
from datetime import datetime
from typing import Any

from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError

from vks.automation.clock import Clock, SystemClock

QUEUE_NAME = "vks-automation"
RUN_DUE = "vks.jobs.tasks.run_due"
JOB_TIMEOUT_S = 15 * 60
FAILURE_TTL_S = 10 * 60

JOB_OPTIONS: dict[str, Any] = {
    "result_ttl": 0,  # a finished wake-up leaves nothing behind (its id may be reused)
    "failure_ttl": FAILURE_TTL_S,
    "job_timeout": JOB_TIMEOUT_S,
}


def queue_for(redis: Redis, name: str = QUEUE_NAME) -> Queue:
    return Queue(name, connection=redis)


class RqWaker:
    """Makes sure an RQ worker runs `run_due` when steps fall due."""

    def __init__(self, queue: Queue, clock: Clock | None = None) -> None:
        self.queue = queue
        self.clock = clock or SystemClock()

    def wake_at(self, instants: list[datetime]) -> None:
        now = self.clock.now()
        seconds = sorted({math.ceil(t.timestamp()) for t in instants if t > now})
        if any(t <= now for t in instants):
            self.wake_now()
        for second in seconds:
            self._enqueue_at(second)

    def wake_now(self, tag: str = "now") -> None:
        job_id = f"vks-due-{tag}-{int(time.time())}"
        with contextlib.suppress(DuplicateJobError):  # one this second is enough
            self.queue.enqueue(RUN_DUE, job_id=job_id, unique=True, **JOB_OPTIONS)

    def _enqueue_at(self, second: int) -> None:
        when = datetime.fromtimestamp(second).astimezone()
        with contextlib.suppress(DuplicateJobError):
            self.queue.enqueue_at(
                when, RUN_DUE, job_id=f"vks-due-{second}", unique=True, **JOB_OPTIONS
            )

    def enqueue_share(self, share: int, tag: str) -> None:
        """A helper job that claims `share` due steps (fan-out over the workers)."""
        self.queue.enqueue(RUN_DUE, share, job_id=f"vks-due-share-{tag}", **JOB_OPTIONS)

    def scheduled_count(self) -> int:
        return self.queue.scheduled_job_registry.count
