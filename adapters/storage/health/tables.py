"""The health monitor's tables (on the shared `metadata`, created by the Alembic revision
`0200_health`).

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
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from adapters.storage.tables import ID, metadata
from adapters.storage.types import AutoId, UtcDateTime

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
