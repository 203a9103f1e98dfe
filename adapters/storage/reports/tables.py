"""The reports' tables (Alembic revisions `0720`, `0750`):

- `report_lessons`: one row per occurrence with its outcome (`booking.outcomes`), or
  `planned` while it may still change;
- `report_school_lessons`: one row per occurrence and school taking part: its outcome for
  that school, its minutes in the room, the pupils recorded by its people;
- `report_cancellations`: who cancelled an occurrence, why and when;
- `report_closed_months`: a month closed for an organisation, with its report as stored;
- `report_deliveries`: the scheduled reports sent (each once);
- `report_settled`: per month, the instant before which every lesson has its final outcome.

Rows of an occurrence go with it (ON DELETE CASCADE): a date re-planned by an edit of its
booking leaves no stale outcome behind.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text

from adapters.storage.tables import ID, metadata
from adapters.storage.types import UtcDateTime

report_lessons = Table(
    "report_lessons",
    metadata,
    Column("occurrence_id", ID, ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True),
    Column("booking_id", ID, nullable=False),
    Column("month", String(7), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("teacher", Text, nullable=False, default=""),
    Column("host_school_id", ID, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("cause", String(32), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("late_s", Integer, nullable=False, default=0),
    Column("online_s", Integer, nullable=False, default=0),
    Column("cancelled_by", String(128), nullable=False, default=""),
    Column("cancel_lead_s", Integer, nullable=True),
    Column("moved_from", UtcDateTime, nullable=True),
)

report_school_lessons = Table(
    "report_school_lessons",
    metadata,
    Column("occurrence_id", ID, ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True),
    Column("school_id", ID, primary_key=True),
    Column("org_path", String(512), nullable=False),
    Column("month", String(7), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("cause", String(32), nullable=False, default=""),
    Column("late_s", Integer, nullable=False, default=0),
    Column("missing_s", Integer, nullable=False, default=0),
    Column("present_s", Integer, nullable=False, default=0),
    Column("day", Date, nullable=True),  # the lesson's local date
    Column("online_s", Integer, nullable=False, default=0),
    Column("moved", Boolean, nullable=False, default=False),
    Column("pupils_present", Integer, nullable=True),
    Column("pupils_absent", JSON, nullable=False, default=list),
    Column("recorded_by", String(128), nullable=False, default=""),
    Column("recorded_at", UtcDateTime, nullable=True),
    # the most people in the room by its web link at once: on the host school's row only
    Column("joined_by_link", Integer, nullable=False, default=0, server_default="0"),
    # a subtree's rows by prefix (`org_path LIKE 'path/%'`): PostgreSQL's prefix search
    # needs the pattern operator class under a non-C collation (revision 0750)
    Index(
        "ix_report_school_lessons_month_path",
        "month",
        "org_path",
        postgresql_ops={"org_path": "varchar_pattern_ops"},
    ),
)

report_cancellations = Table(
    "report_cancellations",
    metadata,
    Column("occurrence_id", ID, ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True),
    Column("by", String(128), nullable=False, default=""),
    Column("role", String(32), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("at", UtcDateTime, nullable=False),
)

report_closed_months = Table(
    "report_closed_months",
    metadata,
    Column("org_id", ID, primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("org_path", String(512), nullable=False),
    Column("closed_by", String(128), nullable=False),
    Column("closed_at", UtcDateTime, nullable=False),
    Column("report", JSON, nullable=False),
)

report_deliveries = Table(
    "report_deliveries",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
)

report_settled = Table(
    "report_settled",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("until", UtcDateTime, nullable=False),
)
