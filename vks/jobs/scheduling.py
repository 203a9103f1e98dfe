"""Moving due wake-ups to the queue, taken over within a lease when a worker dies.

RQ's own scheduler (started by every `vks worker`) holds its lock for a minute and its
peers look for a free lock only every ten minutes (their maintenance round): a worker
killed with SIGKILL while holding it stops every `enqueue_at` wake-up — every pre-flight,
start and retry of the region — until a minute or more later. So each worker also runs
this in its takeover thread (`vks.jobs.takeover`, never behind a busy event loop): under a
lock of `lease` (renewed every round by the worker holding it), the holder moves the
automation queue's due scheduled jobs to the queue. A surviving worker takes the lock at
its next round when the holder is known dead (`vks.jobs.liveness`), and within `lease`
otherwise. When both schedulers move the same job, the wake-up runs twice and the second
finds nothing left to claim.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.scripts import acquire_or_refresh_lock
from rq.utils import current_timestamp

log = logging.getLogger(__name__)

SCHEDULER_LOCK = "vks:automation:scheduler:{queue}"


class WakeUpScheduler:
    def __init__(self, redis: Redis, queue: Queue, owner: str, lease: timedelta) -> None:
        self.redis = redis
        self.queue = queue
        self.owner = owner
        self.ttl_s = max(1, math.ceil(lease.total_seconds()))
        self.key = SCHEDULER_LOCK.format(queue=queue.name)
        self.holding = False

    def round(self, dead: set[str] | frozenset[str] = frozenset()) -> int:
        """Take or keep the lock (from a holder among `dead` at once); if ours, move the
        due wake-ups. Returns how many."""
        for holder in dead:
            if self._drop_lock_of(holder):
                log.info("%s held the scheduling lock of %s and died", holder, self.queue.name)
        held = acquire_or_refresh_lock(self.redis, self.key, self.owner, self.ttl_s) != "taken"
        if held and not self.holding:
            log.info("%s now schedules the wake-ups of %s", self.owner, self.queue.name)
        self.holding = held
        if not held:
            return 0
        registry = self.queue.scheduled_job_registry
        job_ids = registry.get_jobs_to_schedule(current_timestamp())
        if not job_ids:
            return 0
        jobs = Job.fetch_many(job_ids, connection=self.redis)
        moved = 0
        for job_id, job in zip(job_ids, jobs, strict=True):
            if registry.remove(job_id) == 0:
                continue  # the other scheduler moved it meanwhile
            if job is not None:
                self.queue.enqueue_job(job)
                moved += 1
        return moved

    def release(self) -> None:
        self._drop_lock_of(self.owner)

    def _drop_lock_of(self, holder: str) -> bool:
        return bool(self.redis.eval(DROP_IF_HELD_BY, 1, self.key, holder))


DROP_IF_HELD_BY = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
