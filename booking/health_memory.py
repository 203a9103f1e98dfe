"""An in-memory `HealthStore` (every port of `booking.health_store`), for fast
specifications of the monitor's decisions — the health state machine, alerting, lessons at
risk, shard leases — with a frozen clock and without a database.

Like the SQL store it keeps at most one unresolved alert per device (`Conflict` otherwise),
moves escalation levels and shard leases by compare-and-set, and adds samples up per day.
The roster, the organisations and the lessons watched are arranged directly
(`add_device`, `add_organisation`, `add_lesson`): in production they come from the
booking tables. One lock makes each method atomic, as a transaction is (the monitor calls
the store from worker threads).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from booking.errors import Conflict
from booking.health import DeviceKey, DeviceKind, HealthState, Uptime
from booking.health_store import (
    AlertRow,
    DeviceRecord,
    DeviceView,
    HealthStore,
    NotificationRow,
    OrgChain,
    SeenWrite,
    SessionRow,
    StateRow,
    TransitionRow,
    TransitionWrite,
    UptimeRow,
    UptimeWrite,
    alert_matches,
    never_polled,
    within,
)


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


class MemoryHealthStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._devices: dict[DeviceKey, DeviceRecord] = {}
        self._orgs: dict[str, OrgEntry] = {}
        self._states: dict[DeviceKey, StateRow] = {}
        self._transitions: list[TransitionRow] = []
        self._uptime: dict[tuple[DeviceKey, date], Uptime] = {}
        self._alerts: dict[str, AlertRow] = {}
        self._notifications: list[NotificationRow] = []
        self._instances: dict[str, datetime] = {}
        self._shards: dict[int, tuple[str | None, datetime | None]] = {}
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

    # --- AlertStore --------------------------------------------------------------------------
    def open_alert(self, kind: DeviceKind, device_id: str) -> AlertRow | None:
        with self._lock:
            return next(
                (
                    a
                    for a in self._alerts.values()
                    if (a.kind, a.device_id) == (kind, device_id) and a.resolved_at is None
                ),
                None,
            )

    def last_resolved(self, kind: DeviceKind, device_id: str, since: datetime) -> AlertRow | None:
        with self._lock:
            resolved = [
                a
                for a in self._alerts.values()
                if (a.kind, a.device_id) == (kind, device_id)
                and a.resolved_at is not None
                and a.resolved_at >= since
            ]
        return max(resolved, key=lambda a: a.resolved_at or since, default=None)

    def open_new_alert(
        self,
        kind: DeviceKind,
        device_id: str,
        severity: HealthState,
        cause: str,
        org_path: str,
        at: datetime,
    ) -> AlertRow:
        with self._lock:
            if self.open_alert(kind, device_id) is not None:
                raise Conflict(f"{kind} {device_id} has an unresolved alert already")
            alert = AlertRow(
                str(uuid.uuid4()), kind, device_id, severity, cause, org_path, at, at,
                None, 0, None, 0, None, None, "",
            )  # fmt: skip
            self._alerts[alert.id] = alert
            return alert

    def _change(self, alert_id: str, when: bool = True, **values: object) -> bool:
        alert = self._alerts.get(alert_id)
        if alert is None or not when:
            return False
        self._alerts[alert_id] = replace(alert, **values)  # type: ignore[arg-type]
        return True

    def reopen(self, alert_id: str, severity: HealthState, cause: str, at: datetime) -> bool:
        with self._lock:
            alert = self._alerts.get(alert_id)
            return alert is not None and self._change(
                alert_id,
                alert.resolved_at is not None,
                resolved_at=None,
                severity=severity,
                cause=cause,
                updated_at=at,
                flaps=alert.flaps + 1,
            )

    def update_alert(self, alert_id: str, severity: HealthState, cause: str, at: datetime) -> None:
        with self._lock:
            self._change(alert_id, severity=severity, cause=cause, updated_at=at)

    def resolve(self, alert_id: str, at: datetime, cause: str) -> bool:
        with self._lock:
            alert = self._alerts.get(alert_id)
            return alert is not None and self._change(
                alert_id, alert.resolved_at is None, resolved_at=at, updated_at=at, cause=cause
            )

    def mark_notified(self, alert_id: str, at: datetime) -> None:
        with self._lock:
            self._change(alert_id, notified_at=at)

    def escalate(self, alert_id: str, from_level: int, at: datetime) -> bool:
        with self._lock:
            alert = self._alerts.get(alert_id)
            return alert is not None and self._change(
                alert_id,
                alert.level == from_level and alert.status == "open",
                level=from_level + 1,
                notified_at=at,
                updated_at=at,
            )

    def due_escalations(self, notified_before: datetime, max_level: int) -> list[AlertRow]:
        with self._lock:
            return [
                a
                for a in self._alerts.values()
                if a.status == "open"
                and a.level < max_level
                and a.notified_at is not None
                and a.notified_at <= notified_before
            ]

    def acknowledge(self, alert_id: str, by: str, note: str, at: datetime) -> AlertRow | None:
        with self._lock:
            alert = self._alerts.get(alert_id)
            if alert is not None:
                self._change(
                    alert_id,
                    alert.acked_at is None,
                    acked_by=by,
                    acked_at=at,
                    ack_note=note,
                    updated_at=at,
                )
            return self._alerts.get(alert_id)

    def alert(self, alert_id: str) -> AlertRow | None:
        with self._lock:
            return self._alerts.get(alert_id)

    def alerts(
        self,
        *,
        status: str | None = None,
        path: str | None = None,
        kind: DeviceKind | None = None,
        device_id: str | None = None,
        limit: int = 200,
    ) -> list[AlertRow]:
        with self._lock:
            found = [
                a
                for a in self._alerts.values()
                if alert_matches(a, status)
                and (path is None or within(a.org_path, path))
                and (kind is None or a.kind is kind)
                and (device_id is None or a.device_id == device_id)
            ]
        found.sort(key=lambda a: a.opened_at, reverse=True)
        return found[:limit]

    def open_alert_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in self.alerts(status="active", limit=len(self._alerts)):
            counts[a.severity.value] = counts.get(a.severity.value, 0) + 1
        return counts

    def log_notifications(self, rows: Sequence[NotificationRow]) -> None:
        with self._lock:
            self._notifications.extend(rows)

    def notifications(self, alert_id: str | None = None) -> list[NotificationRow]:
        with self._lock:
            rows = [n for n in self._notifications if alert_id is None or n.alert_id == alert_id]
        return sorted(rows, key=lambda n: n.at)

    # --- ShardStore --------------------------------------------------------------------------
    def heartbeat(self, instance: str, at: datetime) -> None:
        with self._lock:
            self._instances[instance] = at

    def live_instances(self, since: datetime) -> list[str]:
        with self._lock:
            return sorted(i for i, at in self._instances.items() if at >= since)

    def leave(self, instance: str) -> None:
        with self._lock:
            self.release(instance, list(self._shards))
            self._instances.pop(instance, None)

    def ensure_shards(self, count: int) -> None:
        with self._lock:
            for shard in range(count):
                self._shards.setdefault(shard, (None, None))

    def shard_owners(self) -> dict[int, tuple[str | None, datetime | None]]:
        with self._lock:
            return dict(self._shards)

    def renew(self, instance: str, shards: Iterable[int], until: datetime) -> set[int]:
        with self._lock:
            held = {s for s in shards if self._shards.get(s, (None, None))[0] == instance}
            for shard in held:
                self._shards[shard] = (instance, until)
            return held

    def claim(self, instance: str, shard: int, now: datetime, until: datetime) -> bool:
        with self._lock:
            if shard not in self._shards:
                return False
            owner, expires = self._shards[shard]
            if owner is not None and expires is not None and expires >= now:
                return False
            self._shards[shard] = (instance, until)
            return True

    def release(self, instance: str, shards: Iterable[int]) -> None:
        with self._lock:
            for shard in shards:
                if self._shards.get(shard, (None, None))[0] == instance:
                    self._shards[shard] = (None, None)

    def forget_instances(self, before: datetime) -> None:
        with self._lock:
            self._instances = {i: at for i, at in self._instances.items() if at >= before}

    # --- WatchedLessons, AutomationBacklog ---------------------------------------------------
    def sessions(self, start: datetime, end: datetime) -> list[SessionRow]:
        with self._lock:
            rows = [
                w.row
                for w in self._lessons.values()
                if w.row.setup_start < end and w.busy_end > start and not w.row.state.is_final
            ]
        return sorted(rows, key=lambda r: (r.start, r.occurrence_id))

    def set_at_risk(self, reasons: Mapping[str, str]) -> None:
        with self._lock:
            for occurrence_id, reason in reasons.items():
                watched = self._lessons.get(occurrence_id)
                if watched is not None:
                    self._lessons[occurrence_id] = replace(
                        watched, row=replace(watched.row, at_risk=reason)
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
