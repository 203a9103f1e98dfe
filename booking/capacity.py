"""The conference-capacity ledger: server usage kept per pool and 5-minute bucket.

Checking "is the fleet's capacity exceeded at any instant" by reading every overlapping
occurrence costs as many rows as there are concurrent sessions (hundreds at a peak hour
in a large region, times every date of a series). Instead every booking adds its demand
(one room, its expected participants, one gateway port per terminal) to the buckets its
busy ranges cover, and a new booking reads only the buckets it would cover: a few hundred
rows for a year-long weekly series, whatever the size of the region.

Pools are "jitsi", "bbb" and "any" (bookings without a platform preference). A busy range
covers every bucket it touches, so the ledger can only over-count (ranges not aligned to
5 minutes): when it says "over", the service confirms with the exact sweep
(`booking.conflicts.capacity_conflicts`) over the few suspect occurrences.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from booking.bookings import Booking, Occurrence
from booking.conflicts import Capacity, demand_of
from booking.resources import PlatformKind

BUCKET = timedelta(minutes=5)
ANY = "any"

UsageKey = tuple[str, datetime]  # (pool, bucket start, UTC)
Usage = dict[UsageKey, Capacity]


def pool_of(platform: PlatformKind | None) -> str:
    return ANY if platform is None else str(platform)


def _bucket_numbers(start: datetime, end: datetime) -> range:
    step = int(BUCKET.total_seconds())
    return range(math.floor(start.timestamp() / step), math.ceil(end.timestamp() / step))


@lru_cache(maxsize=4096)
def buckets(start: datetime, end: datetime) -> tuple[datetime, ...]:
    """Starts of the 5-minute buckets [start, end) touches (aligned to the epoch, UTC).
    Remembered: a create asks for its occurrences' buckets three times (the ledger's
    read, the capacity check, the ledger's change), a timetable for the same lesson
    times again and again."""
    step = int(BUCKET.total_seconds())
    return tuple(datetime.fromtimestamp(n * step, UTC) for n in _bucket_numbers(start, end))


def demand(booking: Booking, occurrence: Occurrence) -> Capacity:
    return demand_of(booking.expected_participants, len(occurrence.terminal_ids))


def usage_of(booking: Booking, occurrences: Iterable[Occurrence], *, sign: int = 1) -> Usage:
    """What these occurrences add to the ledger (sign=−1: what releasing them removes).
    Sessions without VKS equipment use no server."""
    if not booking.kind.needs_equipment:
        return {}
    sums: dict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0])
    for occurrence in occurrences:
        ports = len(occurrence.terminal_ids)
        for bucket in buckets(*occurrence.busy_range):
            row = sums[bucket]
            row[0] += sign
            row[1] += sign * booking.expected_participants
            row[2] += sign * ports
    pool = pool_of(booking.platform)
    return {(pool, bucket): Capacity(*row) for bucket, row in sums.items()}


def usage_of_all(sessions: Iterable[tuple[Booking, Occurrence]]) -> Usage:
    """`usage_of` summed over many bookings' occurrences (a timetable): the demand is
    added up per distinct (pool, busy range) first, then spread over the buckets once —
    a year of weekly lessons has a few thousand distinct lesson times."""
    per_range: dict[tuple[str, datetime, datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
    for booking, occurrence in sessions:
        if occurrence.cancelled or not booking.kind.needs_equipment:
            continue
        sums = per_range[(pool_of(booking.platform), *occurrence.busy_range)]
        sums[0] += 1
        sums[1] += booking.expected_participants
        sums[2] += len(occurrence.terminal_ids)
    usage: Usage = defaultdict(Capacity)
    for (pool, start, end), (rooms, participants, ports) in per_range.items():
        for bucket in buckets(start, end):
            usage[(pool, bucket)] = usage[(pool, bucket)] + Capacity(rooms, participants, ports)
    return dict(usage)


def over_capacity(
    usage: Mapping[UsageKey, Capacity], capacity: Mapping[PlatformKind, Capacity]
) -> set[datetime]:
    """Buckets in which the usage exceeds the capacity: a pinned pool its platform's
    servers, or all pools together the whole fleet (as `suspects` asks per occurrence)."""
    total_capacity = Capacity()
    for cap in capacity.values():
        total_capacity = total_capacity + cap
    overall: dict[datetime, Capacity] = defaultdict(Capacity)
    over: set[datetime] = set()
    for (pool, bucket), used in usage.items():
        overall[bucket] = overall[bucket] + used
        if pool != ANY and used.exceeds(capacity.get(PlatformKind(pool), Capacity())):
            over.add(bucket)
    over.update(bucket for bucket, used in overall.items() if used.exceeds(total_capacity))
    return over


def merged(*parts: Mapping[UsageKey, Capacity]) -> Usage:
    total: Usage = defaultdict(Capacity)
    for part in parts:
        for key, value in part.items():
            total[key] = total[key] + value
    return dict(total)


def suspects(
    booking: Booking,
    planned: Sequence[Occurrence],
    capacity: Mapping[PlatformKind, Capacity],
    usage: Mapping[UsageKey, Capacity],
) -> list[Occurrence]:
    """The planned occurrences for which some bucket would exceed the capacity: of the
    preferred platform's servers (pinned bookings), or of the whole fleet (every booking).
    `usage` holds the stored usage of the buckets concerned, without this booking's own."""
    if not booking.kind.needs_equipment:
        return []
    # plain integers (rooms, participants, ports): a weekly series checks a few hundred
    # buckets, and a Capacity per sum cost more than the rest of the check
    total = [sum(getattr(cap, name) for cap in capacity.values()) for name in _DIMENSIONS]
    pinned = booking.platform
    pinned_pool = pool_of(pinned) if pinned is not None else ""
    pinned_limit = _as_list(capacity.get(pinned, Capacity())) if pinned is not None else total
    pools = [pool_of(kind) for kind in PlatformKind] + [ANY]
    stored: dict[datetime, list[int]] = {}  # every pool's usage of a bucket, summed once
    for (pool, bucket), used in usage.items():
        if pool in pools:
            sums = stored.setdefault(bucket, [0, 0, 0])
            sums[0] += used.rooms
            sums[1] += used.participants
            sums[2] += used.ports
    found = []
    rooms_limit, participants_limit, ports_limit = total
    own_rooms, own_participants, own_ports = pinned_limit
    for occurrence in planned:
        rooms, participants, ports = _as_list(demand(booking, occurrence))
        for bucket in buckets(*occurrence.busy_range):
            if pinned is not None:
                own = usage.get((pinned_pool, bucket), _ZERO)
                if (
                    rooms + own.rooms > own_rooms
                    or participants + own.participants > own_participants
                    or ports + own.ports > own_ports
                ):
                    found.append(occurrence)
                    break
            every = stored.get(bucket, _NONE)
            if (
                rooms + every[0] > rooms_limit
                or participants + every[1] > participants_limit
                or ports + every[2] > ports_limit
            ):
                found.append(occurrence)
                break
    return found


_DIMENSIONS = ("rooms", "participants", "ports")
_NONE = [0, 0, 0]
_ZERO = Capacity()


def _as_list(value: Capacity) -> list[int]:
    return [value.rooms, value.participants, value.ports]
