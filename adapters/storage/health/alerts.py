"""Alerts, one per problem episode of a device (at most one unresolved: a partial unique
index), their escalation (compare-and-set on the level) and acknowledgement, and the log of
every notification sent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from adapters.storage.batch_store import BatchStore
from adapters.storage.health.tables import health_alerts, health_notifications
from adapters.storage.organisations import in_subtree
from booking.health import DeviceKind, HealthState
from booking.health_records import AlertRow, NotificationRow


def alert_row(r: Any) -> AlertRow:
    return AlertRow(
        r.id,
        DeviceKind(r.kind),
        r.device_id,
        HealthState(r.severity),
        r.cause,
        r.org_path,
        r.opened_at,
        r.updated_at,
        r.resolved_at,
        r.level,
        r.notified_at,
        r.flaps,
        r.acked_by,
        r.acked_at,
        r.ack_note,
    )


class SqlAlerts(BatchStore):
    def open_alert(self, kind: DeviceKind, device_id: str) -> AlertRow | None:
        a = health_alerts.c
        with self._tx() as c:
            row = c.execute(
                select(health_alerts).where(
                    a.kind == kind.value, a.device_id == device_id, a.resolved_at.is_(None)
                )
            ).first()
        return None if row is None else alert_row(row)

    def last_resolved(self, kind: DeviceKind, device_id: str, since: datetime) -> AlertRow | None:
        a = health_alerts.c
        with self._tx() as c:
            row = c.execute(
                select(health_alerts)
                .where(a.kind == kind.value, a.device_id == device_id, a.resolved_at >= since)
                .order_by(a.resolved_at.desc())
                .limit(1)
            ).first()
        return None if row is None else alert_row(row)

    def open_new_alert(
        self,
        kind: DeviceKind,
        device_id: str,
        severity: HealthState,
        cause: str,
        org_path: str,
        at: datetime,
    ) -> AlertRow:
        values = {
            "id": str(uuid.uuid4()),
            "kind": kind.value,
            "device_id": device_id,
            "severity": severity.value,
            "cause": cause,
            "org_path": org_path,
            "opened_at": at,
            "updated_at": at,
            "resolved_at": None,
            "level": 0,
            "notified_at": None,
            "flaps": 0,
            "acked_by": None,
            "acked_at": None,
            "ack_note": "",
        }
        with self._tx() as c:
            c.execute(health_alerts.insert().values(**values))
        return self.alert(str(values["id"]))  # type: ignore[return-value]

    def reopen(self, alert_id: str, severity: HealthState, cause: str, at: datetime) -> bool:
        a = health_alerts.c
        with self._tx() as c:
            done = c.execute(
                update(health_alerts)
                .where(a.id == alert_id, a.resolved_at.is_not(None))
                .values(
                    resolved_at=None,
                    severity=severity.value,
                    cause=cause,
                    updated_at=at,
                    flaps=a.flaps + 1,
                )
            )
            return done.rowcount == 1

    def update_alert(self, alert_id: str, severity: HealthState, cause: str, at: datetime) -> None:
        with self._tx() as c:
            c.execute(
                update(health_alerts)
                .where(health_alerts.c.id == alert_id)
                .values(severity=severity.value, cause=cause, updated_at=at)
            )

    def resolve(self, alert_id: str, at: datetime, cause: str) -> bool:
        a = health_alerts.c
        with self._tx() as c:
            done = c.execute(
                update(health_alerts)
                .where(a.id == alert_id, a.resolved_at.is_(None))
                .values(resolved_at=at, updated_at=at, cause=cause)
            )
            return done.rowcount == 1

    def mark_notified(self, alert_id: str, at: datetime) -> None:
        with self._tx() as c:
            c.execute(
                update(health_alerts).where(health_alerts.c.id == alert_id).values(notified_at=at)
            )

    def escalate(self, alert_id: str, from_level: int, at: datetime) -> bool:
        """Compare-and-set the escalation level: True for the one monitor that moved it."""
        a = health_alerts.c
        with self._tx() as c:
            done = c.execute(
                update(health_alerts)
                .where(
                    a.id == alert_id,
                    a.level == from_level,
                    a.resolved_at.is_(None),
                    a.acked_at.is_(None),
                )
                .values(level=from_level + 1, notified_at=at, updated_at=at)
            )
            return done.rowcount == 1

    def due_escalations(self, notified_before: datetime, max_level: int) -> list[AlertRow]:
        a = health_alerts.c
        with self._tx() as c:
            return [
                alert_row(r)
                for r in c.execute(
                    select(health_alerts).where(
                        a.resolved_at.is_(None),
                        a.acked_at.is_(None),
                        a.level < max_level,
                        a.notified_at.is_not(None),
                        a.notified_at <= notified_before,
                    )
                )
            ]

    def acknowledge(self, alert_id: str, by: str, note: str, at: datetime) -> AlertRow | None:
        a = health_alerts.c
        with self._tx() as c:
            c.execute(
                update(health_alerts)
                .where(a.id == alert_id, a.acked_at.is_(None))
                .values(acked_by=by, acked_at=at, ack_note=note, updated_at=at)
            )
        return self.alert(alert_id)

    def alert(self, alert_id: str) -> AlertRow | None:
        with self._tx() as c:
            row = c.execute(select(health_alerts).where(health_alerts.c.id == alert_id)).first()
        return None if row is None else alert_row(row)

    def alerts(
        self,
        *,
        status: str | None = None,
        path: str | None = None,
        kind: DeviceKind | None = None,
        device_id: str | None = None,
        limit: int = 200,
    ) -> list[AlertRow]:
        a = health_alerts.c
        query = select(health_alerts)
        if status == "resolved":
            query = query.where(a.resolved_at.is_not(None))
        elif status == "open":
            query = query.where(a.resolved_at.is_(None), a.acked_at.is_(None))
        elif status == "acknowledged":
            query = query.where(a.resolved_at.is_(None), a.acked_at.is_not(None))
        elif status == "active":
            query = query.where(a.resolved_at.is_(None))
        if path is not None:
            query = query.where(in_subtree(a.org_path, path))
        if kind is not None:
            query = query.where(a.kind == kind.value)
        if device_id is not None:
            query = query.where(a.device_id == device_id)
        query = query.order_by(a.opened_at.desc()).limit(limit)
        with self._tx() as c:
            return [alert_row(r) for r in c.execute(query)]

    def open_alert_counts(self) -> dict[str, int]:
        """Unresolved alerts by severity, for the metrics."""
        a = health_alerts.c
        with self._tx() as c:
            return {
                r.severity: r.n
                for r in c.execute(
                    select(a.severity, func.count().label("n"))
                    .where(a.resolved_at.is_(None))
                    .group_by(a.severity)
                )
            }

    def log_notifications(self, rows: Sequence[NotificationRow]) -> None:
        if not rows:
            return
        with self._tx() as c:
            c.execute(
                health_notifications.insert(),
                [
                    {
                        "alert_id": r.alert_id,
                        "at": r.at,
                        "event": r.event,
                        "level": r.level,
                        "channel": r.channel,
                        "recipient": r.recipient,
                        "status": r.status,
                        "error": r.error,
                    }
                    for r in rows
                ],
            )

    def notifications(self, alert_id: str | None = None) -> list[NotificationRow]:
        n = health_notifications.c
        query = select(health_notifications).order_by(n.at, n.id)
        if alert_id is not None:
            query = query.where(n.alert_id == alert_id)
        with self._tx() as c:
            return [
                NotificationRow(
                    r.alert_id, r.at, r.event, r.level, r.channel, r.recipient, r.status, r.error
                )
                for r in c.execute(query)
            ]
