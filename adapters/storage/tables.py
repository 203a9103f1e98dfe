"""The schema, as explicit SQLAlchemy Core tables (no ORM mapping of domain classes).

Repositories build the domain dataclasses from rows themselves. Value objects that are
always read whole (bells, quarters, holidays, contacts, presets, an occurrence's
terminals) are JSON columns.

An occurrence row carries its terminals (`terminal_ids`, in order; kept when it is
cancelled, so it still shows in the terminal's calendar) and whether it holds them now
(`reserved`: live; cleared when the occurrence is released). Which terminals a booking
uses is one `reservations` row per (booking, terminal); on PostgreSQL the row's `busy`
is the `tstzmultirange` of every [start − set-up buffer, end) for which the booking holds
the terminal, and an exclusion constraint over (terminal_id WITH =, busy WITH &&) makes
double booking impossible even for racing processes. A year of weekly lessons is then
one constrained row per series and terminal instead of one per date (a bulk load of
1.7 million occurrences enters ~50,000 GiST entries). The Alembic revisions create the
constraint (with `btree_gist`); `EXCLUSION_CONSTRAINT` names it so its violations are
recognised; its GiST index also answers "the bookings of these terminals". SQLite has no
ranges: `busy` stays NULL there and writers are serialised (the service checks, nothing
races); the B-tree on (terminal_id, booking_id) answers the same question there.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    text,
)

from adapters.storage.types import BusyRanges, UtcDateTime

EXCLUSION_CONSTRAINT = "reservations_no_overlap"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)

# --- organisations and school time ------------------------------------------------------
organisations = Table(
    "organisations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("parent_id", ID, ForeignKey("organisations.id"), nullable=True, index=True),
    Column("path", String(512), nullable=False, unique=True),
    Column("time_zone", String(64), nullable=False),
    Column("address", Text, nullable=False, default=""),
    Column("contacts", JSON, nullable=False, default=dict),
    Column("bell_schedule_id", ID, nullable=True),
    Column("base_school_id", ID, nullable=True),
    Column("study_days", Integer, nullable=True),  # 5 or 6; NULL: inherited
    Column("version", Integer, nullable=False, default=1),
)

bell_schedules = Table(
    "bell_schedules",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False, default=""),
    Column("lessons", JSON, nullable=False),  # {"1": ["08:00", "08:40"], …}
    Column("shortened", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=1),
)

academic_years = Table(
    "academic_years",
    metadata,
    Column("id", ID, primary_key=True),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("quarters", JSON, nullable=False),  # [{"number", "start", "end"}]
    Column("holidays", JSON, nullable=False),  # [{"name", "start", "end"}]
    Column("public_holidays", JSON, nullable=False),  # ["2026-11-04", …]
    Column("shortened_days", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=1),
)

closures = Table(
    "closures",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),
    Index("ix_closures_org_id_start", "org_id", "start"),
)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("full_name", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),
    Column("email", Text, nullable=True),  # revision 0710: where notifications are mailed
)

# Every feed and service-account token issued (revision 0500), by its `jti`: a token of
# these kinds is honoured only while its row is here and not revoked. `user_id` is a
# user's id or `svc:<name>` (no foreign key: service accounts are not users).
issued_tokens = Table(
    "issued_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", String(128), nullable=False, index=True),
    Column("scope", String(8), nullable=False),
    Column("name", String(128), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False, default=1),
)

# --- equipment --------------------------------------------------------------------------
terminals = Table(
    "terminals",
    metadata,
    Column("id", ID, primary_key=True),
    Column("site_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("vendor", String(32), nullable=False),
    Column("sip_address", String(255), nullable=False),
    Column("control_url", String(512), nullable=False),
    Column("username", String(128), nullable=False, default="admin"),
    Column("credentials_ref", String(255), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("version", Integer, nullable=False, default=1),
)

cameras = Table(
    "cameras",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "terminal_id",
        ID,
        ForeignKey("terminals.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("onvif_url", String(512), nullable=False),
    Column("username", String(128), nullable=False, default="admin"),
    Column("credentials_ref", String(255), nullable=False, default=""),
    Column("presets", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("version", Integer, nullable=False, default=1),
)

conference_servers = Table(
    "conference_servers",
    metadata,
    Column("id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("base_url", String(512), nullable=False),
    Column("secret_ref", String(255), nullable=False),
    Column("max_rooms", Integer, nullable=False),
    Column("max_participants", Integer, nullable=False),
    Column("gateway_sip_host", String(255), nullable=False, default=""),
    Column("gateway_ports", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    Column("version", Integer, nullable=False, default=1),
)

# --- bookings ---------------------------------------------------------------------------
bookings = Table(
    "bookings",
    metadata,
    Column("id", ID, primary_key=True),
    Column("title", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("organiser_id", ID, nullable=False),
    Column("owner_org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("host_school_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("teacher", Text, nullable=False),
    Column("platform", String(16), nullable=True),
    Column("setup_minutes", Integer, nullable=False),
    Column("expected_participants", Integer, nullable=False),
    Column("subject", Text, nullable=False, default=""),
    Column("start", UtcDateTime, nullable=True),
    Column("end", UtcDateTime, nullable=True),
    # the weekly recurrence, flattened (all NULL for a one-off booking)
    Column("rec_weekdays", JSON, nullable=True),
    Column("rec_starts_on", Date, nullable=True),
    Column("rec_ends_on", Date, nullable=True),
    Column("rec_lesson_number", Integer, nullable=True),
    Column("rec_start_time", Time, nullable=True),
    Column("rec_end_time", Time, nullable=True),
    Column("rec_week_parity", String(1), nullable=True),
    Column("broadcast_offset_minutes", Integer, nullable=True),
    Column("broadcast_minutes", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("hold_expires_at", UtcDateTime, nullable=True),
    Column("external_ref", String(255), nullable=True),
    Column("created_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Index("uq_bookings_owner_org_id_external_ref", "owner_org_id", "external_ref", unique=True),
    Index("ix_bookings_host_school_id", "host_school_id"),
    Index("ix_bookings_teacher", "teacher"),
    Index("ix_bookings_status_hold_expires_at", "status", "hold_expires_at"),
)

booking_participants = Table(
    "booking_participants",
    metadata,
    Column("booking_id", ID, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("school_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("terminal_id", ID, ForeignKey("terminals.id"), nullable=True, index=True),
    Column("camera_preset", String(64), nullable=True),
    Column("class_name", String(64), nullable=True),
    # confirmed | invited | declined (booking.bookings.ParticipantState)
    Column("state", String(16), nullable=False, server_default="confirmed"),
    Index("ix_booking_participants_school_id_class_name", "school_id", "class_name"),
)

occurrences = Table(
    "occurrences",
    metadata,
    Column("id", ID, primary_key=True),
    Column("booking_id", ID, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("setup_start", UtcDateTime, nullable=False),
    Column("local_date", Date, nullable=False),
    Column("lesson_number", Integer, nullable=True),
    Column("teacher", Text, nullable=True),
    Column("cancelled", Boolean, nullable=False, default=False),
    Column("moved_from", UtcDateTime, nullable=True),
    Column("state", String(16), nullable=False),
    Column("state_reason", Text, nullable=False, default=""),
    Column("at_risk", Text, nullable=False, default=""),
    Column("at_risk_since", UtcDateTime, nullable=True),  # the flag raised without a break since
    Column("room_server_id", ID, nullable=True),
    Column("room_id", String(255), nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Column("terminal_ids", JSON, nullable=False),  # ["term-…", …] in the session's order
    Column("reserved", Boolean, nullable=False, default=False),  # holds its terminals now
    # the one municipality of its terminals, "" when several (adapters/storage/areas.py, 0780)
    Column("area", Text, nullable=False, default="", server_default=""),
    Index("ix_occurrences_booking_id_start", "booking_id", "start"),
    # PostgreSQL: covering, so the recurring-slot search reads the index alone (0740)
    Index(
        "ix_occurrences_start",
        "start",
        postgresql_include=["setup_start", "end", "reserved", "terminal_ids"],
    ),
    # PostgreSQL: a municipality's recurring-slot search reads its own reserved rows (0780)
    Index(
        "ix_occurrences_area_start",
        "area",
        "start",
        postgresql_include=["setup_start", "end", "terminal_ids"],
        postgresql_where=text("reserved"),
    ),
    # the Today board's reads of a day, index-only (revision 0760)
    Index("ix_occurrences_board", "start", "end", "state", "cancelled", "booking_id", "at_risk"),
    Index(
        "ix_occurrences_teacher",
        "teacher",
        postgresql_where=text("teacher IS NOT NULL"),
        sqlite_where=text("teacher IS NOT NULL"),
    ),
)

# One row per (booking, terminal it uses, now or once); `busy` (PostgreSQL) is when the
# booking holds the terminal, under the exclusion constraint the migrations add.
reservations = Table(
    "reservations",
    metadata,
    Column("booking_id", ID, ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("terminal_id", ID, ForeignKey("terminals.id"), primary_key=True),
    Column("busy", BusyRanges, nullable=True),
    Index("ix_reservations_terminal_id_booking_id", "terminal_id", "booking_id"),
)

# The longest span ever stored, per kind of row ("occurrences": end − setup_start, which
# is also the span of every busy range), in seconds. A range query then scans the `start`
# index from (range start − span) instead of from the beginning of time.
time_bounds = Table(
    "time_bounds",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("max_seconds", BigInteger, nullable=False),
)

# The conference-capacity ledger (`booking.capacity`): what the booked sessions ask of the
# servers of a pool ("jitsi", "bbb", "any") in each 5-minute bucket. The service keeps it.
server_usage = Table(
    "server_usage",
    metadata,
    Column("bucket", UtcDateTime, primary_key=True),  # first: reads ask for buckets
    Column("pool", String(16), primary_key=True),
    Column("rooms", Integer, nullable=False),
    Column("participants", Integer, nullable=False),
    Column("ports", Integer, nullable=False),
)

# Counters the database bumps itself (triggers, revision 0300) when a table group changes:
# "inventory" counts every change to `terminals` and `organisations`, so a process can keep
# a region's terminal inventory and check it is current with one small read.
change_counters = Table(
    "change_counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# --- the API's idempotency keys ---------------------------------------------------------
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(128), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("request_hash", String(128), nullable=False),
    Column("status", Integer, nullable=True),  # NULL while the first request is in flight
    Column("response_body", Text, nullable=True),
    Column("response_headers", JSON, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)
