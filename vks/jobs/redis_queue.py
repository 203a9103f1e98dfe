"""The Redis side of the RQ runner: wake-up calls for due steps.

A wake-up is an RQ job (`vks.jobs.tasks.run_due`) scheduled with `enqueue_at` for
`EARLY_S` before the second a step falls due (the RQ scheduler moves due jobs to the queue
only once a second, so a job scheduled for the instant itself starts up to a second late;
one scheduled early waits for the instant in the worker); its id names the second it is
queued for (`vks-due-<epoch>`), so asking twice queues it once. It carries no occurrence:
the job claims whatever is due when it runs.
Losing wake-ups (Redis flushed) delays nothing beyond the reconciler's next round, and a
duplicate finds nothing left to claim.
"""

from __future__ import annotations

import contextlib
import math
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError

from booking.errors import ServiceUnavailable
from vks.automation.clock import Clock, SystemClock

QUEUE_NAME = "vks-automation"
RUN_DUE = "vks.jobs.tasks.run_due"
HANG_UP_STRAYS = "vks.jobs.tasks.hang_up_strays"
CALL_ENDED = "vks.jobs.tasks.call_ended"
JOB_TIMEOUT_S = 15 * 60
EARLY_S = 1
"""Wake-ups are scheduled this many seconds before the due instant (see above)."""
FAILURE_TTL_S = 10 * 60

JOB_OPTIONS: dict[str, Any] = {
    "result_ttl": 0,  # a finished wake-up leaves nothing behind (its id may be reused)
    "failure_ttl": FAILURE_TTL_S,
    "job_timeout": JOB_TIMEOUT_S,
}


class JobsUnavailable(ServiceUnavailable):
    """The job queue (Redis) does not answer: nothing can be handed to the workers."""

    code = "jobs_unavailable"


def queue_for(redis: Redis, name: str = QUEUE_NAME) -> Queue:
    return Queue(name, connection=redis)


def redis_client(url: str, *, timeout_s: float | None = None) -> Redis:
    """A client that gives up connecting after `timeout_s` (and, if given, waiting for an
    answer: not for a worker, whose dequeue blocks for minutes on purpose)."""
    return Redis.from_url(url, socket_connect_timeout=timeout_s or 5.0, socket_timeout=timeout_s)


def shown_url(url: str) -> str:
    """The Redis URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def unreachable(redis: Redis) -> str | None:
    """None if Redis answers, else why not (one line)."""
    try:
        redis.ping()
    except RedisError as error:
        text = str(error).strip()
        return text.splitlines()[0].rstrip(".") if text else type(error).__name__
    return None


class RqWaker:
    """Makes sure an RQ worker runs `run_due` when steps fall due."""

    def __init__(self, queue: Queue, clock: Clock | None = None) -> None:
        self.queue = queue
        self.clock = clock or SystemClock()

    def wake_at(self, instants: list[datetime]) -> None:
        try:
            self._wake_at(instants)
        except RedisError as error:
            raise JobsUnavailable(f"the job queue (Redis) does not answer: {error}") from error

    def _wake_at(self, instants: list[datetime]) -> None:
        now = self.clock.now()
        seconds = sorted({math.ceil(t.timestamp()) - EARLY_S for t in instants if t > now})
        if any(t <= now for t in instants) or (seconds and seconds[0] <= now.timestamp()):
            self.wake_now()  # due now, or within EARLY_S: the job waits for the instant
        for second in seconds:
            if second > now.timestamp():
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

    def hang_up_strays(self, terminal_ids: list[str]) -> None:
        """A job for any worker: hang up the calls of these terminals (back online in a
        call) that no running occurrence explains."""
        self.queue.enqueue(HANG_UP_STRAYS, sorted(terminal_ids), **JOB_OPTIONS)

    def call_ended(self, terminal_id: str, cause: str = "") -> None:
        """A job for any worker: a terminal reported (push feedback) that its call ended;
        the lessons that lost it redial it now (`AutomationHook.call_ended`)."""
        self.queue.enqueue(CALL_ENDED, terminal_id, cause, **JOB_OPTIONS)

    def scheduled_count(self) -> int:
        return self.queue.scheduled_job_registry.count
