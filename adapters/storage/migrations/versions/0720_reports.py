"""The reports: lesson outcomes, attendance per school, cancellations, closed months, the
scheduled reports sent.

Revision ID: 0720
Revises: 0710
Create Date: 2026-12-06 03:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.storage.types

revision: str = "0720"
down_revision: str | None = "0710"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, adapters.storage.types.UtcDateTime(timezone=True), nullable=nullable)


def _occurrence_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["occurrence_id"],
        ["occurrences.id"],
        name=op.f(f"fk_{table}_occurrence_id_occurrences"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "report_lessons",
        sa.Column("occurrence_id", sa.String(length=64), nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        _utc("start", False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("teacher", sa.Text(), nullable=False),
        sa.Column("host_school_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("late_s", sa.Integer(), nullable=False),
        sa.Column("online_s", sa.Integer(), nullable=False),
        sa.Column("cancelled_by", sa.String(length=128), nullable=False),
        sa.Column("cancel_lead_s", sa.Integer(), nullable=True),
        _utc("moved_from", True),
        _occurrence_fk("report_lessons"),
        sa.PrimaryKeyConstraint("occurrence_id", name=op.f("pk_report_lessons")),
    )
    op.create_table(
        "report_school_lessons",
        sa.Column("occurrence_id", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("org_path", sa.String(length=512), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("late_s", sa.Integer(), nullable=False),
        sa.Column("missing_s", sa.Integer(), nullable=False),
        sa.Column("present_s", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("online_s", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Boolean(), nullable=False),
        sa.Column("pupils_present", sa.Integer(), nullable=True),
        sa.Column("pupils_absent", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        _utc("recorded_at", True),
        _occurrence_fk("report_school_lessons"),
        sa.PrimaryKeyConstraint(
            "occurrence_id", "school_id", name=op.f("pk_report_school_lessons")
        ),
    )
    op.create_index(
        "ix_report_school_lessons_month_path", "report_school_lessons", ["month", "org_path"]
    )
    op.create_table(
        "report_cancellations",
        sa.Column("occurrence_id", sa.String(length=64), nullable=False),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _utc("at", False),
        _occurrence_fk("report_cancellations"),
        sa.PrimaryKeyConstraint("occurrence_id", name=op.f("pk_report_cancellations")),
    )
    op.create_table(
        "report_closed_months",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("org_path", sa.String(length=512), nullable=False),
        sa.Column("closed_by", sa.String(length=128), nullable=False),
        _utc("closed_at", False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "month", name=op.f("pk_report_closed_months")),
    )
    op.create_table(
        "report_deliveries",
        sa.Column("key", sa.String(length=255), nullable=False),
        _utc("at", False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_report_deliveries")),
    )
    op.create_table(
        "report_settled",
        sa.Column("month", sa.String(length=7), nullable=False),
        _utc("until", False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_report_settled")),
    )


def downgrade() -> None:
    op.drop_table("report_settled")
    op.drop_table("report_deliveries")
    op.drop_table("report_closed_months")
    op.drop_table("report_cancellations")
    op.drop_index("ix_report_school_lessons_month_path", table_name="report_school_lessons")
    op.drop_table("report_school_lessons")
    op.drop_table("report_lessons")
