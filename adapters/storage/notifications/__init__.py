"""Storage of notifications (inboxes, preferences, outbox, deadlines) and of the audit
trail: the SQL implementations of `booking.notifications.NotificationStore` and
`booking.audit.AuditLog`, on the unit of work's connection."""

from __future__ import annotations

from adapters.storage.notifications.audit import SqlAuditLog
from adapters.storage.notifications.store import SqlNotifications
from adapters.storage.notifications.tables import (
    audit_log,
    deadlines,
    notification_outbox,
    notification_preferences,
    notifications,
)

__all__ = [
    "SqlAuditLog",
    "SqlNotifications",
    "audit_log",
    "deadlines",
    "notification_outbox",
    "notification_preferences",
    "notifications",
]
