"""Since when an occurrence has been at risk: `occurrences.at_risk_since`.

Set when the at-risk flag is raised, kept while it stays raised (reworded or not), NULL
once it is cleared (`booking.health.flagged_since`). Occurrences flagged already keep
NULL (since unknown) until their flag next changes.

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
    op.add_column(
        "occurrences",
        sa.Column(
            "at_risk_since", adapters.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
    )


def downgrade() -> None:
    op.drop_column("occurrences", "at_risk_since")
