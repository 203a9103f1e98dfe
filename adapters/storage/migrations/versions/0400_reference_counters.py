"""More change counters: "calendar" (academic years, bell schedules, closures), "servers"
(conference servers) and "time_bounds", bumped by triggers like revision 0300's
"inventory", so each process can keep these small tables and check them with one read per
transaction (`adapters/storage/reference_cache.py`). Each starts at a random value.

`time_bounds` is counted per changed row: bookings run an UPDATE on it that usually
changes nothing, and a statement-level trigger would bump (and lock) the counter for each.

Revision ID: 0400
Revises: 0300
Create Date: 2026-12-04 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0400"
down_revision: str | None = "0300"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = {  # table → counter
    "academic_years": "calendar",
    "bell_schedules": "calendar",
    "closures": "calendar",
    "conference_servers": "servers",
    "time_bounds": "time_bounds",
}
PER_ROW = {"time_bounds"}
EVENTS = ("INSERT", "UPDATE", "DELETE")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    postgres = _postgres()
    for counter in sorted(set(COUNTED.values())):
        start = "(random() * 4e18)::bigint" if postgres else "abs(random() / 4)"
        op.execute(f"INSERT INTO change_counters (name, value) VALUES ('{counter}', {start})")
    if postgres:
        op.execute(
            "CREATE FUNCTION bump_counter() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN UPDATE change_counters SET value = value + 1 WHERE name = TG_ARGV[0];"
            " RETURN NULL; END $$"
        )
        for table, counter in COUNTED.items():
            if table in PER_ROW:
                op.execute(
                    f"CREATE TRIGGER {table}_bump_{counter} AFTER INSERT OR UPDATE OR DELETE"
                    f" ON {table} FOR EACH ROW EXECUTE FUNCTION bump_counter('{counter}')"
                )
                op.execute(
                    f"CREATE TRIGGER {table}_bump_{counter}_truncate AFTER TRUNCATE"
                    f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_counter('{counter}')"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {table}_bump_{counter} AFTER INSERT OR UPDATE OR DELETE"
                    f" OR TRUNCATE ON {table} FOR EACH STATEMENT"
                    f" EXECUTE FUNCTION bump_counter('{counter}')"
                )
        return
    for table, counter in COUNTED.items():
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
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_{counter}_truncate ON {table}")
        else:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_{counter}_{event.lower()}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS bump_counter()")
    names = ", ".join(f"'{counter}'" for counter in sorted(set(COUNTED.values())))
    op.execute(f"DELETE FROM change_counters WHERE name IN ({names})")
