"""The ports of what the health monitor keeps (`typing.Protocol`), one per aggregate.

- `DeviceDirectory`: the roster of devices to poll, and the organisations responsible
  for them (paths and contacts);
- `DeviceStates`: each device's current state and its transitions, read back per device;
- `UptimeStore`: the aggregated samples (last poll, seconds per state per day);
- `AlertStore`: alert episodes (one unresolved per device), their escalation and the
  notifications sent;
- `ShardStore`: the monitors alive and the shard leases they hold;
- `WatchedLessons`: the live-link occurrences the monitor watches, their at-risk flag, and
  the day's figures;
- `AutomationBacklog`: the automation's plan as queue figures (embedded mode's metrics).

`HealthStore` is all of them: the SQL implementation is `adapters.storage.health`, the
in-memory one `booking.health_memory`. The records they take and give are
`booking.health_records`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from booking.health import DeviceKey, DeviceKind, HealthState
from booking.health_records import (
    AlertRow,
    DeviceRecord,
    DeviceView,
    NotificationRow,
    OrgChain,
    SeenWrite,
    SessionRow,
    StateRow,
    TransitionRow,
    TransitionWrite,
    UptimeRow,
    UptimeWrite,
)


class DeviceDirectory(Protocol):
    def roster(self) -> list[DeviceRecord]:
        """Every active terminal, camera (of an active terminal) and conference server."""
        ...

    def org_path(self, org_id: str) -> str | None: ...

    def org_chain(self, path: str) -> OrgChain:
        """The organisations along a path, from the region down."""
        ...

    def regions(self) -> OrgChain: ...


class DeviceStates(Protocol):
    def states(self, kinds: Iterable[DeviceKind] | None = None) -> dict[DeviceKey, StateRow]: ...

    def record(self, writes: Sequence[TransitionWrite]) -> None:
        """Store transitions and the new current states, together."""
        ...

    def devices(
        self,
        *,
        path: str | None = None,
        kinds: Iterable[DeviceKind] | None = None,
        states: Iterable[HealthState] | None = None,
    ) -> list[DeviceView]:
        """Every active device (inside the org subtree at `path` when given) with its state;
        servers belong to the region and show only without a path."""
        ...

    def device(self, kind: DeviceKind, device_id: str) -> DeviceView | None: ...

    def history(
        self,
        kind: DeviceKind,
        device_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 200,
    ) -> list[TransitionRow]:
        """Transitions of one device, newest first."""
        ...

    def state_counts(self) -> dict[tuple[str, str], int]:
        """(kind, state) → number of devices of the roster (unpolled ones as unknown)."""
        ...


class UptimeStore(Protocol):
    def flush(self, seen: Sequence[SeenWrite], uptime: Sequence[UptimeWrite]) -> None:
        """The aggregated samples since the last flush: latest poll per device, and time
        and poll counts per device per day (added to what is stored)."""
        ...

    def uptime(self, kind: DeviceKind, device_id: str, first: date, last: date) -> list[UptimeRow]:
        """Per-day accounting over the inclusive range [first, last]."""
        ...


class AlertStore(Protocol):
    def open_alert(self, kind: DeviceKind, device_id: str) -> AlertRow | None: ...

    def last_resolved(
        self, kind: DeviceKind, device_id: str, since: datetime
    ) -> AlertRow | None: ...

    def open_new_alert(
        self,
        kind: DeviceKind,
        device_id: str,
        severity: HealthState,
        cause: str,
        org_path: str,
        at: datetime,
    ) -> AlertRow:
        """Raises `Conflict` if the device has an unresolved alert already."""
        ...

    def reopen(self, alert_id: str, severity: HealthState, cause: str, at: datetime) -> bool: ...

    def update_alert(
        self, alert_id: str, severity: HealthState, cause: str, at: datetime
    ) -> None: ...

    def resolve(self, alert_id: str, at: datetime, cause: str) -> bool: ...

    def mark_notified(self, alert_id: str, at: datetime) -> None: ...

    def escalate(self, alert_id: str, from_level: int, at: datetime) -> bool:
        """Compare-and-set the escalation level: True for the one monitor that moved it."""
        ...

    def due_escalations(self, notified_before: datetime, max_level: int) -> list[AlertRow]: ...

    def acknowledge(self, alert_id: str, by: str, note: str, at: datetime) -> AlertRow | None: ...

    def alert(self, alert_id: str) -> AlertRow | None: ...

    def alerts(
        self,
        *,
        status: str | None = None,
        path: str | None = None,
        kind: DeviceKind | None = None,
        device_id: str | None = None,
        limit: int = 200,
    ) -> list[AlertRow]:
        """Newest first."""
        ...

    def open_alert_counts(self) -> dict[str, int]:
        """Unresolved alerts by severity, for the metrics."""
        ...

    def log_notifications(self, rows: Sequence[NotificationRow]) -> None: ...

    def notifications(self, alert_id: str | None = None) -> list[NotificationRow]: ...


class ShardStore(Protocol):
    def heartbeat(self, instance: str, at: datetime) -> None: ...

    def live_instances(self, since: datetime) -> list[str]: ...

    def leave(self, instance: str) -> None:
        """A monitor stopping: its shards are free at once, its heartbeat gone."""
        ...

    def ensure_shards(self, count: int) -> None: ...

    def shard_owners(self) -> dict[int, tuple[str | None, datetime | None]]: ...

    def renew(self, instance: str, shards: Iterable[int], until: datetime) -> set[int]:
        """Extend our leases; returns the shards we still hold."""
        ...

    def claim(self, instance: str, shard: int, now: datetime, until: datetime) -> bool:
        """Take a free or expired shard (compare-and-set)."""
        ...

    def release(self, instance: str, shards: Iterable[int]) -> None: ...

    def forget_instances(self, before: datetime) -> None: ...


class WatchedLessons(Protocol):
    def sessions(self, start: datetime, end: datetime) -> list[SessionRow]:
        """Live-link occurrences, not cancelled nor over, whose busy range overlaps
        [start, end), with their terminals (ordered by start)."""
        ...

    def set_at_risk(self, reasons: Mapping[str, str], now: datetime) -> None:
        """Write `at_risk` of these occurrences (a derived flag: the version is kept), and
        since when each is at risk (`booking.health.flagged_since`)."""
        ...

    def at_risk(
        self, start: datetime, end: datetime, *, path: str | None = None
    ) -> list[SessionRow]:
        """Occurrences starting in [start, end) flagged at risk; with `path`, only those with
        a participating school inside that organisation subtree."""
        ...

    def lesson_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        """Occurrences starting in [start, end) by lifecycle state (cancelled included)."""
        ...


class AutomationBacklog(Protocol):
    def automation_backlog(self, now: datetime) -> tuple[int, int]:
        """The automation's plan as the embedded mode's queue figures: steps due now and
        not yet taken, and steps whose last attempt failed."""
        ...


class HealthStore(
    DeviceDirectory,
    DeviceStates,
    UptimeStore,
    AlertStore,
    ShardStore,
    WatchedLessons,
    AutomationBacklog,
    Protocol,
):
    """Everything the monitor keeps (one object in each implementation)."""
