"""The workflow's ports: where offers, timetables, requests, combined requests and need
invitations are kept, and the links from request items to the bookings made for them.

They live in the same unit of work as the bookings (`WorkflowUnitOfWork.workflow`), so an
approval writes its bookings, their links and the requests' new states in one transaction.
Every document is found by id or by its owner organisation (`org_ids`: the network), its
school (`school_ids`) and its state; lists are ordered by id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from booking.repository import UnitOfWork
from booking.workflow.combined import CombinedRequest
from booking.workflow.needs import NeedInvitation
from booking.workflow.offers import Offer
from booking.workflow.requests import SchoolRequest
from booking.workflow.timetables import Timetable

T = TypeVar("T")


class Documents(Protocol[T]):
    def get(self, id: str) -> T | None: ...

    def get_many(self, ids: Iterable[str]) -> dict[str, T]:
        """The documents among `ids` that exist, by id (one query)."""
        ...

    def add(self, item: T) -> None: ...

    def update(self, item: T) -> None: ...

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
        """Documents of these owners (None: any), schools and states, by id; `where`:
        only those whose whole-number fields have these values (an offer's grade)."""
        ...

    def count(
        self,
        *,
        org_ids: Iterable[str] | None = None,
        school_ids: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
    ) -> int: ...


class ItemLinks(Protocol):
    """Which booking each approved request item became (many items share one booking: the
    schools joining one offer take part in one lesson)."""

    def add(self, links: Mapping[str, str]) -> None:
        """request item id → booking id."""
        ...

    def bookings_of(self, item_ids: Iterable[str]) -> dict[str, str]: ...

    def items_of(self, booking_id: str) -> list[str]: ...


class WorkflowStore(Protocol):
    offers: Documents[Offer]
    timetables: Documents[Timetable]
    requests: Documents[SchoolRequest]
    combined: Documents[CombinedRequest]
    invitations: Documents[NeedInvitation]
    links: ItemLinks


class WorkflowUnitOfWork(UnitOfWork, Protocol):
    workflow: WorkflowStore


def keys_of(item: object) -> tuple[str, str | None, str]:
    """(owner org id, school id, state) of a workflow document: what `find` filters on."""
    if isinstance(item, Offer):
        return item.network_id, item.host_school_id, "active"
    if isinstance(item, Timetable):
        return item.network_id, None, "published"
    if isinstance(item, SchoolRequest):
        return item.network_id, item.school_id, str(item.state)
    if isinstance(item, CombinedRequest):
        return item.network_id, None, str(item.state)
    if isinstance(item, NeedInvitation):
        return item.network_id, item.school_id, item.state
    raise TypeError(f"not a workflow document: {type(item).__name__}")
