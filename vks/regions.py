"""Finding the region (the root of the organisation tree, the RCC) of a database.

TRANSITIONAL: the services have no "which region is this" use case yet (asked for in
docs/notes-api.md); until then the repository's plain listing is paged through."""

from __future__ import annotations

from collections.abc import Callable

from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork

PAGE = 1000


def find_region(uow_factory: Callable[[], UnitOfWork]) -> Organisation | None:
    with uow_factory() as uow:
        offset = 0
        while True:
            chunk = uow.organisations.list(offset, PAGE)
            for org in chunk:
                if org.kind == OrgKind.REGION:
                    return org
            if len(chunk) < PAGE:
                return None
            offset += PAGE
