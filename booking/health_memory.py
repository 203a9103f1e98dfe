"""An in-memory `HealthStore` (every port of `booking.health_store`), for fast
specifications of the monitor's decisions — the health state machine, alerting, lessons at
risk, shard leases — with a frozen clock and without a database.

Like the SQL store it keeps at most one unresolved alert per device (`Conflict` otherwise),
moves escalation levels and shard leases by compare-and-set, and adds samples up per day.
The roster, the organisations and the lessons watched are arranged directly
(`add_device`, `add_organisation`, `add_lesson`): in production they come from the
booking tables. A lock per aggregate makes each method atomic, as a transaction is (the
monitor calls the store from worker threads).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from booking.health import DeviceKey, DeviceKind, HealthState, Uptime, flagged_since
from booking.health_memory_alerts import MemoryAlerts, MemoryShards
from booking.health_records import (
    DeviceRecord,
    DeviceView,
    OrgChain,
    SeenWrite,
    SessionRow,
    StateRow,
    TransitionRow,
    TransitionWrite,
    UptimeRow,
    UptimeWrite,
    never_polled,
    within,
)
from booking.health_store import HealthStore


@dataclass(frozen=True)
class OrgEntry:
    id: str
    kind: str
    path: str
    contacts: dict[str, str]


@dataclass(frozen=True)
class WatchedLesson:
    """A lesson as the memory store keeps it: what `sessions` returns, plus the end of its
    busy range and the paths of its participating schools."""

    row: SessionRow
    busy_end: datetime
    school_paths: tuple[str, ...]


class MemoryHealthStore(MemoryAlerts, MemoryShards):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._devices: dict[DeviceKey, DeviceRecord] = {}
        self._orgs: dict[str, OrgEntry] = {}
        self._states: dict[DeviceKey, StateRow] = {}
        self._transitions: list[TransitionRow] = []
        self._uptime: dict[tuple[DeviceKey, date], Uptime] = {}
        self._lessons: dict[str, WatchedLesson] = {}
        self.backlog: tuple[int, int] = (0, 0)

    # --- arranging what production reads from the booking tables ----------------------------
    def add_organisation(
        self, org_id: str, kind: str, path: str, contacts: Mapping[str, str] | None = None
    ) -> None:
        with self._lock:
            self._orgs[org_id] = OrgEntry(org_id, kind, path, dict(contacts or {}))

    def add_device(self, record: DeviceRecord) -> None:
        with self._lock:
            self._devices[record.key] = record

    def remove_device(self, key: DeviceKey) -> None:
        """Deactivated or deleted: no longer in the roster."""
        with self._lock:
            self._devices.pop(key, None)

    def add_lesson(
        self,
        row: SessionRow,
        *,
        busy_end: datetime | None = None,
        school_paths: Iterable[str] = (),
    ) -> None:
        with self._lock:
            self._lessons[row.occurrence_id] = WatchedLesson(
                row, busy_end or row.end, tuple(school_paths)
            )

    # --- DeviceDirectory ---------------------------------------------------------------------
    def roster(self) -> list[DeviceRecord]:
        with self._lock:
            return self._roster()

    def _roster(
        self, *, path: str | None = None, kinds: Iterable[DeviceKind] | None = None
    ) -> list[DeviceRecord]:
        wanted = set(kinds) if kinds is not None else set(DeviceKind)
        order = list(DeviceKind)
        return [
            d
            for d in sorted(self._devices.values(), key=lambda d: (order.index(d.kind), d.id))
            if d.kind in wanted
            and (path is None or (d.kind is not DeviceKind.SERVER and within(d.org_path, path)))
        ]

    def org_path(self, org_id: str) -> str | None:
        with self._lock:
            org = self._orgs.get(org_id)
            return None if org is None else org.path

    def org_chain(self, path: str) -> OrgChain:
        with self._lock:
            ids = [p for p in path.split("/") if p]
            return [
                (i, self._orgs[i].kind, dict(self._orgs[i].contacts))
                for i in ids
                if i in self._orgs
            ]

    def regions(self) -> OrgChain:
        with self._lock:
            return [
                (o.id, o.kind, dict(o.contacts))
                for o in sorted(self._orgs.values(), key=lambda o: o.id)
                if "/" not in o.path
            ]

    # --- DeviceStates ------------------------------------------------------------------------
    def states(self, kinds: Iterable[DeviceKind] | None = None) -> dict[DeviceKey, StateRow]:
        wanted = set(kinds) if kinds is not None else set(DeviceKind)
        with self._lock:
            return {k: s for k, s in self._states.items() if s.kind in wanted}

    def record(self, writes: Sequence[TransitionWrite]) -> None:
        with self._lock:
            for w in writes:
                t = w.transition
                self._transitions.append(
                    TransitionRow(
                        len(self._transitions) + 1,
                        w.kind,
                        w.device_id,
                        t.at,
                        t.from_state,
                        t.to_state,
                        t.cause,
                        dict(w.details),
                    )
                )
                key = (w.kind, w.device_id)
                before = self._states.get(key) or never_polled(w.kind, w.device_id)
                self._states[key] = replace(before, state=t.to_state, since=t.at, cause=t.cause)

    def devices(
        self,
        *,
        path: str | None = None,
        kinds: Iterable[DeviceKind] | None = None,
        states: Iterable[HealthState] | None = None,
    ) -> list[DeviceView]:
        wanted = set(states) if states is not None else None
        with self._lock:
            views = [
                DeviceView(d, self._states.get(d.key) or never_polled(d.kind, d.id))
                for d in self._roster(path=path, kinds=kinds)
            ]
        return [v for v in views if wanted is None or v.state.state in wanted]

    def device(self, kind: DeviceKind, device_id: str) -> DeviceView | None:
        with self._lock:
            found = self._devices.get((kind, device_id))
            if found is None:
                return None
            return DeviceView(found, self._states.get(found.key) or never_polled(kind, device_id))

    def history(
        self,
        kind: DeviceKind,
        device_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 200,
    ) -> list[TransitionRow]:
        with self._lock:
            rows = [
                t
                for t in self._transitions
                if (t.kind, t.device_id) == (kind, device_id)
                and (start is None or t.at >= start)
                and (end is None or t.at < end)
            ]
        rows.sort(key=lambda t: (t.at, t.id), reverse=True)
        return rows[:limit]

    def state_counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        with self._lock:
            for d in self._roster():
                state = self._states.get(d.key)
                key = (d.kind.value, state.state.value if state is not None else "unknown")
                counts[key] = counts.get(key, 0) + 1
        return counts

    # --- UptimeStore -------------------------------------------------------------------------
    def flush(self, seen: Sequence[SeenWrite], uptime: Sequence[UptimeWrite]) -> None:
        with self._lock:
            for s in seen:
                key = (s.kind, s.device_id)
                before = self._states.get(key)
                self._states[key] = StateRow(
                    s.kind,
                    s.device_id,
                    before.state if before is not None else s.state,
                    before.since if before is not None else s.since,
                    s.cause,
                    s.last_poll_at,
                    s.rtt_ms,
                    s.in_call,
                )
            for u in uptime:
                bucket = self._uptime.setdefault(((u.kind, u.device_id), u.day), Uptime())
                bucket.merge(u.uptime)

    def uptime(self, kind: DeviceKind, device_id: str, first: date, last: date) -> list[UptimeRow]:
        with self._lock:
            return [
                UptimeRow(day, replace(figures))
                for (key, day), figures in sorted(self._uptime.items(), key=lambda i: i[0][1])
                if key == (kind, device_id) and first <= day <= last
            ]

    # --- WatchedLessons, AutomationBacklog (alerts, shards: health_memory_alerts) ------------
    def sessions(self, start: datetime, end: datetime) -> list[SessionRow]:
        with self._lock:
            rows = [
                w.row
                for w in self._lessons.values()
                if w.row.setup_start < end and w.busy_end > start and not w.row.state.is_final
            ]
        return sorted(rows, key=lambda r: (r.start, r.occurrence_id))

    def set_at_risk(self, reasons: Mapping[str, str], now: datetime) -> None:
        with self._lock:
            for occurrence_id, reason in reasons.items():
                watched = self._lessons.get(occurrence_id)
                if watched is not None:
                    row = watched.row
                    since = flagged_since(row.at_risk, row.at_risk_since, reason, now)
                    self._lessons[occurrence_id] = replace(
                        watched, row=replace(row, at_risk=reason, at_risk_since=since)
                    )

    def at_risk(
        self, start: datetime, end: datetime, *, path: str | None = None
    ) -> list[SessionRow]:
        with self._lock:
            schools = {k: w.school_paths for k, w in self._lessons.items()}
        return [
            r
            for r in self.sessions(start, end)
            if r.at_risk
            and r.start >= start
            and (path is None or any(within(p, path) for p in schools[r.occurrence_id]))
        ]

    def lesson_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for w in self._lessons.values():
                if start <= w.row.start < end:
                    counts[w.row.state.value] = counts.get(w.row.state.value, 0) + 1
        return counts

    def automation_backlog(self, now: datetime) -> tuple[int, int]:
        return self.backlog


def _implements_the_ports(store: MemoryHealthStore) -> HealthStore:
    return store  # mypy checks the memory store against every port
