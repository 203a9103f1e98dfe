"""The workflow store in memory: dictionaries copied with the rest of the memory store
(`booking.memory.MemoryData.workflow`), so a rolled-back unit of work keeps nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from booking.workflow.combined import CombinedRequest
from booking.workflow.needs import NeedInvitation
from booking.workflow.offers import Offer
from booking.workflow.requests import SchoolRequest
from booking.workflow.store import Documents, ItemLinks, keys_of
from booking.workflow.timetables import Timetable

T = TypeVar("T")


@dataclass
class WorkflowData:
    offers: dict[str, Offer] = field(default_factory=dict)
    timetables: dict[str, Timetable] = field(default_factory=dict)
    requests: dict[str, SchoolRequest] = field(default_factory=dict)
    combined: dict[str, CombinedRequest] = field(default_factory=dict)
    invitations: dict[str, NeedInvitation] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # request item id → booking id


class MemoryDocuments(Generic[T]):
    def __init__(self, items: dict[str, T]) -> None:
        self._items = items

    def get(self, id: str) -> T | None:
        return self._items.get(id)

    def get_many(self, ids: Iterable[str]) -> dict[str, T]:
        return {i: self._items[i] for i in ids if i in self._items}

    def add(self, item: T) -> None:
        self._items[item.id] = item  # type: ignore[attr-defined]

    def update(self, item: T) -> None:
        self._items[item.id] = item  # type: ignore[attr-defined]

    def _matching(
        self,
        org_ids: Iterable[str] | None,
        school_ids: Iterable[str] | None,
        states: Iterable[str] | None,
    ) -> list[T]:
        orgs = None if org_ids is None else set(org_ids)
        schools = None if school_ids is None else set(school_ids)
        wanted = None if states is None else {str(s) for s in states}
        out = []
        for id in sorted(self._items):
            item = self._items[id]
            org, school, state = keys_of(item)
            if orgs is not None and org not in orgs:
                continue
            if schools is not None and school not in schools:
                continue
            if wanted is not None and state not in wanted:
                continue
            out.append(item)
        return out

    def find(
        self,
        *,
        org_ids: Iterable[str] | None = None,
        school_ids: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
        where: Mapping[str, int] | None = None,
    ) -> Sequence[T]:
        found = self._matching(org_ids, school_ids, states)
        if where:
            found = [i for i in found if all(getattr(i, k) == v for k, v in where.items())]
        found = found[offset:]
        return found if limit is None else found[:limit]

    def count(
        self,
        *,
        org_ids: Iterable[str] | None = None,
        school_ids: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
    ) -> int:
        return len(self._matching(org_ids, school_ids, states))


class MemoryItemLinks:
    def __init__(self, links: dict[str, str]) -> None:
        self._links = links

    def add(self, links: Mapping[str, str]) -> None:
        self._links.update(links)

    def bookings_of(self, item_ids: Iterable[str]) -> dict[str, str]:
        return {i: self._links[i] for i in item_ids if i in self._links}

    def items_of(self, booking_id: str) -> list[str]:
        return sorted(i for i, b in self._links.items() if b == booking_id)


class MemoryWorkflowStore:
    offers: Documents[Offer]
    timetables: Documents[Timetable]
    requests: Documents[SchoolRequest]
    combined: Documents[CombinedRequest]
    invitations: Documents[NeedInvitation]
    links: ItemLinks

    def __init__(self, data: WorkflowData) -> None:
        self.offers = MemoryDocuments[Offer](data.offers)
        self.timetables = MemoryDocuments[Timetable](data.timetables)
        self.requests = MemoryDocuments[SchoolRequest](data.requests)
        self.combined = MemoryDocuments[CombinedRequest](data.combined)
        self.invitations = MemoryDocuments[NeedInvitation](data.invitations)
        self.links = MemoryItemLinks(data.links)
