"""The reports' school rows found by subtree on PostgreSQL: the (month, org_path) index
with the pattern operator class, so `org_path LIKE 'kuzbass/mun-0/%'` is a range of the
index rather than a scan of the month (PostgreSQL cannot search a prefix in an index of
a non-C collation). SQLite keeps the plain index.

Revision ID: 0750
Revises: 0740
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0750"
down_revision: str | None = "0740"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_report_school_lessons_month_path"
TABLE = "report_school_lessons"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(
        INDEX, TABLE, ["month", "org_path"], postgresql_ops={"org_path": "varchar_pattern_ops"}
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, ["month", "org_path"])
