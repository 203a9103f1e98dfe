"""The in-memory alerts and shard leases of `booking.health_memory.MemoryHealthStore`:
the two aggregates monitors coordinate through, so each change is a compare-and-set under
a lock, as it is a conditional UPDATE in SQL (at most one unresolved alert per device,
`Conflict` otherwise; one monitor moves an escalation level; one holds a shard)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from booking.errors import Conflict
from booking.health import DeviceKind, HealthState
from booking.health_records import AlertRow, NotificationRow, alert_matches, within


class MemoryAlerts:
    def __init__(self) -> None:
        super().__init__()
        self._alerts_lock = threading.RLock()
        self._alerts: dict[str, AlertRow] = {}
        self._notifications: list[NotificationRow] = []

    def open_alert(self, kind: DeviceKind, device_id: str) -> AlertRow | None:
        with self._alerts_lock:
            return next(
                (
                    a
                    for a in self._alerts.values()
                    if (a.kind, a.device_id) == (kind, device_id) and a.resolved_at is None
                ),
                None,
            )

    def last_resolved(self, kind: DeviceKind, device_id: str, since: datetime) -> AlertRow | None:
        with self._alerts_lock:
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
        with self._alerts_lock:
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
        with self._alerts_lock:
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
        with self._alerts_lock:
            self._change(alert_id, severity=severity, cause=cause, updated_at=at)

    def resolve(self, alert_id: str, at: datetime, cause: str) -> bool:
        with self._alerts_lock:
            alert = self._alerts.get(alert_id)
            return alert is not None and self._change(
                alert_id, alert.resolved_at is None, resolved_at=at, updated_at=at, cause=cause
            )

    def mark_notified(self, alert_id: str, at: datetime) -> None:
        with self._alerts_lock:
            self._change(alert_id, notified_at=at)

    def escalate(self, alert_id: str, from_level: int, at: datetime) -> bool:
        with self._alerts_lock:
            alert = self._alerts.get(alert_id)
            return alert is not None and self._change(
                alert_id,
                alert.level == from_level and alert.status == "open",
                level=from_level + 1,
                notified_at=at,
                updated_at=at,
            )

    def due_escalations(self, notified_before: datetime, max_level: int) -> list[AlertRow]:
        with self._alerts_lock:
            return [
                a
                for a in self._alerts.values()
                if a.status == "open"
                and a.level < max_level
                and a.notified_at is not None
                and a.notified_at <= notified_before
            ]

    def acknowledge(self, alert_id: str, by: str, note: str, at: datetime) -> AlertRow | None:
        with self._alerts_lock:
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
        with self._alerts_lock:
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
        with self._alerts_lock:
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
        with self._alerts_lock:
            self._notifications.extend(rows)

    def notifications(self, alert_id: str | None = None) -> list[NotificationRow]:
        with self._alerts_lock:
            rows = [n for n in self._notifications if alert_id is None or n.alert_id == alert_id]
        return sorted(rows, key=lambda n: n.at)


class MemoryShards:
    def __init__(self) -> None:
        super().__init__()
        self._shards_lock = threading.RLock()
        self._instances: dict[str, datetime] = {}
        self._shards: dict[int, tuple[str | None, datetime | None]] = {}

    def heartbeat(self, instance: str, at: datetime) -> None:
        with self._shards_lock:
            self._instances[instance] = at

    def live_instances(self, since: datetime) -> list[str]:
        with self._shards_lock:
            return sorted(i for i, at in self._instances.items() if at >= since)

    def leave(self, instance: str) -> None:
        with self._shards_lock:
            self.release(instance, list(self._shards))
            self._instances.pop(instance, None)

    def ensure_shards(self, count: int) -> None:
        with self._shards_lock:
            for shard in range(count):
                self._shards.setdefault(shard, (None, None))

    def shard_owners(self) -> dict[int, tuple[str | None, datetime | None]]:
        with self._shards_lock:
            return dict(self._shards)

    def renew(self, instance: str, shards: Iterable[int], until: datetime) -> set[int]:
        with self._shards_lock:
            held = {s for s in shards if self._shards.get(s, (None, None))[0] == instance}
            for shard in held:
                self._shards[shard] = (instance, until)
            return held

    def claim(self, instance: str, shard: int, now: datetime, until: datetime) -> bool:
        with self._shards_lock:
            if shard not in self._shards:
                return False
            owner, expires = self._shards[shard]
            if owner is not None and expires is not None and expires >= now:
                return False
            self._shards[shard] = (instance, until)
            return True

    def release(self, instance: str, shards: Iterable[int]) -> None:
        with self._shards_lock:
            for shard in shards:
                if self._shards.get(shard, (None, None))[0] == instance:
                    self._shards[shard] = (None, None)

    def forget_instances(self, before: datetime) -> None:
        with self._shards_lock:
            self._instances = {i: at for i, at in self._instances.items() if at >= before}
