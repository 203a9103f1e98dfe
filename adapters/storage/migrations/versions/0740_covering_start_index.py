"""The occurrences' `start` index covers what the recurring-slot search reads (set-up
start, end, reserved, terminals): on PostgreSQL its windows are index-only scans.

Revision ID: 0740
Revises: 0720
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0740"
down_revision: str | None = "0720"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INCLUDED = ["setup_start", "end", "reserved", "terminal_ids"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_occurrences_start", table_name="occurrences")
    op.create_index("ix_occurrences_start", "occurrences", ["start"], postgresql_include=INCLUDED)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_occurrences_start", table_name="occurrences")
    op.create_index("ix_occurrences_start", "occurrences", ["start"])
