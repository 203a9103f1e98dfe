"""What the health monitor keeps, as plain records: a device to poll and where it stands,
its state and transitions, samples, alerts and notifications, the lessons it watches. The
ports that store them are `booking.health_store`. What a device is *called* in a notice or
on a screen is presentation (`vks.monitor.wording`), not data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from booking.bookings import OccurrenceState, SessionKind
from booking.health import DeviceKey, DeviceKind, HealthState, Transition, Uptime
from booking.resources import Camera, ConferenceServer, Terminal

NEVER_POLLED = "never polled"

OrgChain = list[tuple[str, str, dict[str, str]]]
"""Organisations from the region down: (id, kind, contacts)."""


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

    @property
    def back_in_a_call(self) -> bool:
        """A terminal that was down answers again and is in a call: a call left over from
        before (its lesson ended while it was away) unless a running lesson explains it."""
        t = self.transition
        return (
            self.kind is DeviceKind.TERMINAL
            and t.from_state is HealthState.DOWN
            and t.to_state in (HealthState.OK, HealthState.DEGRADED)
            and self.details.get("in_call") is True
        )


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
    at_risk_since: datetime | None = None  # `at_risk` raised without a break since


def within(path: str, subtree: str) -> bool:
    """`path` is `subtree` or lies beneath it (materialised organisation paths)."""
    return path == subtree or path.startswith(subtree + "/")
