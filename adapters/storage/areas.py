"""The area key of an occurrence: the one municipality all its terminals stand in.

The recurring-slot search of a municipality asks PostgreSQL which reserved occurrences
fall in a dozen windows of time. Read from the occurrences' `start` index, the windows hold
the whole region's lessons (ten municipalities' worth, nine of them thrown away here). The
occurrence row therefore carries `area` — the path of the municipality ("kuzbass/kem")
every terminal of the occurrence stands in, the region's path for the RCC's own terminals,
and "" (any area) when they stand in different ones or are unknown — and a partial
covering index (area, start) over the reserved rows lets a municipality's search read only
its own entries and the few "" ones.

Organisations never move (their parent cannot change); a terminal can move to another
school, so its occurrences' areas are worked out again then (`SqlTerminals.update`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from adapters.storage.reference_cache import kept
from adapters.storage.tables import occurrences, organisations, reservations, terminals

ANY_AREA = ""  # an occurrence whose terminals stand in more than one area
DEPTH = 2  # region/municipality


def area_of(path: str) -> str:
    """The area of an organisation's path: its first two parts (the region's own path for
    the region)."""
    return "/".join(path.split("/")[:DEPTH])


def areas_within(path: str) -> list[str] | None:
    """The areas whose occurrences may hold a terminal of the subtree at `path`; None for
    a subtree wider than one area (the region: every occurrence)."""
    if path.count("/") < DEPTH - 1:
        return None
    return [area_of(path), ANY_AREA]


def occurrence_area(terminal_ids: Iterable[str], areas: Mapping[str, str]) -> str:
    """The one area all these terminals stand in, else `ANY_AREA`."""
    found = {areas.get(t, ANY_AREA) for t in terminal_ids}
    return found.pop() if len(found) == 1 else ANY_AREA


def terminal_areas(connection: Connection) -> Mapping[str, str]:
    """Every terminal's area, kept per process while the inventory is unchanged (shared:
    read it, never change it)."""

    def read() -> dict[str, str]:
        query = select(terminals.c.id, organisations.c.path).join(
            organisations, organisations.c.id == terminals.c.site_id
        )
        return {str(row.id): area_of(str(row.path)) for row in connection.execute(query)}

    return kept(connection, "terminals", ("areas",), read)


def areas_of(connection: Connection, terminal_lists: Sequence[Sequence[str]]) -> list[str]:
    """The area of each occurrence's terminals."""
    if not terminal_lists:
        return []
    areas = terminal_areas(connection)
    return [occurrence_area(ids, areas) for ids in terminal_lists]


def refresh_areas(connection: Connection, terminal_id: str) -> None:
    """The occurrences of a terminal that moved take their area again (those of every
    booking that ever used it, found through the bookings' `reservations` rows)."""
    o = occurrences
    booking_ids = select(reservations.c.booking_id).where(reservations.c.terminal_id == terminal_id)
    rows = connection.execute(
        select(o.c.id, o.c.terminal_ids, o.c.area).where(o.c.booking_id.in_(booking_ids))
    ).all()
    mine = [row for row in rows if terminal_id in row.terminal_ids]
    fresh = areas_of(connection, [list(row.terminal_ids) for row in mine])
    changes: list[dict[str, Any]] = [
        {"occurrence_id": row.id, "fresh_area": area}
        for row, area in zip(mine, fresh, strict=True)
        if row.area != area
    ]
    if changes:
        connection.execute(
            update(o)
            .where(o.c.id == bindparam("occurrence_id"))
            .values(area=bindparam("fresh_area")),
            changes,
        )
