"""Lessons at risk: every live-link occurrence in the next 24 h whose terminal, camera or
conference server is not `ok` gets `Occurrence.at_risk` set, with the reason naming each
device; the flag is cleared when they are all ok again.

The rule is `booking.health.risk_reason`; this module only gathers the data (one query for
the occurrences, one for the states, the roster for names and cameras) and writes back
the occurrences whose flag changed. Reasons written here start with `health: `; a flag set
by the automation's pre-flight check (any other text) is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from booking.health import (
    DeviceKey,
    DeviceKind,
    DeviceStatus,
    HealthState,
    Needs,
    is_health_reason,
    risk_reason,
)
from booking.health_records import NEVER_POLLED, DeviceRecord
from booking.health_store import DeviceDirectory, DeviceStates, WatchedLessons
from vks.monitor.config import MonitorConfig


@dataclass(frozen=True)
class RiskReport:
    checked: int
    at_risk: int
    flagged: int  # newly flagged or reworded
    cleared: int


class RiskStore(DeviceDirectory, DeviceStates, WatchedLessons, Protocol):
    """What the at-risk round reads and writes."""


class RiskAssessor:
    def __init__(
        self, store: RiskStore, config: MonitorConfig, now: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.config = config
        self.now = now

    def run(self) -> RiskReport:
        """Blocking (database): run it off the event loop."""
        now = self.now()
        sessions = self.store.sessions(now, now + self.config.risk_horizon)
        if not sessions:
            return RiskReport(0, 0, 0, 0)
        roster = self.store.roster()
        rows = self.store.states()
        records: dict[DeviceKey, DeviceRecord] = {r.key: r for r in roster}
        cameras: dict[str, list[str]] = {}
        for record in roster:
            if record.kind is DeviceKind.CAMERA and record.terminal_id:
                cameras.setdefault(record.terminal_id, []).append(record.id)
        states: dict[DeviceKey, DeviceStatus] = {}
        for key, record in records.items():
            row = rows.get(key)
            state = row.state if row is not None else HealthState.UNKNOWN
            cause = row.cause if row is not None else NEVER_POLLED
            states[key] = DeviceStatus(record.id, record.kind, state, cause, record.label)
        usable = {
            r.vendor
            for key, r in records.items()
            if r.kind is DeviceKind.SERVER and states[key].state is HealthState.OK
        }
        changes: dict[str, str] = {}
        at_risk = flagged = cleared = 0
        for session in sessions:
            needs = Needs(
                terminal_ids=session.terminal_ids,
                camera_ids=[c for t in session.terminal_ids for c in cameras.get(t, [])],
                server_id=session.server_id,
                platform=session.platform,
            )
            reason = risk_reason(needs, states, usable)
            current = session.at_risk
            if reason:
                at_risk += 1
            if current and not is_health_reason(current):
                continue  # the pre-flight check's words stay
            if reason != current:
                changes[session.occurrence_id] = reason
                if reason:
                    flagged += 1
                else:
                    cleared += 1
        self.store.set_at_risk(changes, now)
        return RiskReport(len(sessions), at_risk, flagged, cleared)
