"""The Today board's index on occurrences: (start, end, state, cancelled, booking_id,
at_risk).

A region's study day is ~6,000 occurrences spread over as many table pages (rows are
stored by booking, not by date). The board counts them by state, finds those needing
attention and pages them by start time; with every column those reads need in one index,
they are index-only scans of the day's entries instead of ~6,000 random page reads each
(issue 16: the region's board in ≤ 100 ms).

Revision ID: 0760
Revises: 0750
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0760"
down_revision: str | None = "0750"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["start", "end", "state", "cancelled", "booking_id", "at_risk"]


def upgrade() -> None:
    op.create_index("ix_occurrences_board", "occurrences", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_occurrences_board", table_name="occurrences")
