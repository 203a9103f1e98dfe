"""The request workflow: offers, network timetables, school and combined requests, need
invitations (one JSON document per row, with the columns lists filter on), and the links
from approved request items to their bookings.

Revision ID: 0700
Revises: 0614
Create Date: 2026-12-06 03:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0700"
down_revision: str | None = "0614"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENTS = (
    "workflow_offers",
    "workflow_timetables",
    "workflow_requests",
    "workflow_combined",
    "workflow_invitations",
)


def upgrade() -> None:
    for name in DOCUMENTS:
        op.create_table(
            name,
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("org_id", sa.String(length=64), nullable=False),
            sa.Column("school_id", sa.String(length=64), nullable=True),
            sa.Column("state", sa.String(length=32), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("doc", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        )
        op.create_index(f"ix_{name}_org_id_state", name, ["org_id", "state"])
        op.create_index(f"ix_{name}_school_id", name, ["school_id"])
    op.create_table(
        "workflow_item_links",
        sa.Column("request_item_id", sa.String(length=64), nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name="fk_workflow_item_links_booking_id_bookings",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_item_id", name="pk_workflow_item_links"),
    )
    op.create_index("ix_workflow_item_links_booking_id", "workflow_item_links", ["booking_id"])


def downgrade() -> None:
    op.drop_index("ix_workflow_item_links_booking_id", table_name="workflow_item_links")
    op.drop_table("workflow_item_links")
    for name in reversed(DOCUMENTS):
        op.drop_index(f"ix_{name}_school_id", table_name=name)
        op.drop_index(f"ix_{name}_org_id_state", table_name=name)
        op.drop_table(name)
