"""The automation's tables (on the shared `metadata`, created by the Alembic revision
`0100_automation`):

- `occurrence_transitions`: every change of an occurrence's lifecycle state (and notes
  such as a switch to a backup terminal), with time, cause, reason and details.
- `automation_plan`: one row per occurrence — the next step (pre-flight, start, end), when
  it is due, and a lease. Claiming a row is a compare-and-set (`pending` and due, or
  `running` with an expired lease → `running` with our lease), so one occurrence is never
  worked on by two workers at once; a worker killed mid-step loses its lease and the step
  is claimed again, idempotently.
- `automation_rooms`: the room registry, one room per occurrence (`occurrence_id` is the
  key): a retried start reuses the registered room instead of creating a second one.
- `automation_link_peaks`: per occurrence, the most people seen in its room by its web
  link (not a terminal) at one poll of a running lesson (revision `0770`).
- `automation_events`: the outbox of events (state changes, at-risk flags, switches) for
  the signed webhook; a row is written in the same transaction as the change it reports.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from adapters.storage.tables import ID, metadata
from adapters.storage.types import AutoId, UtcDateTime

occurrence_transitions = Table(
    "occurrence_transitions",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column(
        "occurrence_id",
        ID,
        ForeignKey("occurrences.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("cause", String(32), nullable=False),  # preflight, start, end, reconciler, operator…
    Column("reason", Text, nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_occurrence_transitions_occurrence_id_at", "occurrence_id", "at"),
)

automation_plan = Table(
    "automation_plan",
    metadata,
    Column(
        "occurrence_id",
        ID,
        ForeignKey("occurrences.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("step", String(16), nullable=False),  # preflight | start | end | none
    Column("due_at", UtcDateTime, nullable=True),
    Column("status", String(16), nullable=False),  # pending | running | idle
    Column("attempts", Integer, nullable=False, default=0),  # of the current step
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("occurrence_version", Integer, nullable=False, default=0),
    Column("booking_version", Integer, nullable=False, default=0),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_automation_plan_status_due_at", "status", "due_at"),
)

automation_rooms = Table(
    "automation_rooms",
    metadata,
    Column(
        "occurrence_id",
        ID,
        ForeignKey("occurrences.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("server_id", ID, nullable=False),
    Column("room_id", String(255), nullable=False),
    Column("platform", String(16), nullable=False, default=""),
    Column("sip_address", String(255), nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("generation", Integer, nullable=False, default=1),  # re-created elsewhere: +1
)

# Rooms left behind on a server the occurrence's room moved away from (it died): ended by
# whichever worker sees that server answer again (adapters.conference.pool).
automation_rooms_left = Table(
    "automation_rooms_left",
    metadata,
    Column(
        "occurrence_id",
        ID,
        ForeignKey("occurrences.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("server_id", ID, primary_key=True),
    Column("left_at", UtcDateTime, nullable=False),
)

automation_link_peaks = Table(
    "automation_link_peaks",
    metadata,
    Column(
        "occurrence_id",
        ID,
        ForeignKey("occurrences.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("peak", Integer, nullable=False),
)

automation_events = Table(
    "automation_events",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("occurrence_id", ID, nullable=True, index=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Index("ix_automation_events_delivered_at_next_attempt_at", "delivered_at", "next_attempt_at"),
)
