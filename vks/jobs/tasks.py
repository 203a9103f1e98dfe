"""The RQ job functions. They are thin: the job code is `Dispatcher.run_due`, the same
coroutine the embedded runner awaits; here it runs on the worker process's event loop.

`run_due()` (a wake-up, queued a little ahead: it waits for the due instant) counts what
is due and, when there is more than one worker's share, enqueues helper jobs so every
worker takes a slice at once; each job then claims its share and starts all of it
concurrently. Per-occurrence leases make the slices
disjoint, so a duplicate or late job only finds less to do.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from typing import Any

from rq import Worker

from vks.jobs.process import WorkerProcess, current
from vks.jobs.redis_queue import EARLY_S

log = logging.getLogger(__name__)


def run_due(share: int | None = None) -> dict[str, Any]:
    process = current()
    return process.loop.run(dispatch(process, share))


def hang_up_strays(terminal_ids: list[str]) -> dict[str, str]:
    """Terminals the health monitor saw come back online in a call: hang up the calls no
    running occurrence explains (`vks.automation.stray`)."""
    process = current()
    return process.loop.run(process.automation.hang_up_strays(terminal_ids))


def call_ended(terminal_id: str, cause: str = "") -> list[str]:
    """A terminal pushed that its call ended to a process without the automation (`vks
    monitor`): its live lessons become `degraded` and redial it now; the occurrences
    made due."""
    process = current()
    return sorted(process.automation.hook(process.waker).call_ended(terminal_id, cause))


async def dispatch(process: WorkerProcess, share: int | None) -> dict[str, Any]:
    """Run `share` due steps (None: count them and fan helper jobs out over the workers),
    then ask for the wake-ups of the next steps the batch planned."""
    a = process.automation
    config = a.config
    helpers = 0
    if share is None:
        due = await asyncio.to_thread(a.store.count_due, a.clock.now())
        if due == 0:
            due = await _at_the_due_instant(process)
        if due == 0:
            return {"claimed": 0}
        workers = max(1, Worker.count(connection=process.redis, queue=process.queue))
        share = min(config.batch_max, max(config.batch_min, math.ceil(due / workers)))
        helpers = math.ceil(due / share) - 1
        tag = uuid.uuid4().hex[:8]
        for i in range(helpers):
            process.waker.enqueue_share(share, f"{tag}-{i}")
        log.info(
            "%d steps due, %d workers: shares of %d, %d helper jobs", due, workers, share, helpers
        )
    report = await a.dispatcher.run_due(share)
    if report.claimed:
        # what this batch planned next (a start after its pre-flight, a retry in 5 s)
        # has no wake-up yet; and a step made due while it ran (a drop found by the
        # reconciler, an operator's redial) may have found its wake-up taken by this job
        soon = a.clock.now() + config.horizon
        process.waker.wake_at([t for t in report.next_due if t <= soon])
        more = await asyncio.to_thread(a.store.count_due, a.clock.now())
        if more:
            process.waker.wake_now(f"more-{uuid.uuid4().hex[:6]}")
    return {
        "claimed": report.claimed,
        "share": share,
        "helpers": helpers,
        "steps": dict(report.steps),
        "transitions": len(report.applied),
    }


async def _at_the_due_instant(process: WorkerProcess) -> int:
    """A wake-up runs up to `EARLY_S` ahead of its instant (`redis_queue.RqWaker`): wait
    for the next due step if it is that close; how many steps are due then."""
    a = process.automation
    upcoming = await asyncio.to_thread(a.store.next_due)
    if upcoming is None:
        return 0
    ahead = (upcoming - a.clock.now()).total_seconds()
    if not 0 < ahead <= EARLY_S + 1:
        return 0
    await asyncio.sleep(ahead)
    return await asyncio.to_thread(a.store.count_due, a.clock.now())
