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
from booking.resources import ConferenceServer
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
    worded: bool = True,
) -> list[ConflictItem]:
    """Every rule over every candidate occurrence: one query per rule for the whole series.

    `replacing` is the (negative) server usage of the occurrences this change releases
    (an edit's or a move's old dates), so they do not count against the new ones.
    `worded=False`: the conflicts as found, not yet told in words (`wording.reworded`)."""
    uow = lookups.uow
    items: list[ConflictItem] = []
    busy_ranges = [o.busy_range for o in planned]
    terminal_ids = sorted({t for o in planned for t in o.terminal_ids})
    classes = [(p.school_id, p.class_name) for p in booking.participants if p.class_name]
    servers = lookups.servers() if booking.kind.needs_equipment else []
    wanted = sorted({b for o in planned for b in buckets(*o.busy_range)}) if servers else []
    # the three reads at once (PostgreSQL: one round trip, the ledger's lock included)
    read = uow.occurrences.rule_reads(
        terminal_ids, busy_ranges, classes, [(o.start, o.end) for o in planned], wanted
    )
    if terminal_ids:
        existing = [r for r in read.reservations if r.occurrence_id != ignore_occurrence_id]
        items += terminal_conflicts(planned, existing, ignore_booking_id=ignore_booking_id)
    if classes:
        sessions = [s for s in read.sessions if s.occurrence_id != ignore_occurrence_id]
        items += class_conflicts(planned, classes, sessions, ignore_booking_id=ignore_booking_id)
    if servers:
        items += _capacity_rules(
            lookups, booking, planned, servers, read.usage, ignore_booking_id,
            ignore_occurrence_id, replacing,
        )  # fmt: skip
    items.sort(key=lambda item: (item.start, item.kind, item.terminal_id or ""))
    return reworded(lookups, items) if items and worded else items


def _capacity_rules(
    lookups: Lookups,
    booking: Booking,
    planned: Sequence[Occurrence],
    servers: Sequence[ConferenceServer],
    usage: Usage,
    ignore_booking_id: str | None,
    ignore_occurrence_id: str | None,
    replacing: Usage | None,
) -> list[ConflictItem]:
    """The usage ledger (`usage`: its rows of the series' buckets, read under its lock)
    says which occurrences may exceed the fleet's capacity; only those are confirmed with
    the exact sweep (one more query)."""
    uow = lookups.uow
    capacity = server_capacity(servers)
    stored = merged(usage, replacing) if replacing else usage
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
