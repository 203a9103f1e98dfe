"""What the health monitor keeps in the database, and the batch queries it runs.

Tables (on the shared `metadata`, created by the Alembic revision `0200_health`):

- `device_health`: one row per device (kind, id): its current state, since when and why,
  and the last poll (time, round trip, call state) as of the last flush.
- `device_transitions`: every change of state, with time and cause.
- `device_uptime`: seconds per state, poll and failure counts and round-trip sums per
  device per local day; a month is the sum of its days.
- `health_alerts`: one row per problem episode of a device (deduplicated: at most one
  unresolved alert per device, enforced by a partial unique index), its escalation level
  and acknowledgement; `health_notifications` logs every delivery attempt.
- `monitor_instances` / `monitor_shards`: the monitors alive (heartbeats) and the lease
  each holds on a shard of the devices (see `vks/monitor/shards.py`).

Writes come in batches: the poller records only transitions (when they happen) and
flushes aggregated samples every minute or so — never one row per poll per device.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)

from adapters.storage.batch_store import BatchStore
from adapters.storage.tables import (
    ID,
    booking_participants,
    bookings,
    cameras,
    conference_servers,
    metadata,
    occurrences,
    organisations,
    terminals,
)
from adapters.storage.types import UtcDateTime
from booking.bookings import BookingStatus, OccurrenceState, SessionKind
from booking.health import DeviceKey, DeviceKind, HealthState, Transition, Uptime
from booking.lifecycle import online_window

AutoId = BigInteger().with_variant(Integer, "sqlite")

device_health = Table(
    "device_health",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("device_id", ID, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("since", UtcDateTime, nullable=True),
    Column("cause", Text, nullable=False, default=""),
    Column("last_poll_at", UtcDateTime, nullable=True),
    Column("rtt_ms", Float, nullable=True),
    Column("in_call", Boolean, nullable=True),
    Index("ix_device_health_state", "state"),
)

device_transitions = Table(
    "device_transitions",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("device_id", ID, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("cause", Text, nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_device_transitions_kind_device_id_at", "kind", "device_id", "at"),
)

device_uptime = Table(
    "device_uptime",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("device_id", ID, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("ok_s", Float, nullable=False, default=0.0),
    Column("degraded_s", Float, nullable=False, default=0.0),
    Column("down_s", Float, nullable=False, default=0.0),
    Column("unknown_s", Float, nullable=False, default=0.0),
    Column("polls", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    Column("rtt_sum_ms", Float, nullable=False, default=0.0),
    Column("rtt_max_ms", Float, nullable=False, default=0.0),
)

health_alerts = Table(
    "health_alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("device_id", ID, nullable=False),
    Column("severity", String(16), nullable=False),  # degraded | down
    Column("cause", Text, nullable=False, default=""),
    Column("org_path", String(512), nullable=False, default=""),  # where the device stands
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("level", Integer, nullable=False, default=0),  # escalation level reached
    Column("notified_at", UtcDateTime, nullable=True),  # last notification (any level)
    Column("flaps", Integer, nullable=False, default=0),  # reopened within the window
    Column("acked_by", String(128), nullable=True),
    Column("acked_at", UtcDateTime, nullable=True),
    Column("ack_note", Text, nullable=False, default=""),
    Index("ix_health_alerts_kind_device_id_opened_at", "kind", "device_id", "opened_at"),
    Index(
        "uq_health_alerts_open_device",
        "kind",
        "device_id",
        unique=True,
        sqlite_where=Column("resolved_at").is_(None),
        postgresql_where=Column("resolved_at").is_(None),
    ),
)

health_notifications = Table(
    "health_notifications",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column(
        "alert_id",
        String(36),
        ForeignKey("health_alerts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("event", String(16), nullable=False),  # opened | worse | escalated | resolved
    Column("level", Integer, nullable=False, default=0),
    Column("channel", String(16), nullable=False),  # webhook | email
    Column("recipient", Text, nullable=False),
    Column("status", String(16), nullable=False),  # sent | failed
    Column("error", Text, nullable=False, default=""),
    Index("ix_health_notifications_alert_id_at", "alert_id", "at"),
)

monitor_instances = Table(
    "monitor_instances",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

monitor_shards = Table(
    "monitor_shards",
    metadata,
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(128), nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
)


# --- records ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceRecord:
    """A device as the poller needs it: where to reach it, and where it stands."""

    kind: DeviceKind
    id: str
    name: str
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

    @property
    def key(self) -> DeviceKey:
        return (self.kind, self.id)

    @property
    def label(self) -> str:
        names = {
            DeviceKind.TERMINAL: "terminal",
            DeviceKind.CAMERA: "camera",
            DeviceKind.SERVER: "server",
        }
        where = f", {self.site_name}" if self.site_name else ""
        shown = f" «{self.name}»" if self.name and self.name != self.id else ""
        return f"{names[self.kind]} {self.id}{shown}{where}"


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


_FINAL = tuple(s.value for s in OccurrenceState if s.is_final)
_LIVE_KINDS = tuple(k.value for k in SessionKind if k.needs_equipment)


def _state_row(r: Any) -> StateRow:
    return StateRow(
        DeviceKind(r.kind),
        r.device_id,
        HealthState(r.state),
        r.since,
        r.cause,
        r.last_poll_at,
        r.rtt_ms,
        r.in_call,
    )


def _alert_row(r: Any) -> AlertRow:
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


def within(path_column: Any, path: str) -> Any:
    """`path_column` is `path` or lies beneath it (a prefix test on materialised paths)."""
    return or_(path_column == path, path_column.like(path.replace("%", r"\%") + "/%"))


class SqlHealthStore(BatchStore):
    """Every query of the health monitor; each public method is one short transaction."""

    # --- the roster ---------------------------------------------------------------------------
    def roster(self) -> list[DeviceRecord]:
        """Every active terminal, camera (of an active terminal) and conference server."""
        with self._tx() as c:
            return self._roster(c)

    def _roster(
        self, c: Connection, *, path: str | None = None, kinds: Iterable[DeviceKind] | None = None
    ) -> list[DeviceRecord]:
        wanted = set(kinds) if kinds is not None else set(DeviceKind)
        out: list[DeviceRecord] = []
        t, o, cam, srv = terminals, organisations, cameras, conference_servers
        if DeviceKind.TERMINAL in wanted:
            query = (
                select(
                    t.c.id,
                    t.c.name,
                    t.c.control_url,
                    t.c.vendor,
                    t.c.username,
                    t.c.credentials_ref,
                    t.c.site_id,
                    o.c.name.label("site_name"),
                    o.c.path,
                )
                .select_from(t.join(o, o.c.id == t.c.site_id))
                .where(t.c.active.is_(True))
            )
            if path is not None:
                query = query.where(within(o.c.path, path))
            for r in c.execute(query.order_by(t.c.id)):
                out.append(
                    DeviceRecord(
                        DeviceKind.TERMINAL,
                        r.id,
                        r.name,
                        r.control_url,
                        r.vendor,
                        r.username,
                        r.credentials_ref,
                        r.site_id,
                        r.site_name,
                        r.path,
                    )
                )
        if DeviceKind.CAMERA in wanted:
            query = (
                select(
                    cam.c.id,
                    cam.c.onvif_url,
                    cam.c.username,
                    cam.c.credentials_ref,
                    cam.c.terminal_id,
                    t.c.name.label("terminal_name"),
                    t.c.site_id,
                    o.c.name.label("site_name"),
                    o.c.path,
                )
                .select_from(
                    cam.join(t, t.c.id == cam.c.terminal_id).join(o, o.c.id == t.c.site_id)
                )
                .where(cam.c.active.is_(True), t.c.active.is_(True))
            )
            if path is not None:
                query = query.where(within(o.c.path, path))
            for r in c.execute(query.order_by(cam.c.id)):
                out.append(
                    DeviceRecord(
                        DeviceKind.CAMERA,
                        r.id,
                        f"камера терминала «{r.terminal_name}»",
                        r.onvif_url,
                        "onvif",
                        r.username,
                        r.credentials_ref,
                        r.site_id,
                        r.site_name,
                        r.path,
                        terminal_id=r.terminal_id,
                    )
                )
        if DeviceKind.SERVER in wanted and path is None:
            query = select(srv).where(srv.c.active.is_(True)).order_by(srv.c.id)
            for r in c.execute(query):
                out.append(
                    DeviceRecord(
                        DeviceKind.SERVER,
                        r.id,
                        r.name,
                        r.base_url,
                        r.kind,
                        "",
                        r.secret_ref,
                        max_rooms=r.max_rooms,
                        max_participants=r.max_participants,
                    )
                )
        return out

    def org_path(self, org_id: str) -> str | None:
        with self._tx() as c:
            return c.execute(
                select(organisations.c.path).where(organisations.c.id == org_id)
            ).scalar_one_or_none()

    def org_chain(self, path: str) -> list[tuple[str, str, dict[str, str]]]:
        """The organisations along a path, from the region down: (id, kind, contacts)."""
        ids = [p for p in path.split("/") if p]
        if not ids:
            return []
        with self._tx() as c:
            rows = {
                r.id: r
                for r in c.execute(
                    select(
                        organisations.c.id, organisations.c.kind, organisations.c.contacts
                    ).where(organisations.c.id.in_(ids))
                )
            }
        return [(i, rows[i].kind, dict(rows[i].contacts or {})) for i in ids if i in rows]

    def regions(self) -> list[tuple[str, str, dict[str, str]]]:
        with self._tx() as c:
            return [
                (r.id, r.kind, dict(r.contacts or {}))
                for r in c.execute(
                    select(organisations.c.id, organisations.c.kind, organisations.c.contacts)
                    .where(organisations.c.parent_id.is_(None))
                    .order_by(organisations.c.id)
                )
            ]

    # --- states ------------------------------------------------------------------------------
    def states(self, kinds: Iterable[DeviceKind] | None = None) -> dict[DeviceKey, StateRow]:
        query = select(device_health)
        if kinds is not None:
            query = query.where(device_health.c.kind.in_([k.value for k in kinds]))
        with self._tx() as c:
            return {(row.kind, row.device_id): row for row in map(_state_row, c.execute(query))}

    def record(self, writes: Sequence[TransitionWrite]) -> None:
        """Store transitions and the new current states, in one transaction."""
        if not writes:
            return
        with self._tx() as c:
            c.execute(
                device_transitions.insert(),
                [
                    {
                        "kind": w.kind.value,
                        "device_id": w.device_id,
                        "at": w.transition.at,
                        "from_state": w.transition.from_state.value,
                        "to_state": w.transition.to_state.value,
                        "cause": w.transition.cause,
                        "details": dict(w.details),
                    }
                    for w in writes
                ],
            )
            latest: dict[DeviceKey, TransitionWrite] = {}
            for w in writes:
                latest[(w.kind, w.device_id)] = w
            insert = self._insert(device_health)
            c.execute(
                insert.on_conflict_do_update(
                    index_elements=["kind", "device_id"],
                    set_={
                        "state": insert.excluded.state,
                        "since": insert.excluded.since,
                        "cause": insert.excluded.cause,
                    },
                ),
                [
                    {
                        "kind": w.kind.value,
                        "device_id": w.device_id,
                        "state": w.transition.to_state.value,
                        "since": w.transition.at,
                        "cause": w.transition.cause,
                    }
                    for w in latest.values()
                ],
            )

    def flush(self, seen: Sequence[SeenWrite], uptime: Sequence[UptimeWrite]) -> None:
        """The aggregated samples since the last flush: latest poll per device, and time
        and poll counts per device per day (added to what is stored)."""
        if not seen and not uptime:
            return
        with self._tx() as c:
            if seen:
                insert = self._insert(device_health)
                c.execute(
                    insert.on_conflict_do_update(
                        index_elements=["kind", "device_id"],
                        set_={
                            "cause": insert.excluded.cause,
                            "last_poll_at": insert.excluded.last_poll_at,
                            "rtt_ms": insert.excluded.rtt_ms,
                            "in_call": insert.excluded.in_call,
                        },
                    ),
                    [
                        {
                            "kind": s.kind.value,
                            "device_id": s.device_id,
                            "state": s.state.value,
                            "since": s.since,
                            "cause": s.cause,
                            "last_poll_at": s.last_poll_at,
                            "rtt_ms": s.rtt_ms,
                            "in_call": s.in_call,
                        }
                        for s in seen
                    ],
                )
            if uptime:
                insert = self._insert(device_uptime)
                t = device_uptime.c
                c.execute(
                    insert.on_conflict_do_update(
                        index_elements=["kind", "device_id", "day"],
                        set_={
                            "ok_s": t.ok_s + insert.excluded.ok_s,
                            "degraded_s": t.degraded_s + insert.excluded.degraded_s,
                            "down_s": t.down_s + insert.excluded.down_s,
                            "unknown_s": t.unknown_s + insert.excluded.unknown_s,
                            "polls": t.polls + insert.excluded.polls,
                            "failures": t.failures + insert.excluded.failures,
                            "rtt_sum_ms": t.rtt_sum_ms + insert.excluded.rtt_sum_ms,
                            "rtt_max_ms": func.max(t.rtt_max_ms, insert.excluded.rtt_max_ms)
                            if not self.postgres
                            else func.greatest(t.rtt_max_ms, insert.excluded.rtt_max_ms),
                        },
                    ),
                    [
                        {
                            "kind": u.kind.value,
                            "device_id": u.device_id,
                            "day": u.day,
                            "ok_s": u.uptime.ok_s,
                            "degraded_s": u.uptime.degraded_s,
                            "down_s": u.uptime.down_s,
                            "unknown_s": u.uptime.unknown_s,
                            "polls": u.uptime.polls,
                            "failures": u.uptime.failures,
                            "rtt_sum_ms": u.uptime.rtt_sum_ms,
                            "rtt_max_ms": u.uptime.rtt_max_ms,
                        }
                        for u in uptime
                    ],
                )

    # --- reading for the API ------------------------------------------------------------------
    def devices(
        self,
        *,
        path: str | None = None,
        kinds: Iterable[DeviceKind] | None = None,
        states: Iterable[HealthState] | None = None,
    ) -> list[DeviceView]:
        """Every active device (inside the org subtree at `path` when given) with its state;
        servers belong to the region and show only without a path."""
        with self._tx() as c:
            roster = self._roster(c, path=path, kinds=kinds)
            stored = {
                (row.kind, row.device_id): row
                for row in map(_state_row, c.execute(select(device_health)))
            }
        wanted = set(states) if states is not None else None
        out = []
        for device in roster:
            state = stored.get(device.key) or StateRow(
                device.kind, device.id, HealthState.UNKNOWN, None, "never polled"
            )
            if wanted is None or state.state in wanted:
                out.append(DeviceView(device, state))
        return out

    def device(self, kind: DeviceKind, device_id: str) -> DeviceView | None:
        with self._tx() as c:
            found = [d for d in self._roster(c, kinds=[kind]) if d.id == device_id]
            row = c.execute(
                select(device_health).where(
                    device_health.c.kind == kind.value, device_health.c.device_id == device_id
                )
            ).first()
        if not found:
            return None
        state = (
            _state_row(row)
            if row is not None
            else StateRow(kind, device_id, HealthState.UNKNOWN, None, "never polled")
        )
        return DeviceView(found[0], state)

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
        t = device_transitions.c
        query = select(device_transitions).where(t.kind == kind.value, t.device_id == device_id)
        if start is not None:
            query = query.where(t.at >= start)
        if end is not None:
            query = query.where(t.at < end)
        query = query.order_by(t.at.desc(), t.id.desc()).limit(limit)
        with self._tx() as c:
            return [
                TransitionRow(
                    r.id,
                    DeviceKind(r.kind),
                    r.device_id,
                    r.at,
                    HealthState(r.from_state),
                    HealthState(r.to_state),
                    r.cause,
                    dict(r.details or {}),
                )
                for r in c.execute(query)
            ]

    def uptime(self, kind: DeviceKind, device_id: str, first: date, last: date) -> list[UptimeRow]:
        """Per-day accounting over the inclusive range [first, last]."""
        u = device_uptime.c
        query = (
            select(device_uptime)
            .where(u.kind == kind.value, u.device_id == device_id, u.day >= first, u.day <= last)
            .order_by(u.day)
        )
        with self._tx() as c:
            return [
                UptimeRow(
                    r.day,
                    Uptime(
                        r.ok_s,
                        r.degraded_s,
                        r.down_s,
                        r.unknown_s,
                        r.polls,
                        r.failures,
                        r.rtt_sum_ms,
                        r.rtt_max_ms,
                    ),
                )
                for r in c.execute(query)
            ]

    def state_counts(self) -> dict[tuple[str, str], int]:
        """(kind, state) → number of devices, for the metrics (unpolled devices as unknown)."""
        with self._tx() as c:
            roster = self._roster(c)
            stored = {
                (r.kind, r.device_id): r.state
                for r in c.execute(
                    select(device_health.c.kind, device_health.c.device_id, device_health.c.state)
                )
            }
        counts: dict[tuple[str, str], int] = {}
        for device in roster:
            key = (device.kind.value, stored.get((device.kind.value, device.id), "unknown"))
            counts[key] = counts.get(key, 0) + 1
        return counts

    # --- lessons -------------------------------------------------------------------------------
    def sessions(self, start: datetime, end: datetime) -> list[SessionRow]:
        """Live-link occurrences, not cancelled nor over, whose busy range overlaps
        [start, end), with their terminals (ordered by start)."""
        o, b = occurrences.c, bookings.c
        query = (
            select(
                o.id,
                b.title,
                b.kind,
                o.state,
                o.setup_start,
                o.start,
                o.end,
                o.at_risk,
                o.room_server_id,
                o.terminal_ids,
                b.platform,
                b.broadcast_offset_minutes,
                b.broadcast_minutes,
            )
            .select_from(occurrences.join(bookings, bookings.c.id == o.booking_id))
            .where(
                o.setup_start < end,
                o.end > start,
                o.cancelled.is_(False),
                o.state.not_in(_FINAL),
                b.status != BookingStatus.CANCELLED.value,
                b.kind.in_(_LIVE_KINDS),
            )
            .order_by(o.start, o.id)
        )
        with self._tx() as c:
            rows = c.execute(query).all()
        by_occurrence = {r.id: list(r.terminal_ids) for r in rows}
        out = []
        for r in rows:
            kind = SessionKind(r.kind)
            online = online_window(
                kind, r.start, r.end, r.broadcast_offset_minutes, r.broadcast_minutes
            )
            session_start, session_end = online if online is not None else (r.start, r.end)
            out.append(
                SessionRow(
                    r.id,
                    r.title,
                    kind,
                    OccurrenceState(r.state),
                    r.setup_start,
                    session_start,
                    session_end,
                    r.at_risk,
                    r.room_server_id,
                    r.platform,
                    by_occurrence[r.id],
                )
            )
        return out

    def set_at_risk(self, reasons: Mapping[str, str]) -> None:
        """Write `at_risk` of these occurrences (a derived flag: the version is kept)."""
        if not reasons:
            return
        statement = (
            update(occurrences)
            .where(occurrences.c.id == bindparam("oid"))
            .values(at_risk=bindparam("reason"))
        )
        with self._tx() as c:
            c.execute(statement, [{"oid": k, "reason": v} for k, v in reasons.items()])

    def at_risk(
        self, start: datetime, end: datetime, *, path: str | None = None
    ) -> list[SessionRow]:
        """Occurrences starting in [start, end) flagged at risk; with `path`, only those with
        a participating school inside that organisation subtree."""
        rows = [r for r in self.sessions(start, end) if r.at_risk and r.start >= start]
        if path is None or not rows:
            return rows
        bp, o = booking_participants.c, occurrences.c
        with self._tx() as c:
            visible = {
                r.id
                for r in c.execute(
                    select(o.id)
                    .select_from(
                        occurrences.join(
                            booking_participants, booking_participants.c.booking_id == o.booking_id
                        ).join(organisations, organisations.c.id == bp.school_id)
                    )
                    .where(
                        o.id.in_([r.occurrence_id for r in rows]),
                        within(organisations.c.path, path),
                    )
                )
            }
        return [r for r in rows if r.occurrence_id in visible]

    def lesson_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        """Occurrences starting in [start, end) by lifecycle state (cancelled included)."""
        o = occurrences.c
        with self._tx() as c:
            return {
                r.state: r.n
                for r in c.execute(
                    select(o.state, func.count().label("n"))
                    .where(o.start >= start, o.start < end)
                    .group_by(o.state)
                )
            }

    # --- alerts ---------------------------------------------------------------------------------
    def open_alert(self, kind: DeviceKind, device_id: str) -> AlertRow | None:
        a = health_alerts.c
        with self._tx() as c:
            row = c.execute(
                select(health_alerts).where(
                    a.kind == kind.value, a.device_id == device_id, a.resolved_at.is_(None)
                )
            ).first()
        return None if row is None else _alert_row(row)

    def last_resolved(self, kind: DeviceKind, device_id: str, since: datetime) -> AlertRow | None:
        a = health_alerts.c
        with self._tx() as c:
            row = c.execute(
                select(health_alerts)
                .where(a.kind == kind.value, a.device_id == device_id, a.resolved_at >= since)
                .order_by(a.resolved_at.desc())
                .limit(1)
            ).first()
        return None if row is None else _alert_row(row)

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
                _alert_row(r)
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
        return None if row is None else _alert_row(row)

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
            query = query.where(within(a.org_path, path))
        if kind is not None:
            query = query.where(a.kind == kind.value)
        if device_id is not None:
            query = query.where(a.device_id == device_id)
        query = query.order_by(a.opened_at.desc()).limit(limit)
        with self._tx() as c:
            return [_alert_row(r) for r in c.execute(query)]

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

    # --- monitor membership and shard leases -----------------------------------------------------
    def heartbeat(self, instance: str, at: datetime) -> None:
        insert = self._insert(monitor_instances)
        with self._tx() as c:
            c.execute(
                insert.values(id=instance, started_at=at, heartbeat_at=at).on_conflict_do_update(
                    index_elements=["id"], set_={"heartbeat_at": insert.excluded.heartbeat_at}
                )
            )

    def live_instances(self, since: datetime) -> list[str]:
        m = monitor_instances.c
        with self._tx() as c:
            return list(
                c.execute(select(m.id).where(m.heartbeat_at >= since).order_by(m.id)).scalars()
            )

    def leave(self, instance: str) -> None:
        """A monitor stopping: its shards are free at once, its heartbeat row gone."""
        with self._tx() as c:
            c.execute(
                update(monitor_shards)
                .where(monitor_shards.c.owner == instance)
                .values(owner=None, expires_at=None)
            )
            c.execute(delete(monitor_instances).where(monitor_instances.c.id == instance))

    def ensure_shards(self, count: int) -> None:
        with self._tx() as c:
            have = set(c.execute(select(monitor_shards.c.shard)).scalars())
            missing = [
                {"shard": s, "owner": None, "expires_at": None}
                for s in range(count)
                if s not in have
            ]
            if missing:
                insert = self._insert(monitor_shards)
                c.execute(insert.on_conflict_do_nothing(index_elements=["shard"]), missing)

    def shard_owners(self) -> dict[int, tuple[str | None, datetime | None]]:
        with self._tx() as c:
            return {r.shard: (r.owner, r.expires_at) for r in c.execute(select(monitor_shards))}

    def renew(self, instance: str, shards: Iterable[int], until: datetime) -> set[int]:
        """Extend our leases; returns the shards we still hold."""
        wanted = list(shards)
        if not wanted:
            return set()
        s = monitor_shards.c
        with self._tx() as c:
            c.execute(
                update(monitor_shards)
                .where(s.shard.in_(wanted), s.owner == instance)
                .values(expires_at=until)
            )
            return set(
                c.execute(select(s.shard).where(s.shard.in_(wanted), s.owner == instance)).scalars()
            )

    def claim(self, instance: str, shard: int, now: datetime, until: datetime) -> bool:
        """Take a free or expired shard (compare-and-set)."""
        s = monitor_shards.c
        with self._tx() as c:
            done = c.execute(
                update(monitor_shards)
                .where(
                    s.shard == shard,
                    or_(s.owner.is_(None), s.expires_at.is_(None), s.expires_at < now),
                )
                .values(owner=instance, expires_at=until)
            )
            return done.rowcount == 1

    def release(self, instance: str, shards: Iterable[int]) -> None:
        wanted = list(shards)
        if not wanted:
            return
        s = monitor_shards.c
        with self._tx() as c:
            c.execute(
                update(monitor_shards)
                .where(s.shard.in_(wanted), s.owner == instance)
                .values(owner=None, expires_at=None)
            )

    def forget_instances(self, before: datetime) -> None:
        m = monitor_instances.c
        with self._tx() as c:
            c.execute(delete(monitor_instances).where(m.heartbeat_at < before))


__all__ = [
    "AlertRow",
    "DeviceRecord",
    "DeviceView",
    "NotificationRow",
    "SeenWrite",
    "SessionRow",
    "SqlHealthStore",
    "StateRow",
    "TransitionRow",
    "TransitionWrite",
    "UptimeRow",
    "UptimeWrite",
]
