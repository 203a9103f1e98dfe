"""Health monitoring: current device states, transitions, uptime per day, alerts with their
notifications, and the monitors' membership and shard leases.

Revision ID: 0200
Revises: 0100
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.storage.types

revision: str = "0200"
down_revision: str | None = "0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, adapters.storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "device_health",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _utc("since", True),
        sa.Column("cause", sa.Text(), nullable=False),
        _utc("last_poll_at", True),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("in_call", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "device_id", name=op.f("pk_device_health")),
    )
    op.create_index("ix_device_health_state", "device_health", ["state"])
    op.create_table(
        "device_transitions",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        _utc("at", False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_transitions")),
    )
    op.create_index(
        "ix_device_transitions_kind_device_id_at",
        "device_transitions",
        ["kind", "device_id", "at"],
    )
    op.create_table(
        "device_uptime",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ok_s", sa.Float(), nullable=False),
        sa.Column("degraded_s", sa.Float(), nullable=False),
        sa.Column("down_s", sa.Float(), nullable=False),
        sa.Column("unknown_s", sa.Float(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("rtt_sum_ms", sa.Float(), nullable=False),
        sa.Column("rtt_max_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "device_id", "day", name=op.f("pk_device_uptime")),
    )
    op.create_table(
        "health_alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("org_path", sa.String(length=512), nullable=False),
        _utc("opened_at", False),
        _utc("updated_at", False),
        _utc("resolved_at", True),
        sa.Column("level", sa.Integer(), nullable=False),
        _utc("notified_at", True),
        sa.Column("flaps", sa.Integer(), nullable=False),
        sa.Column("acked_by", sa.String(length=128), nullable=True),
        _utc("acked_at", True),
        sa.Column("ack_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_alerts")),
    )
    op.create_index(
        "ix_health_alerts_kind_device_id_opened_at",
        "health_alerts",
        ["kind", "device_id", "opened_at"],
    )
    op.create_index(
        "uq_health_alerts_open_device",
        "health_alerts",
        ["kind", "device_id"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "health_notifications",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        _utc("at", False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["health_alerts.id"],
            name=op.f("fk_health_notifications_alert_id_health_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_notifications")),
    )
    op.create_index(
        "ix_health_notifications_alert_id_at", "health_notifications", ["alert_id", "at"]
    )
    op.create_table(
        "monitor_instances",
        sa.Column("id", sa.String(length=128), nullable=False),
        _utc("started_at", False),
        _utc("heartbeat_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_instances")),
    )
    op.create_table(
        "monitor_shards",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        _utc("expires_at", True),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_monitor_shards")),
    )


def downgrade() -> None:
    op.drop_table("monitor_shards")
    op.drop_table("monitor_instances")
    op.drop_index("ix_health_notifications_alert_id_at", "health_notifications")
    op.drop_table("health_notifications")
    op.drop_index("uq_health_alerts_open_device", "health_alerts")
    op.drop_index("ix_health_alerts_kind_device_id_opened_at", "health_alerts")
    op.drop_table("health_alerts")
    op.drop_table("device_uptime")
    op.drop_index("ix_device_transitions_kind_device_id_at", "device_transitions")
    op.drop_table("device_transitions")
    op.drop_index("ix_device_health_state", "device_health")
    op.drop_table("device_health")
