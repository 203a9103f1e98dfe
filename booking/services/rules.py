"""The rules a planned series is checked against, one batch query per rule over the whole
series: terminals, classes, and the conference servers' capacity."""

from __future__ import annotations

from collections.abc import Sequence

from booking.bookings import (
    Booking,
    Occurrence,
)
from booking.capacity import Usage, buckets, merged, suspects
from booking.conflicts import (
    ConflictItem,
    capacity_conflicts,
    class_conflicts,
    demand_of,
    server_capacity,
    terminal_conflicts,
)
from booking.services.lookups import Lookups
from booking.services.wording import reworded


def check_rules(
    lookups: Lookups,
    booking: Booking,
    planned: Sequence[Occurrence],
    *,
    ignore_booking_id: str | None = None,
    ignore_occurrence_id: str | None = None,
    replacing: Usage | None = None,
) -> list[ConflictItem]:
    """Every rule over every candidate occurrence: one query per rule for the whole series.

    `replacing` is the (negative) server usage of the occurrences this change releases
    (an edit's or a move's old dates), so they do not count against the new ones."""
    uow = lookups.uow
    items: list[ConflictItem] = []
    busy_ranges = [o.busy_range for o in planned]
    terminal_ids = sorted({t for o in planned for t in o.terminal_ids})
    if terminal_ids:
        existing = [
            r
            for r in uow.occurrences.reservations_overlapping(terminal_ids, busy_ranges)
            if r.occurrence_id != ignore_occurrence_id
        ]
        items += terminal_conflicts(planned, existing, ignore_booking_id=ignore_booking_id)
    classes = [(p.school_id, p.class_name) for p in booking.participants if p.class_name]
    if classes:
        sessions = [
            s
            for s in uow.occurrences.class_sessions(classes, [(o.start, o.end) for o in planned])
            if s.occurrence_id != ignore_occurrence_id
        ]
        items += class_conflicts(planned, classes, sessions, ignore_booking_id=ignore_booking_id)
    if booking.kind.needs_equipment:
        items += _capacity_rules(
            lookups, booking, planned, ignore_booking_id, ignore_occurrence_id, replacing
        )
    items.sort(key=lambda item: (item.start, item.kind, item.terminal_id or ""))
    return reworded(lookups, items) if items else items


def _capacity_rules(
    lookups: Lookups,
    booking: Booking,
    planned: Sequence[Occurrence],
    ignore_booking_id: str | None,
    ignore_occurrence_id: str | None,
    replacing: Usage | None,
) -> list[ConflictItem]:
    """The usage ledger says which occurrences may exceed the fleet's capacity (one query
    over their buckets); only those are confirmed with the exact sweep (one more query)."""
    servers = lookups.servers()
    if not servers:  # no conference server registered yet: nothing to count against
        return []
    uow = lookups.uow
    capacity = server_capacity(servers)
    wanted = sorted({b for o in planned for b in buckets(*o.busy_range)})
    stored = merged(uow.occurrences.server_usage(wanted), replacing or {})
    doubtful = suspects(booking, planned, capacity, stored)
    if not doubtful:
        return []
    load = [
        item
        for item in uow.occurrences.server_load([o.busy_range for o in doubtful])
        if item.occurrence_id != ignore_occurrence_id
    ]
    return capacity_conflicts(
        doubtful,
        platform=booking.platform,
        demand=demand_of(booking.expected_participants, len(booking.terminal_ids)),
        capacity=capacity,
        load=load,
        ignore_booking_id=ignore_booking_id,
    )
