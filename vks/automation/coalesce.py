"""Coalescing concurrent one-item database calls into one call over all of them.

A bell storm starts a thousand sessions at once, each asking the room registry "is there
a room for my occurrence?" and "claim it for this server". Asked one by one that is a
thousand transactions; a `Coalescer` collects the requests made within a few milliseconds
of each other and answers them with one batch call (run in a worker thread, as the store
is synchronous). Callers still write `await registry.current(occurrence_id)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

WINDOW_S = 0.002


class Coalescer(Generic[K, V]):
    def __init__(
        self,
        batch: Callable[[Sequence[K]], Mapping[K, V]],
        *,
        window_s: float = WINDOW_S,
        max_batch: int = 1000,
    ) -> None:
        self._batch = batch
        self._window_s = window_s
        self._max_batch = max_batch
        self._pending: list[tuple[K, asyncio.Future[V | None]]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def __call__(self, key: K) -> V | None:
        """The batch call's answer for `key` (None if it gave none)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V | None] = loop.create_future()
        self._pending.append((key, future))
        if len(self._pending) >= self._max_batch:
            self._flush_now(loop)
        elif self._timer is None:
            self._timer = loop.call_later(self._window_s, self._flush_now, loop)
        return await future

    def _flush_now(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        if pending:
            loop.create_task(self._run(pending))

    async def _run(self, pending: list[tuple[K, asyncio.Future[V | None]]]) -> None:
        keys = list(dict.fromkeys(key for key, _ in pending))
        try:
            answers = await asyncio.to_thread(self._batch, keys)
        except BaseException as exc:
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for key, future in pending:
            if not future.done():
                future.set_result(answers.get(key))
