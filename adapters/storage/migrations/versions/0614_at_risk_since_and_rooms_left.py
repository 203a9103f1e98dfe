"""Since when an occurrence has been at risk (`occurrences.at_risk_since`), and the rooms
left behind on a dead server, shared by every worker (`automation_rooms_left`).

Set when the at-risk flag is raised, kept while it stays raised (reworded or not), NULL
once it is cleared (`booking.health.flagged_since`). Occurrences flagged already keep
NULL (since unknown) until their flag next changes.

A room moved off a server that died is remembered in `automation_rooms_left` (occurrence,
server) until a worker sees that server answer again and ends it: every worker and process
knows, not only the one that moved it.

Revision ID: 0614
Revises: 0600
Create Date: 2026-12-06 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.storage.types

revision: str = "0614"
down_revision: str | None = "0600"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# plain ALTER TABLE on both databases: a batch copy of the table would lose revision
# 0400's change-counter triggers on it


def upgrade() -> None:
    op.create_table(
        "automation_rooms_left",
        sa.Column("occurrence_id", sa.String(length=64), nullable=False),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("left_at", adapters.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name=op.f("fk_automation_rooms_left_occurrence_id_occurrences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "occurrence_id", "server_id", name=op.f("pk_automation_rooms_left")
        ),
    )
    op.add_column(
        "occurrences",
        sa.Column(
            "at_risk_since", adapters.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
    )


def downgrade() -> None:
    op.drop_column("occurrences", "at_risk_since")
    op.drop_table("automation_rooms_left")
