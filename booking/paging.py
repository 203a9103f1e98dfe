"""One page of a list: the items asked for and how many there are in all.

Services answer lists with a `Page`: storage counts with one query (`count(*)`) and reads
only the rows of the page, so a page costs the same with 30 rows as with a million.
`check_page` bounds what a caller may ask for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from booking.errors import InvalidInput

if TYPE_CHECKING:
    from booking.repository import Collection

T = TypeVar("T")

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000  # far beyond any list here, well inside a 64-bit OFFSET


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int


def check_page(offset: int, limit: int) -> None:
    if not 0 < limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1…{MAX_LIMIT}", field="limit")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset is 0…{MAX_OFFSET}", field="offset")


def collection_page(collection: Collection[T], offset: int, limit: int) -> Page[T]:
    """One page of a whole collection, by id, and how many items it holds."""
    check_page(offset, limit)
    return Page(items=list(collection.list(offset, limit)), total=collection.count_all())


def page_of_list(items: Sequence[T], offset: int, limit: int) -> Page[T]:
    """One page of a list already read whole (a few items: a user's own tokens)."""
    check_page(offset, limit)
    return Page(items=list(items[offset : offset + limit]), total=len(items))
