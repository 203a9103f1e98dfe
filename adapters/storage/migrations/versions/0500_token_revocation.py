"""Token revocation: `issued_tokens` records every feed and service-account token (a token
of these kinds is honoured only while its row is there, unrevoked), and two more change
counters, "users" and "tokens", bumped by triggers like revision 0400's, so that each
request can check its caller's user and token against this process's copy of the two
tables with the one counter read per transaction it makes anyway
(`adapters/storage/reference_cache.py`).

Feed and service-account tokens issued before this revision are not recorded, so they
stop working: issue them again.

Revision ID: 0500
Revises: 0400
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.storage.types

revision: str = "0500"
down_revision: str | None = "0400"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = {"users": "users", "issued_tokens": "tokens"}  # table → counter
EVENTS = ("INSERT", "UPDATE", "DELETE")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _utc(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, adapters.storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "issued_tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        _utc("created_at", False),
        _utc("expires_at", False),
        _utc("revoked_at", True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_tokens")),
    )
    op.create_index("ix_issued_tokens_user_id", "issued_tokens", ["user_id"])
    postgres = _postgres()
    for counter in sorted(COUNTED.values()):
        start = "(random() * 4e18)::bigint" if postgres else "abs(random() / 4)"
        op.execute(f"INSERT INTO change_counters (name, value) VALUES ('{counter}', {start})")
    for table, counter in COUNTED.items():
        if postgres:  # bump_counter() is revision 0400's
            op.execute(
                f"CREATE TRIGGER {table}_bump_{counter} AFTER INSERT OR UPDATE OR DELETE"
                f" OR TRUNCATE ON {table} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION bump_counter('{counter}')"
            )
            continue
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_bump_{counter}_{event.lower()} AFTER {event} ON {table}"
                f" BEGIN UPDATE change_counters SET value = value + 1"
                f" WHERE name = '{counter}'; END"
            )


def downgrade() -> None:
    postgres = _postgres()
    for table, counter in COUNTED.items():
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_{counter} ON {table}")
        else:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_{counter}_{event.lower()}")
    names = ", ".join(f"'{counter}'" for counter in sorted(COUNTED.values()))
    op.execute(f"DELETE FROM change_counters WHERE name IN ({names})")
    op.drop_index("ix_issued_tokens_user_id", table_name="issued_tokens")
    op.drop_table("issued_tokens")
