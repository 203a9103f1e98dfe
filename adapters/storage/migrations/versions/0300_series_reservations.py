"""Reservations per booking and terminal: an occurrence row carries its terminals
(`terminal_ids`) and whether it holds them (`reserved`); `reservations` becomes one row per
(booking, terminal) whose PostgreSQL `busy` multirange is under the exclusion constraint.
`occurrence_terminals` and the per-date reservation rows go (their data moves over).
Also `change_counters`: an "inventory" counter that triggers bump on every change to
terminals or organisations (it starts at a random value: a process's cache of an earlier
database under the same address can never match it).

Revision ID: 0300
Revises: 0200
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.storage.types
from adapters.storage.tables import EXCLUSION_CONSTRAINT

revision: str = "0300"
down_revision: str | None = "0200"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    # plain ALTERs: SQLite's batch mode would copy `occurrences`, and dropping the original
    # would cascade into the rows that reference it
    op.add_column(
        "occurrences",
        sa.Column("terminal_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "occurrences",
        sa.Column("reserved", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    if _postgres():
        op.execute(
            "UPDATE occurrences AS o SET terminal_ids = coalesce((SELECT json_agg(t.terminal_id"
            " ORDER BY t.position) FROM occurrence_terminals AS t"
            " WHERE t.occurrence_id = o.id), '[]'::json)"
        )
    else:
        op.execute(
            "UPDATE occurrences SET terminal_ids = (SELECT json_group_array(terminal_id) FROM"
            " (SELECT t.terminal_id FROM occurrence_terminals AS t"
            " WHERE t.occurrence_id = occurrences.id ORDER BY t.position))"
        )
    op.execute(
        "UPDATE occurrences SET reserved = EXISTS"
        " (SELECT 1 FROM reservations AS r WHERE r.occurrence_id = occurrences.id)"
    )
    if _postgres():  # SQLite keeps the defaults (it cannot drop them in place)
        op.alter_column("occurrences", "terminal_ids", server_default=None)
        op.alter_column("occurrences", "reserved", server_default=None)

    # the per-date rows step aside under another name while the new table is filled
    if _postgres():
        op.execute(f"ALTER TABLE reservations DROP CONSTRAINT {EXCLUSION_CONSTRAINT}")
    op.drop_index("ix_reservations_terminal_id_start_end", table_name="reservations")
    op.drop_index("ix_reservations_start", table_name="reservations")
    op.rename_table("reservations", "reservations_0200")
    if _postgres():
        op.execute(
            "ALTER TABLE reservations_0200 RENAME CONSTRAINT pk_reservations"
            " TO pk_reservations_0200"
        )
    op.create_table(
        "reservations",
        sa.Column("booking_id", ID, nullable=False),
        sa.Column("terminal_id", ID, nullable=False),
        sa.Column("busy", adapters.storage.types.BusyRanges(), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_reservations_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_reservations_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("booking_id", "terminal_id", name=op.f("pk_reservations")),
    )
    op.create_index(
        "ix_reservations_terminal_id_booking_id", "reservations", ["terminal_id", "booking_id"]
    )
    if _postgres():
        op.execute(
            "INSERT INTO reservations (booking_id, terminal_id, busy)"
            " SELECT o.booking_id, t.terminal_id, coalesce(range_agg(tstzrange(r.start,"
            " r.\"end\", '[)')) FILTER (WHERE r.start IS NOT NULL), '{}')"
            " FROM occurrence_terminals AS t JOIN occurrences AS o ON o.id = t.occurrence_id"
            " LEFT JOIN reservations_0200 AS r"
            " ON r.occurrence_id = t.occurrence_id AND r.terminal_id = t.terminal_id"
            " GROUP BY o.booking_id, t.terminal_id"
        )
        # A terminal cannot be busy for two bookings at once, whoever writes them.
        op.execute(
            f"ALTER TABLE reservations ADD CONSTRAINT {EXCLUSION_CONSTRAINT} EXCLUDE USING gist"
            " (terminal_id WITH =, busy WITH &&)"
        )
    else:
        op.execute(
            "INSERT INTO reservations (booking_id, terminal_id)"
            " SELECT DISTINCT o.booking_id, t.terminal_id"
            " FROM occurrence_terminals AS t JOIN occurrences AS o ON o.id = t.occurrence_id"
        )
    op.drop_table("reservations_0200")
    op.drop_index("ix_occurrence_terminals_terminal_id", table_name="occurrence_terminals")
    op.drop_table("occurrence_terminals")
    op.execute("DELETE FROM time_bounds WHERE name = 'reservations'")
    _create_change_counters()


INVENTORY_TABLES = ("terminals", "organisations")


def _create_change_counters() -> None:
    op.create_table(
        "change_counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_counters")),
    )
    if _postgres():
        op.execute(
            "INSERT INTO change_counters (name, value)"
            " VALUES ('inventory', (random() * 4e18)::bigint)"
        )
        op.execute(
            "CREATE FUNCTION bump_inventory() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'inventory';"
            " RETURN NULL; END $$"
        )
        for table in INVENTORY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_bump_inventory AFTER INSERT OR UPDATE OR DELETE"
                f" OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_inventory()"
            )
        return
    op.execute("INSERT INTO change_counters (name, value) VALUES ('inventory', abs(random() / 4))")
    for table in INVENTORY_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_bump_inventory_{event.lower()} AFTER {event} ON {table}"
                " BEGIN UPDATE change_counters SET value = value + 1"
                " WHERE name = 'inventory'; END"
            )


def _drop_change_counters() -> None:
    for table in INVENTORY_TABLES:
        if _postgres():
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_inventory ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_inventory_{event}")
    if _postgres():
        op.execute("DROP FUNCTION IF EXISTS bump_inventory()")
    op.drop_table("change_counters")


def downgrade() -> None:
    _drop_change_counters()
    if _postgres():
        op.execute(f"ALTER TABLE reservations DROP CONSTRAINT {EXCLUSION_CONSTRAINT}")
        op.execute(
            "ALTER TABLE reservations RENAME CONSTRAINT pk_reservations TO pk_reservations_0300"
        )
    op.drop_index("ix_reservations_terminal_id_booking_id", table_name="reservations")
    op.rename_table("reservations", "reservations_0300")
    op.create_table(
        "occurrence_terminals",
        sa.Column("occurrence_id", ID, nullable=False),
        sa.Column("terminal_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name=op.f("fk_occurrence_terminals_occurrence_id_occurrences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_occurrence_terminals_terminal_id_terminals"),
        ),
        sa.PrimaryKeyConstraint(
            "occurrence_id", "terminal_id", name=op.f("pk_occurrence_terminals")
        ),
    )
    op.create_index(
        "ix_occurrence_terminals_terminal_id",
        "occurrence_terminals",
        ["terminal_id", "occurrence_id"],
    )
    if _postgres():
        op.execute(
            "INSERT INTO occurrence_terminals (occurrence_id, terminal_id, position)"
            " SELECT o.id, t.value, t.n - 1 FROM occurrences AS o,"
            " json_array_elements_text(o.terminal_ids) WITH ORDINALITY AS t(value, n)"
        )
    else:
        op.execute(
            "INSERT INTO occurrence_terminals (occurrence_id, terminal_id, position)"
            " SELECT o.id, t.value, t.key FROM occurrences AS o, json_each(o.terminal_ids) AS t"
        )
    op.create_table(
        "reservations",
        sa.Column("occurrence_id", ID, nullable=False),
        sa.Column("terminal_id", ID, nullable=False),
        sa.Column("booking_id", ID, nullable=False),
        sa.Column("start", adapters.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", adapters.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id", "terminal_id"],
            ["occurrence_terminals.occurrence_id", "occurrence_terminals.terminal_id"],
            name=op.f("fk_reservations_occurrence_id_occurrence_terminals"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("occurrence_id", "terminal_id", name=op.f("pk_reservations")),
    )
    op.create_index("ix_reservations_start", "reservations", ["start"])
    op.create_index(
        "ix_reservations_terminal_id_start_end", "reservations", ["terminal_id", "start", "end"]
    )
    op.execute(
        'INSERT INTO reservations (occurrence_id, terminal_id, booking_id, start, "end")'
        ' SELECT o.id, t.terminal_id, o.booking_id, o.setup_start, o."end"'
        " FROM occurrences AS o JOIN occurrence_terminals AS t ON t.occurrence_id = o.id"
        " WHERE o.reserved"
    )
    if _postgres():
        op.execute(
            f"ALTER TABLE reservations ADD CONSTRAINT {EXCLUSION_CONSTRAINT} EXCLUDE USING gist"
            " ((hashtext(terminal_id)) WITH =, terminal_id WITH =,"
            " tstzrange(start, \"end\", '[)') WITH &&)"
        )
    op.drop_table("reservations_0300")
    op.execute("ALTER TABLE occurrences DROP COLUMN reserved")
    op.execute("ALTER TABLE occurrences DROP COLUMN terminal_ids")
    op.execute(
        "INSERT INTO time_bounds (name, max_seconds)"
        " SELECT 'reservations', max_seconds FROM time_bounds WHERE name = 'occurrences'"
    )
