"""Whether a conference server may get new rooms: a hysteresis over call outcomes.

A server is marked unavailable after `down_after` consecutive failures (no answer, a 5xx,
refused credentials) and is available again after `up_after` consecutive successes (the
pool keeps polling `load()` on unavailable servers, so they can come back). Scalelite uses 2
and 1; we default to 3 and 2 so that one lost packet or a single good answer from a
flapping server does not move rooms around.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class ServerHealth:
    down_after: int = 3
    up_after: int = 2
    available: bool = True
    failures: int = 0  # consecutive
    successes: int = 0  # consecutive
    last_error: str = ""
    changed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def success(self, now: datetime | None = None) -> bool:
        """Record a good answer; True if this brought the server back."""
        self.failures = 0
        self.successes += 1
        if not self.available and self.successes >= self.up_after:
            self.available = True
            self.last_error = ""
            self.changed_at = now or datetime.now(UTC)
            return True
        return False

    def failure(self, reason: str, now: datetime | None = None) -> bool:
        """Record a failure; True if this marked the server unavailable."""
        self.successes = 0
        self.failures += 1
        self.last_error = reason
        if self.available and self.failures >= self.down_after:
            self.available = False
            self.changed_at = now or datetime.now(UTC)
            return True
        return False
