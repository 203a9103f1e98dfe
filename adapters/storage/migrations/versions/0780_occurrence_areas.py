"""Each occurrence's area — the one municipality all its terminals stand in, "" when
several — and a partial covering index (area, start) over the reserved rows: a
municipality's recurring-slot search reads its own index entries only (on PostgreSQL; the
column is kept on SQLite too, where the index is a plain one). The column's default is ""
(any area: read by every search), so rows written by code older than this revision during
an upgrade stay correct.

Revision ID: 0780
Revises: 0770
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0780"
down_revision: str | None = "0770"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# an area is the first two parts of the path of the terminal's school ("region/municipality")
FILL = {
    "postgresql": """
        UPDATE occurrences AS o SET area = a.area
        FROM (
            SELECT o2.id,
                   CASE WHEN count(DISTINCT x.area) = 1 AND count(x.area) = count(*)
                        THEN min(x.area) ELSE '' END AS area
            FROM occurrences AS o2
            CROSS JOIN LATERAL json_array_elements_text(o2.terminal_ids) AS e(terminal_id)
            LEFT JOIN LATERAL (
                SELECT array_to_string((string_to_array(g.path, '/'))[1:2], '/') AS area
                FROM terminals AS t JOIN organisations AS g ON g.id = t.site_id
                WHERE t.id = e.terminal_id
            ) AS x ON true
            GROUP BY o2.id
        ) AS a
        WHERE o.id = a.id AND a.area <> ''
    """,
    "sqlite": """
        UPDATE occurrences SET area = COALESCE((
            SELECT CASE WHEN count(DISTINCT x.area) = 1 AND count(x.area) = count(*)
                        THEN min(x.area) ELSE '' END
            FROM json_each(occurrences.terminal_ids) AS e
            LEFT JOIN (
                SELECT t.id AS terminal_id,
                       CASE WHEN instr(substr(g.path, instr(g.path, '/') + 1), '/') = 0
                            THEN g.path
                            ELSE substr(g.path, 1, instr(g.path, '/')
                                 + instr(substr(g.path, instr(g.path, '/') + 1), '/') - 1)
                       END AS area
                FROM terminals AS t JOIN organisations AS g ON g.id = t.site_id
            ) AS x ON x.terminal_id = e.value
        ), '')
    """,
}


def upgrade() -> None:
    op.add_column("occurrences", sa.Column("area", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    op.execute(FILL[bind.dialect.name])
    op.create_index(
        "ix_occurrences_area_start",
        "occurrences",
        ["area", "start"],
        postgresql_include=["setup_start", "end", "terminal_ids"],
        postgresql_where=sa.text("reserved"),
    )
    if bind.dialect.name == "postgresql":  # the planner learns the areas at once
        op.execute("ANALYZE occurrences")


def downgrade() -> None:
    op.drop_index("ix_occurrences_area_start", table_name="occurrences")
    op.drop_column("occurrences", "area")
