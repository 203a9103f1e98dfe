"""The network timetable: the offers a network administrator publishes to the network's
schools for a period. Each publication is a new version; republishing after a change says
which offers were added, removed or changed, so the schools that asked for them are told."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from booking.errors import InvalidInput


@dataclass(frozen=True)
class TimetableChange:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # offers whose definition changed since the last version

    @property
    def affected(self) -> tuple[str, ...]:
        return self.removed + self.changed


@dataclass
class Timetable:
    """One published version of a network's timetable (`id` names the version)."""

    id: str
    network_id: str
    starts_on: date
    ends_on: date
    offers: dict[str, int]  # offer id → the offer's version as published
    version: int
    published_at: datetime
    published_by: str
    previous_id: str | None = None
    change: TimetableChange = field(default_factory=TimetableChange)


def next_version(
    previous: Timetable | None,
    *,
    id: str,
    network_id: str,
    starts_on: date,
    ends_on: date,
    offers: dict[str, int],
    at: datetime,
    by: str,
) -> Timetable:
    """The version that follows `previous` (the first when None), with what changed."""
    if ends_on < starts_on:
        raise InvalidInput("the period ends before it starts", field="ends_on")
    if not offers:
        raise InvalidInput("a timetable needs at least one offer", field="offer_ids")
    before = previous.offers if previous else {}
    change = TimetableChange(
        added=tuple(sorted(set(offers) - set(before))),
        removed=tuple(sorted(set(before) - set(offers))),
        changed=tuple(sorted(o for o in offers if o in before and before[o] != offers[o])),
    )
    return Timetable(
        id=id,
        network_id=network_id,
        starts_on=starts_on,
        ends_on=ends_on,
        offers=dict(offers),
        version=previous.version + 1 if previous else 1,
        published_at=at,
        published_by=by,
        previous_id=previous.id if previous else None,
        change=change,
    )
