"""How many people joined a lesson by its web link (issue 17, attendance): the automation
keeps each occurrence's peak (`automation_link_peaks`), the reports carry it on the host
school's row of the lesson (`report_school_lessons.joined_by_link`).

Revision ID: 0770
Revises: 0760
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0770"
down_revision: str | None = "0760"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "automation_link_peaks",
        sa.Column("occurrence_id", sa.String(length=64), nullable=False),
        sa.Column("peak", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name=op.f("fk_automation_link_peaks_occurrence_id_occurrences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("occurrence_id", name=op.f("pk_automation_link_peaks")),
    )
    op.add_column(
        "report_school_lessons",
        sa.Column("joined_by_link", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("report_school_lessons", "joined_by_link")
    op.drop_table("automation_link_peaks")
