"""The embedded runner: no Redis, the same job code in-process.

`vks serve` and `vks demo` without `VKS_REDIS_URL` run it in a background thread with its
own event loop. It sleeps until the next due step (read from the plan, at most a second),
or until `wake_at` says something changed; runs due steps as concurrent batches; plans
occurrences nobody told it about every couple of seconds; runs the full reconciler every
round (`reconcile_every`); delivers webhook events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import Future
from datetime import datetime

from vks.automation.dispatch import DispatchReport
from vks.automation.service import Automation
from vks.jobs.loop import LoopThread

log = logging.getLogger(__name__)

MAX_SLEEP_S = 1.0
PARALLEL_BATCHES = 4


class EmbeddedRunner:
    def __init__(self, automation: Automation) -> None:
        self.automation = automation
        self._loop_thread: LoopThread | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._main_task: Future[None] | None = None
        self._batches: set[asyncio.Task[DispatchReport]] = set()
        self.reports: list[DispatchReport] = []  # recent dispatches, for tests and the demo

    # --- the Waker protocol ------------------------------------------------------------------
    def wake_at(self, instants: list[datetime]) -> None:
        """Something became due (or will): look at the plan again now."""
        loop_thread, wake = self._loop_thread, self._wake
        if loop_thread is not None and wake is not None:
            loop_thread.loop.call_soon_threadsafe(wake.set)

    @property
    def loop_thread(self) -> LoopThread | None:
        """The event loop the device clients belong to (manual operations run there)."""
        return self._loop_thread

    # --- running --------------------------------------------------------------------------------
    def start(self) -> EmbeddedRunner:
        self._loop_thread = LoopThread("vks-embedded-runner").start()
        self._main_task = self._loop_thread.submit(self._main())
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.wake_at([])
        if self._main_task is not None:
            try:
                self._main_task.result(timeout=30)
            except Exception:
                log.exception("the embedded runner stopped with an error")
        if self._loop_thread is not None:
            self._loop_thread.stop()
            self._loop_thread = None

    def __enter__(self) -> EmbeddedRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        a = self.automation
        config = a.config
        last_reconcile = last_sync = float("-inf")
        try:
            await a.warm_up()
        except Exception:
            log.exception("warming up the device clients failed")
        while not self._stopping.is_set():
            self._wake.clear()
            tick = time.monotonic()
            try:
                if tick - last_reconcile >= config.reconcile_every.total_seconds():
                    last_reconcile = last_sync = tick
                    await a.reconciler.run(self)
                elif tick - last_sync >= config.quick_sync_every.total_seconds():
                    last_sync = tick
                    await a.reconciler.sync(self)
                await self._dispatch()
                await a.deliverer.deliver_due(a.clock.now())
                pause = await self._pause()
            except Exception:
                log.exception("embedded runner round failed")
                pause = MAX_SLEEP_S
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), pause)
        if self._batches:
            await asyncio.gather(*self._batches, return_exceptions=True)
        await a.close()

    async def _dispatch(self) -> None:
        """Start batches while steps are due and fewer than PARALLEL_BATCHES are running."""
        a = self.automation
        while len(self._batches) < PARALLEL_BATCHES:
            due = await asyncio.to_thread(a.store.count_due, a.clock.now())
            if due == 0:
                return
            task = asyncio.ensure_future(a.dispatcher.run_due(a.config.batch_max))
            self._batches.add(task)
            task.add_done_callback(self._batch_done)
            await asyncio.sleep(0)  # let it claim before counting again
            await asyncio.sleep(0.05)

    def _batch_done(self, task: asyncio.Task[DispatchReport]) -> None:
        self._batches.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("dispatch failed: %s", error)
        else:
            self.reports.append(task.result())
            del self.reports[:-100]
        if self._wake is not None:
            self._wake.set()

    async def _pause(self) -> float:
        a = self.automation
        if len(self._batches) >= PARALLEL_BATCHES:
            return MAX_SLEEP_S  # a finishing batch wakes us
        upcoming = await asyncio.to_thread(a.store.next_due)
        if upcoming is None:
            return MAX_SLEEP_S
        seconds = (upcoming - a.clock.now()).total_seconds()
        return max(0.0, min(MAX_SLEEP_S, seconds))
