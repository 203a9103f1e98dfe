"""The monitor in a background thread with its own event loop: how it runs inside the API
process in embedded mode (`vks serve`/`vks demo` without Redis) and inside a worker.

The API's handlers run on another loop (uvicorn's), so everything they ask of the monitor
goes through `call` (thread-safe, onto the monitor's loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from vks.jobs.loop import LoopThread
from vks.monitor.push import Push
from vks.monitor.service import Monitor

log = logging.getLogger(__name__)

T = TypeVar("T")


class MonitorThread:
    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self._loop: LoopThread | None = None

    def start(self, timeout_s: float = 60.0) -> MonitorThread:
        self._loop = LoopThread("vks-monitor").start()
        self._loop.run(self.monitor.start(), timeout=timeout_s)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            loop.run(self.monitor.stop(), timeout=timeout_s)
        except Exception:
            log.exception("the monitor did not stop cleanly")
        loop.stop()

    def call(self, fn: Callable[[], T], timeout_s: float = 5.0) -> T:
        """Run a plain function on the monitor's loop and return its result."""
        if self._loop is None:
            raise RuntimeError("the monitor thread is not running")

        async def run() -> T:
            return fn()

        return self._loop.run(run(), timeout=timeout_s)

    def push(self, terminal_id: str, news: Push) -> bool:
        return self.call(lambda: self.monitor.push(terminal_id, news))

    def __enter__(self) -> MonitorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
