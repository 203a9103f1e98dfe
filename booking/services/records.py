"""Adding and replacing versioned reference records — organisations, terminals, cameras,
servers, academic years, bell schedules: the same steps whatever the record, after each
service's own checks."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, TypeVar

from booking.errors import Conflict, NotFound
from booking.repository import UnitOfWork

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    class Record(DataclassInstance, Protocol):
        id: str
        version: int


R = TypeVar("R", bound="Record")


class Records(Protocol[R]):
    def get(self, id: str) -> R | None: ...

    def add(self, item: R) -> None: ...

    def update(self, item: R) -> None: ...


def check_unused(records: Records[R], item: R, noun: str) -> None:
    if records.get(item.id) is not None:
        raise Conflict(f"{noun} {item.id} already exists", id=item.id)


def existing(records: Records[R], record_id: str, noun: str) -> R:
    found = records.get(record_id)
    if found is None:
        raise NotFound(f"unknown {noun} {record_id}")
    return found


def add_first(uow: UnitOfWork, records: Records[R], item: R) -> R:
    """Store `item` as version 1 and commit."""
    stored = replace(item, version=1)
    records.add(stored)
    uow.commit()
    return stored


def replace_next(uow: UnitOfWork, records: Records[R], item: R, current: R) -> R:
    """Store `item` in place of `current`, one version after it, and commit."""
    stored = replace(item, version=current.version + 1)
    records.update(stored)
    uow.commit()
    return stored
