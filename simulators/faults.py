"""Fault injection shared by every simulator.

A device holds one `Faults` value. It is set at start (command-line flags, region file)
and changed at run time through the control API (`PUT /_sim/faults`). Each simulator
decides what a fault means in its own protocol (a SOAP fault, a BBB `FAILED`, an HTTP 500);
this module only holds the state and answers the common questions.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Faults:
    """What is wrong with a simulated device right now."""

    offline: bool = False
    """Connection refused: the device's listening socket is closed."""
    latency_ms: float = 0.0
    """Added to every answer (median of the distribution)."""
    latency_jitter_ms: float = 0.0
    """Spread of the latency distribution (uniform ± jitter)."""
    flapping_period_s: float = 0.0
    """If > 0, the device alternates online/offline every period (answers 503-like resets)."""
    auth_failure: bool = False
    """Every authenticated request is refused, whatever the credentials."""
    error_rate: float = 0.0
    """Share of requests answered with the protocol's server error (0..1)."""
    reboot_s: float = 0.0
    """If > 0, a reboot is in progress for this many seconds from `reboot_started`."""
    reboot_started: float = 0.0
    drop_call_after_s: float = 0.0
    """Terminals: an established call is dropped after this many seconds (0 = never)."""
    at_capacity: bool = False
    """Conference servers (and gateways): refuse new rooms and participants."""
    clock_skew_s: float = 0.0
    """Added to the device's clock (ONVIF time, token checks)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Simulator-specific knobs (e.g. `sip_registration: "Failed"`, `temperature: 85`)."""

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, refusing unknown names (clear error for the control API)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            setattr(self, name, value)
        if changes.get("reboot_s") and "reboot_started" not in changes:
            self.reboot_started = time.monotonic()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def rebooting(self) -> bool:
        return self.reboot_s > 0 and time.monotonic() - self.reboot_started < self.reboot_s

    def flapped_down(self) -> bool:
        """True during the 'down' half of a flapping period."""
        if self.flapping_period_s <= 0:
            return False
        return int(time.monotonic() / self.flapping_period_s) % 2 == 1

    def unreachable(self) -> bool:
        return self.offline or self.flapped_down() or self.rebooting()

    def should_error(self) -> bool:
        return self.error_rate > 0 and random.random() < self.error_rate

    def now(self) -> float:
        """The device's wall clock (UNIX seconds), skew included."""
        return time.time() + self.clock_skew_s

    async def delay(self) -> None:
        """Sleep for the configured latency (nothing when none is set)."""
        if self.latency_ms <= 0 and self.latency_jitter_ms <= 0:
            return
        jitter = random.uniform(-self.latency_jitter_ms, self.latency_jitter_ms)
        await asyncio.sleep(max(0.0, self.latency_ms + jitter) / 1000.0)
