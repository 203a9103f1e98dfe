"""`offset`/`limit` in, a `Page` (items, total, links to the neighbouring pages) out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request

from booking.paging import MAX_LIMIT, MAX_OFFSET, Page
from vks.api.schemas.common import Links

T = TypeVar("T")

DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class PageParams:
    offset: int
    limit: int


async def page_params(  # async: no I/O, so no hop to the thread pool that a sync one costs
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(offset, limit)


Paging = Annotated[PageParams, Depends(page_params)]


def links(request: Request, params: PageParams, total: int) -> Links:
    def at(offset: int) -> str:
        return str(request.url.include_query_params(offset=offset, limit=params.limit))

    following = params.offset + params.limit
    return Links.model_validate(
        {
            "self": at(params.offset),
            "next": at(following) if following < total else None,
            "prev": at(max(0, params.offset - params.limit)) if params.offset > 0 else None,
        }
    )


def page_of(
    request: Request, params: PageParams, found: Page[T], out: Callable[[T], Any]
) -> dict[str, Any]:
    """A service's `Page`, each item shown with `out`."""
    return page(request, params, [out(item) for item in found.items], found.total)


def page(request: Request, params: PageParams, items: Sequence[Any], total: int) -> dict[str, Any]:
    return {
        "items": list(items),
        "total": total,
        "offset": params.offset,
        "limit": params.limit,
        "links": links(request, params, total),
    }
