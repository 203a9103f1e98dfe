"""What the health monitor keeps, as records and ports (`typing.Protocol`), one per aggregate.

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
in-memory one `booking.health_memory`. The records are plain data: what a device is
*called* in a notice or on a screen is presentation (`vks.monitor.wording`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from booking.bookings import OccurrenceState, SessionKind
from booking.health import DeviceKey, DeviceKind, HealthState, Transition, Uptime
from booking.resources import Camera, ConferenceServer, Terminal

NEVER_POLLED = "never polled"

OrgChain = list[tuple[str, str, dict[str, str]]]
"""Organisations from the region down: (id, kind, contacts)."""


# --- records ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceRecord:
    """A device as the poller needs it: where to reach it, and where it stands."""

    kind: DeviceKind
    id: str
    name: str  # a camera has none of its own: see `terminal_name`
    url: str
    vendor: str  # terminal dialect, "onvif", or the server platform (bbb | jitsi)
    username: str = ""
    secret_ref: str = ""  # credentials_ref (terminals, cameras) or the server secret_ref
    site_id: str | None = None
    site_name: str = ""
    org_path: str = ""  # the site's materialised path ("" for servers: the region's)
    terminal_id: str | None = None  # cameras
    max_rooms: int = 0
    max_participants: int = 0
    terminal_name: str = ""  # cameras: the name of the terminal they belong to

    @property
    def key(self) -> DeviceKey:
        return (self.kind, self.id)

    @property
    def label(self) -> str:
        """How the at-risk reason names it ("terminal t-1 «Актовый зал», МБОУ «СОШ №20»")."""
        where = f", {self.site_name}" if self.site_name else ""
        if self.kind is DeviceKind.CAMERA:
            of = f" of terminal «{self.terminal_name}»" if self.terminal_name else ""
            return f"camera {self.id}{of}{where}"
        shown = f" «{self.name}»" if self.name and self.name != self.id else ""
        return f"{self.kind.value} {self.id}{shown}{where}"


def terminal_device(terminal: Terminal, site_name: str, org_path: str) -> DeviceRecord:
    """A terminal as a device to poll, standing at its site (name, organisation path)."""
    return DeviceRecord(
        DeviceKind.TERMINAL,
        terminal.id,
        terminal.name,
        terminal.control_url,
        str(terminal.vendor),
        terminal.username,
        terminal.credentials_ref,
        terminal.site_id,
        site_name,
        org_path,
    )


def camera_device(
    camera: Camera, terminal: Terminal, site_name: str, org_path: str
) -> DeviceRecord:
    """A camera as a device to poll: it stands where its terminal does."""
    return DeviceRecord(
        DeviceKind.CAMERA,
        camera.id,
        "",
        camera.onvif_url,
        "onvif",
        camera.username,
        camera.credentials_ref,
        terminal.site_id,
        site_name,
        org_path,
        terminal_id=terminal.id,
        terminal_name=terminal.name,
    )


def server_device(server: ConferenceServer) -> DeviceRecord:
    """A conference server as a device to poll (it belongs to the region: no site)."""
    return DeviceRecord(
        DeviceKind.SERVER,
        server.id,
        server.name,
        server.base_url,
        str(server.kind),
        "",
        server.secret_ref,
        max_rooms=server.max_rooms,
        max_participants=server.max_participants,
    )


@dataclass(frozen=True)
class StateRow:
    kind: DeviceKind
    device_id: str
    state: HealthState
    since: datetime | None
    cause: str
    last_poll_at: datetime | None = None
    rtt_ms: float | None = None
    in_call: bool | None = None


def never_polled(kind: DeviceKind, device_id: str) -> StateRow:
    """The state of a device nobody has polled yet."""
    return StateRow(kind, device_id, HealthState.UNKNOWN, None, NEVER_POLLED)


@dataclass(frozen=True)
class DeviceView:
    """One device with its current state, for the API."""

    device: DeviceRecord
    state: StateRow


@dataclass(frozen=True)
class TransitionWrite:
    kind: DeviceKind
    device_id: str
    transition: Transition
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransitionRow:
    id: int
    kind: DeviceKind
    device_id: str
    at: datetime
    from_state: HealthState
    to_state: HealthState
    cause: str
    details: dict[str, Any]


@dataclass(frozen=True)
class SeenWrite:
    """The latest poll of a device, written at flush time."""

    kind: DeviceKind
    device_id: str
    state: HealthState
    since: datetime | None
    cause: str
    last_poll_at: datetime | None
    rtt_ms: float | None
    in_call: bool | None


@dataclass(frozen=True)
class UptimeWrite:
    kind: DeviceKind
    device_id: str
    day: date
    uptime: Uptime


@dataclass(frozen=True)
class UptimeRow:
    day: date
    uptime: Uptime


@dataclass(frozen=True)
class AlertRow:
    id: str
    kind: DeviceKind
    device_id: str
    severity: HealthState
    cause: str
    org_path: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    level: int
    notified_at: datetime | None
    flaps: int
    acked_by: str | None
    acked_at: datetime | None
    ack_note: str

    @property
    def status(self) -> str:
        if self.resolved_at is not None:
            return "resolved"
        return "acknowledged" if self.acked_at is not None else "open"


ALERT_STATUSES = ("open", "acknowledged", "active", "resolved")
"""What `AlertStore.alerts(status=…)` filters by: `active` is open or acknowledged."""


def alert_matches(alert: AlertRow, status: str | None) -> bool:
    """Whether an alert is in the `status` filter of `AlertStore.alerts` (None: any)."""
    if status is None:
        return True
    if status == "active":
        return alert.resolved_at is None
    return alert.status == status


@dataclass(frozen=True)
class NotificationRow:
    alert_id: str
    at: datetime
    event: str
    level: int
    channel: str
    recipient: str
    status: str
    error: str


@dataclass(frozen=True)
class SessionRow:
    """An occurrence with a live link, as the at-risk rule and the call check need it."""

    occurrence_id: str
    title: str
    kind: SessionKind
    state: OccurrenceState
    setup_start: datetime
    start: datetime  # the online window (`booking.lifecycle.online_window`): a partial
    end: datetime  # broadcast's sub-slot, the whole lesson otherwise
    at_risk: str
    server_id: str | None
    platform: str | None
    terminal_ids: list[str]


def within(path: str, subtree: str) -> bool:
    """`path` is `subtree` or lies beneath it (materialised organisation paths)."""
    return path == subtree or path.startswith(subtree + "/")


# --- ports --------------------------------------------------------------------------------------
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

    def set_at_risk(self, reasons: Mapping[str, str]) -> None:
        """Write `at_risk` of these occurrences (a derived flag: the version is kept)."""
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
