"""The seam between the domain and storage (Percival & Gregory's repository and unit of work).

The service layer only sees these Protocols. `adapters/storage/` implements them with
SQLAlchemy (SQLite and PostgreSQL); `booking/memory.py` implements them in memory for
fast domain tests. Queries that decide conflicts run in the database over materialised
reservations, so the service never loops over whole calendars.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from booking.bookings import Booking, Occurrence, Reservation
from booking.organisations import Organisation
from booking.resources import Camera, ConferenceServer, Terminal

T = TypeVar("T")


class Collection(Protocol[T]):
    """Get/add/list by id: the shape every simple aggregate repository shares."""

    def get(self, id: str) -> T | None: ...

    def add(self, item: T) -> None: ...

    def list(self, offset: int = 0, limit: int = 100) -> Sequence[T]: ...


class Organisations(Collection[Organisation], Protocol):
    def subtree(self, path: str) -> Sequence[Organisation]: ...


class Terminals(Collection[Terminal], Protocol):
    def at_sites(self, site_ids: Iterable[str]) -> Sequence[Terminal]: ...


class Cameras(Collection[Camera], Protocol):
    def for_terminal(self, terminal_id: str) -> Camera | None: ...


class Servers(Collection[ConferenceServer], Protocol): ...


class Bookings(Collection[Booking], Protocol):
    def by_external_ref(self, owner_org_id: str, external_ref: str) -> Booking | None: ...

    def delete(self, booking: Booking) -> None: ...


class Occurrences(Protocol):
    def get(self, id: str) -> Occurrence | None: ...

    def add_all(
        self, occurrences: Sequence[Occurrence], reservations: Sequence[Reservation]
    ) -> None:
        """Store occurrences and their terminal reservations (the conflict-bearing rows)."""
        ...

    def of_booking(self, booking_id: str) -> Sequence[Occurrence]: ...

    def between(
        self,
        start: datetime,
        end: datetime,
        *,
        terminal_ids: Iterable[str] | None = None,
        booking_ids: Iterable[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Sequence[Occurrence]: ...

    def overlapping_reservations(
        self, terminal_ids: Iterable[str], start: datetime, end: datetime
    ) -> Sequence[Reservation]:
        """Live reservations of these terminals overlapping [start, end)."""
        ...

    def busy_terminal_ids(self, start: datetime, end: datetime) -> set[str]: ...

    def release(self, occurrence_id: str) -> None:
        """Drop an occurrence's reservations (cancelled, or about to be moved)."""
        ...


class UnitOfWork(Protocol):
    """One atomic change: everything done inside commits together or not at all."""

    organisations: Organisations
    terminals: Terminals
    cameras: Cameras
    servers: Servers
    bookings: Bookings
    occurrences: Occurrences

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

