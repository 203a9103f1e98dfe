"""The tables of notifications and the audit trail (on the shared `metadata`, created by
the Alembic revision `0710_notifications_and_audit`):

- `notifications`: people's inboxes, one row per notice per person, unique by
  (user, key) so a fact reaches a person once;
- `notification_preferences`: the channels a person chose per notice kind (`*`: default);
- `notification_outbox`: e-mails and webhook calls to make, written in the transaction
  of the inbox rows, delivered and retried by a job;
- `deadlines`: the RCC's deadlines and whether their reminder went out;
- `audit_log`: append-only, who did what to what and when.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from adapters.storage.tables import ID, metadata
from adapters.storage.types import UtcDateTime

notifications = Table(
    "notifications",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("title_ru", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("body_ru", Text, nullable=False, default=""),
    Column("body_en", Text, nullable=False, default=""),
    Column("link", Text, nullable=True),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
    Index("ix_notifications_user_created", "user_id", "created_at"),
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column("user_id", ID, primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("channels", String(64), nullable=False),  # comma-separated channel names
)

notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("notification_id", ID, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("address", Text, nullable=False, default=""),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("data", JSON, nullable=False, default=dict),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("digest", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("claimed_until", UtcDateTime, nullable=True),
    Index("ix_notification_outbox_status_due", "status", "due_at"),
    Index("ix_notification_outbox_user_created", "user_id", "created_at"),
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("id", ID, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("period", String(128), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("scope_org_id", ID, nullable=False),
    Column("roles", String(255), nullable=False, default=""),  # comma-separated
    Column("remind_days", Integer, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("created_by", String(128), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=True),
    Column("reminded_at", UtcDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", ID, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(128), nullable=False),
    Column("org_path", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_audit_log_at", "at", "id"),
    Index("ix_audit_log_object", "object_id"),
)
