"""The request workflow's tables (on the shared `metadata`, Alembic revision `0700`).

Each workflow document (offer, published timetable version, school request, combined
request, need invitation) is one row: the columns the lists filter on (`org_id` — the
network —, `school_id`, `state`, `version`) and the document itself as JSON (`doc`), read
and written whole, as the domain dataclass it is. `workflow_item_links` ties each approved
request item to the booking made for it (many items of one offer share one booking)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table

from adapters.storage.tables import ID, metadata


def _documents(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", ID, primary_key=True),
        Column("org_id", ID, nullable=False),
        Column("school_id", ID, nullable=True),
        Column("state", String(32), nullable=False),
        Column("version", Integer, nullable=False),
        Column("doc", JSON, nullable=False),
        Index(f"ix_{name}_org_id_state", "org_id", "state"),
        Index(f"ix_{name}_school_id", "school_id"),
    )


workflow_offers = _documents("workflow_offers")
workflow_timetables = _documents("workflow_timetables")
workflow_requests = _documents("workflow_requests")
workflow_combined = _documents("workflow_combined")
workflow_invitations = _documents("workflow_invitations")

workflow_item_links = Table(
    "workflow_item_links",
    metadata,
    Column("request_item_id", ID, primary_key=True),
    Column("booking_id", ID, ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
    Index("ix_workflow_item_links_booking_id", "booking_id"),
)

DOCUMENT_TABLES = (
    workflow_offers,
    workflow_timetables,
    workflow_requests,
    workflow_combined,
    workflow_invitations,
)
