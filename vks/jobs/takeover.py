"""Taking a killed worker's work over within a second: its claimed steps and, if it held
it, the scheduling of wake-ups.

Every `vks worker` runs this in a thread of its own, every `ROUND_S`, beside its event
loop (which a bell's batch can keep busy for seconds: nothing here waits for it):

1. it registers its connection in the workers' registry (`vks.jobs.liveness`) and asks
   which registered workers' connections are closed — those were killed;
2. it moves due wake-ups to the queue if it holds the scheduling lock, taking the lock at
   once from a dead holder (`vks.jobs.scheduling`);
3. the first time it sees a worker dead, it gives that worker's leases back
   (`PlanStore.release_workers`: the steps keep their due time, so they are due at once)
   and runs its share of what is due on the event loop, alongside whatever job the worker
   is busy with — every survivor does the same, and the claims' compare-and-set splits
   the steps between them;
4. steps overdue by `OVERDUE` that nobody claimed (RQ runs one job at a time per worker,
   so their wake-up waits behind a bell's batch; or a worker died unseen and its leases
   ran out) are run the same way.

Exactly-once in effect is what it was with a lease that ran out (ADR 0011): a released
step is claimed by one worker at a time, its start continues from where the devices are
(the room from the registry, terminals already in it left alone).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

from vks.jobs import tasks
from vks.jobs.liveness import Liveness
from vks.jobs.process import WorkerProcess
from vks.jobs.scheduling import WakeUpScheduler

log = logging.getLogger(__name__)

OVERDUE = timedelta(seconds=1.5)
"""A step due this long ago that nobody claimed: every worker's job is busy (a wake-up
waits behind a bell's batch), or a worker died unseen and its leases ran out."""
ROUND_S = 0.5
"""How often a worker looks for dead peers (and moves due wake-ups if it schedules them)."""
FORGET_AFTER_S = 5.0
"""A dead worker stays in the registry this long, so every survivor sees it and takes a share."""


class Takeover:
    def __init__(
        self,
        process: WorkerProcess,
        liveness: Liveness,
        scheduler: WakeUpScheduler,
        every_s: float = ROUND_S,
    ) -> None:
        self.process = process
        self.liveness = liveness
        self.scheduler = scheduler
        self.every_s = every_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name="vks-takeover", daemon=True)
        self._seen_dead: dict[str, float] = {}  # owner → when this worker first saw it dead
        self.running: list[Future[dict[str, Any]]] = []
        self._last_run = float("-inf")

    def start(self) -> Takeover:
        self.liveness.beat()  # registered before the first job is taken
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5)
        try:
            self.scheduler.release()
        except Exception:
            log.exception("could not release the scheduling lock")
        self.liveness.leave()

    def _main(self) -> None:
        while not self._stopping.wait(self.every_s):
            try:
                self.round()
            except Exception:
                log.exception("looking for dead workers failed")

    def round(self) -> int:
        """One round; returns how many steps of dead workers it gave back."""
        reconnected = self.liveness.beat()
        dead = set() if reconnected else self.liveness.dead()
        self.scheduler.round(dead)
        released = self._take_over(dead)
        if not released:
            self._sweep_overdue()
        self._forget(dead)
        return released

    def _sweep_overdue(self) -> None:
        if time.monotonic() - self._last_run < OVERDUE.total_seconds():
            return  # the last dispatch asked for here may not have claimed yet
        a = self.process.automation
        upcoming = a.store.next_due()
        if upcoming is None or upcoming > a.clock.now() - OVERDUE:
            return
        log.info("steps overdue since %s: taking them over", upcoming.isoformat())
        self._run(a.config.batch_max)

    def _run(self, share: int) -> None:
        future = self.process.loop.submit(tasks.dispatch(self.process, share))
        future.add_done_callback(_log_failure)
        self.running = [f for f in self.running if not f.done()] + [future]
        self._last_run = time.monotonic()

    def _take_over(self, dead: set[str]) -> int:
        new = dead - set(self._seen_dead)
        if not new:
            return 0
        a = self.process.automation
        released = a.store.release_workers(new, a.clock.now())
        for owner in new:
            self._seen_dead[owner] = time.monotonic()
        log.warning(
            "worker%s %s died: %d of %s steps given back",
            "s" if len(new) > 1 else "",
            ", ".join(sorted(new)),
            released,
            "their" if len(new) > 1 else "its",
        )
        due = a.store.count_due(a.clock.now())
        if due:
            config = a.config
            self._run(min(config.batch_max, math.ceil(due / max(1, self.liveness.alive))))
        return released

    def _forget(self, dead: set[str]) -> None:
        now = time.monotonic()
        old = {o for o, seen in self._seen_dead.items() if now - seen >= FORGET_AFTER_S}
        if old:
            self.liveness.forget(old & dead)
            for owner in old:
                del self._seen_dead[owner]


def _log_failure(future: Future[dict[str, Any]]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None and not isinstance(error, asyncio.CancelledError):
        log.error("running a dead worker's steps failed: %s", error)
