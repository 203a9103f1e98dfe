"""Automation: lifecycle transitions, the per-occurrence plan with its lease, the room
registry (one room per occurrence) and the event outbox of the signed webhook.

Revision ID: 0100
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.storage.types

revision: str = "0100"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, adapters.storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "occurrence_transitions",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("occurrence_id", sa.String(length=64), nullable=False),
        _utc("at", False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name=op.f("fk_occurrence_transitions_occurrence_id_occurrences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occurrence_transitions")),
    )
    op.create_index(
        "ix_occurrence_transitions_occurrence_id_at",
        "occurrence_transitions",
        ["occurrence_id", "at"],
    )
    op.create_table(
        "automation_plan",
        sa.Column("occurrence_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        _utc("due_at", True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        _utc("lease_until", True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("occurrence_version", sa.Integer(), nullable=False),
        sa.Column("booking_version", sa.Integer(), nullable=False),
        _utc("updated_at", False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name=op.f("fk_automation_plan_occurrence_id_occurrences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("occurrence_id", name=op.f("pk_automation_plan")),
    )
    op.create_index("ix_automation_plan_status_due_at", "automation_plan", ["status", "due_at"])
    op.create_table(
        "automation_rooms",
        sa.Column("occurrence_id", sa.String(length=64), nullable=False),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("sip_address", sa.String(length=255), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _utc("created_at", False),
        _utc("ended_at", True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name=op.f("fk_automation_rooms_occurrence_id_occurrences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("occurrence_id", name=op.f("pk_automation_rooms")),
    )
    op.create_table(
        "automation_events",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurrence_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        _utc("created_at", False),
        _utc("delivered_at", True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _utc("next_attempt_at", True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_automation_events_event_id")),
    )
    op.create_index(
        op.f("ix_automation_events_occurrence_id"), "automation_events", ["occurrence_id"]
    )
    op.create_index(
        "ix_automation_events_delivered_at_next_attempt_at",
        "automation_events",
        ["delivered_at", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_automation_events_delivered_at_next_attempt_at", "automation_events")
    op.drop_index(op.f("ix_automation_events_occurrence_id"), "automation_events")
    op.drop_table("automation_events")
    op.drop_table("automation_rooms")
    op.drop_index("ix_automation_plan_status_due_at", "automation_plan")
    op.drop_table("automation_plan")
    op.drop_index("ix_occurrence_transitions_occurrence_id_at", "occurrence_transitions")
    op.drop_table("occurrence_transitions")
