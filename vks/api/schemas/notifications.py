"""Notifications (the caller's inbox and channels), deadlines, the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from booking.access import Role
from booking.notifications import Channel


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str = Field(description="e.g. booking.cancelled, lesson.degraded, deadline.reminder")
    title_ru: str
    title_en: str
    body_ru: str
    body_en: str
    link: str | None
    urgent: bool
    created_at: dt.datetime | None
    read_at: dt.datetime | None


class UnreadOut(BaseModel):
    unread: int


class ReadAllOut(BaseModel):
    marked_read: int


class PreferencesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "coord-kem-12@school12.example",
                    "channels": {"*": ["inbox", "email"], "lesson.degraded": ["inbox", "webhook"]},
                }
            ]
        },
    )

    channels: dict[str, list[Channel]] = Field(
        default_factory=dict,
        max_length=100,
        description="per notice kind (`*`: every other kind), the channels; the inbox is always on",
    )
    email: str | None = Field(
        default=None,
        max_length=254,
        description="your address for e-mails (omit: unchanged; empty string: remove)",
    )


class PreferencesOut(BaseModel):
    email: str | None
    channels: dict[str, list[Channel]]


class DeadlineIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "combined_request",
                    "period": "2026/27, 3 четверть",
                    "due_on": "2027-01-10",
                    "scope_org_id": "kuzbass",
                    "roles": ["network_admin"],
                    "remind_days": 3,
                    "title": "Сводные заявки на 3 четверть",
                }
            ]
        },
    )

    kind: str = Field(min_length=1, max_length=64)
    period: str = Field(min_length=1, max_length=128)
    due_on: dt.date
    scope_org_id: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(default_factory=list)
    remind_days: int = Field(default=3, ge=0, le=365)
    title: str = Field(default="", max_length=500)


class DeadlineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    period: str
    due_on: dt.date
    scope_org_id: str
    roles: list[Role]
    remind_days: int
    title: str
    created_by: str
    created_at: dt.datetime | None
    reminded_at: dt.datetime | None


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: dt.datetime
    actor_id: str
    actor_role: str
    action: str
    object_type: str
    object_id: str
    org_path: str
    summary: str
    details: dict[str, Any]
