"""Where the automation reads the time: aware UTC instants, replaceable in tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until told to move (specifications, simulations)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> datetime:
        self.at += by
        return self.at


class SteppedClock:
    """A virtual clock for living a stretch of the past quickly: it jumps forward to the
    instant it is told (the next due step), and between jumps runs at the speed of real
    time — so the waits the automation makes within a step (presence polls, timeouts) are
    real waits of real length, while the hours between steps cost nothing. It never goes
    back: a jump to an instant already passed leaves it where it is."""

    def __init__(self, at: datetime) -> None:
        self._at = at
        self._since = time.monotonic()

    def now(self) -> datetime:
        return self._at + timedelta(seconds=time.monotonic() - self._since)

    def jump_to(self, at: datetime) -> datetime:
        now = self.now()
        if at > now:
            self._at, self._since = at, time.monotonic()
            return at
        return now
