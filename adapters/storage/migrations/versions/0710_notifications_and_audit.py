"""Notifications and the audit trail: inboxes, preferences, the outbox of e-mails and
webhook calls, the RCC's deadlines, the append-only audit log, and users' e-mail
addresses (nullable: a user without one hears through the inbox only).

Revision ID: 0710
Revises: 0700
Create Date: 2026-12-06 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.storage.types

revision: str = "0710"
down_revision: str | None = "0700"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)


def _utc(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, adapters.storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # plain ALTER TABLE (not a batch copy): the users table keeps its change-counter trigger
    op.add_column("users", sa.Column("email", sa.Text(), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", ID, primary_key=True),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("title_ru", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("body_ru", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        _utc("created_at", False),
        _utc("read_at", True),
        sa.UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
    )
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", "created_at"])
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", ID, primary_key=True),
        sa.Column("kind", sa.String(length=64), primary_key=True),
        sa.Column("channels", sa.String(length=64), nullable=False),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", ID, primary_key=True),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _utc("due_at", False),
        _utc("created_at", False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        _utc("sent_at", True),
        _utc("claimed_until", True),
    )
    op.create_index(
        "ix_notification_outbox_status_due", "notification_outbox", ["status", "due_at"]
    )
    op.create_index(
        "ix_notification_outbox_user_created", "notification_outbox", ["user_id", "created_at"]
    )
    op.create_table(
        "deadlines",
        sa.Column("id", ID, primary_key=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=128), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("scope_org_id", ID, nullable=False),
        sa.Column("roles", sa.String(length=255), nullable=False),
        sa.Column("remind_days", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        _utc("created_at", True),
        _utc("reminded_at", True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", ID, primary_key=True),
        _utc("at", False),
        sa.Column("actor_id", sa.String(length=128), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("org_path", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("deadlines")
    op.drop_table("notification_outbox")
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
    op.drop_column("users", "email")
