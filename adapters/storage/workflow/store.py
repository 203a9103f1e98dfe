"""`booking.workflow.store` on SQL: documents by id and by (org, school, state), and the
links from request items to bookings, in the unit of work's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Table, func, insert, select, update

from adapters.storage.errors import domain_errors
from adapters.storage.workflow.documents import load, to_json
from adapters.storage.workflow.tables import (
    workflow_combined,
    workflow_invitations,
    workflow_item_links,
    workflow_offers,
    workflow_requests,
    workflow_timetables,
)
from booking.workflow.combined import CombinedRequest
from booking.workflow.needs import NeedInvitation
from booking.workflow.offers import Offer
from booking.workflow.requests import SchoolRequest
from booking.workflow.store import Documents, ItemLinks, keys_of
from booking.workflow.timetables import Timetable


class _Document(Protocol):
    id: str
    version: int


T = TypeVar("T", bound=_Document)


def _run(connection: Connection, statement: Any, rows: Any = None) -> Any:
    """Execute, with database refusals as domain errors: a write waiting in the pipeline
    (a racing approval's reservations) may be refused at our statement."""
    with domain_errors():
        if rows is None:
            return connection.execute(statement)
        return connection.execute(statement, rows)


class SqlDocuments(Generic[T]):
    def __init__(self, connection: Connection, table: Table, cls: type[T]) -> None:
        self._connection = connection
        self._table = table
        self._cls = cls

    def _row(self, item: T) -> dict[str, Any]:
        org, school, state = keys_of(item)
        return {
            "id": item.id,
            "org_id": org,
            "school_id": school,
            "state": state,
            "version": item.version,
            "doc": to_json(item),
        }

    def get(self, id: str) -> T | None:
        found = self.get_many([id])
        return found.get(id)

    def get_many(self, ids: Iterable[str]) -> dict[str, T]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = _run(
            self._connection,
            select(self._table.c.id, self._table.c.doc).where(self._table.c.id.in_(wanted)),
        )
        return {row.id: load(self._cls, row.doc) for row in rows}

    def add(self, item: T) -> None:
        _run(self._connection, insert(self._table), [self._row(item)])

    def update(self, item: T) -> None:
        row = self._row(item)
        _run(
            self._connection,
            update(self._table).where(self._table.c.id == row.pop("id")).values(**row),
        )

    def _where(
        self,
        org_ids: Iterable[str] | None,
        school_ids: Iterable[str] | None,
        states: Iterable[str] | None,
    ) -> list[Any]:
        c = self._table.c
        out = []
        if org_ids is not None:
            out.append(c.org_id.in_(list(org_ids)))
        if school_ids is not None:
            out.append(c.school_id.in_(list(school_ids)))
        if states is not None:
            out.append(c.state.in_([str(s) for s in states]))
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
        conditions = self._where(org_ids, school_ids, states)
        for name, value in (where or {}).items():
            conditions.append(self._table.c.doc[name].as_integer() == value)
        query = (
            select(self._table.c.doc).where(*conditions).order_by(self._table.c.id).offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        return [load(self._cls, row.doc) for row in _run(self._connection, query)]

    def count(
        self,
        *,
        org_ids: Iterable[str] | None = None,
        school_ids: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
    ) -> int:
        query = select(func.count()).select_from(self._table)
        query = query.where(*self._where(org_ids, school_ids, states))
        return int(_run(self._connection, query).scalar_one())


class SqlItemLinks:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, links: Mapping[str, str]) -> None:
        if links:
            _run(
                self._connection,
                insert(workflow_item_links),
                [{"request_item_id": i, "booking_id": b} for i, b in links.items()],
            )

    def bookings_of(self, item_ids: Iterable[str]) -> dict[str, str]:
        wanted = list(set(item_ids))
        if not wanted:
            return {}
        c = workflow_item_links.c
        rows = _run(
            self._connection,
            select(c.request_item_id, c.booking_id).where(c.request_item_id.in_(wanted)),
        )
        return {row.request_item_id: row.booking_id for row in rows}

    def items_of(self, booking_id: str) -> list[str]:
        c = workflow_item_links.c
        rows = _run(
            self._connection,
            select(c.request_item_id).where(c.booking_id == booking_id).order_by(c.request_item_id),
        )
        return [row.request_item_id for row in rows]


class SqlWorkflowStore:
    # typed as the port's Protocols (invariant attributes): a `WorkflowStore` without a cast
    offers: Documents[Offer]
    timetables: Documents[Timetable]
    requests: Documents[SchoolRequest]
    combined: Documents[CombinedRequest]
    invitations: Documents[NeedInvitation]
    links: ItemLinks

    def __init__(self, connection: Connection) -> None:
        self.offers = SqlDocuments(connection, workflow_offers, Offer)
        self.timetables = SqlDocuments(connection, workflow_timetables, Timetable)
        self.requests = SqlDocuments(connection, workflow_requests, SchoolRequest)
        self.combined = SqlDocuments(connection, workflow_combined, CombinedRequest)
        self.invitations = SqlDocuments(connection, workflow_invitations, NeedInvitation)
        self.links = SqlItemLinks(connection)
