"""Loading the workflow's documents for a use case: by id (NotFound otherwise), checked
against the version the caller last saw (If-Match), and the organisations a caller sees."""

from __future__ import annotations

from typing import Protocol, TypeVar

from booking.access import Principal, scope_of
from booking.errors import NotFound, VersionMismatch
from booking.workflow.store import Documents, WorkflowUnitOfWork


class Versioned(Protocol):
    id: str
    version: int


V = TypeVar("V", bound=Versioned)


def load(documents: Documents[V], id: str, what: str, expected_version: int | None = None) -> V:
    found = documents.get(id)
    if found is None:
        raise NotFound(f"unknown {what} {id}", id=id)
    if expected_version is not None and found.version != expected_version:
        raise VersionMismatch(
            f"{what} {id} is at version {found.version}, not {expected_version}: reload it",
            current=found.version,
        )
    return found


def visible_org_ids(uow: WorkflowUnitOfWork, principal: Principal) -> list[str] | None:
    """The organisations of the caller's subtree (None: the whole region)."""
    path = scope_of(principal)
    if path is None:
        return None
    return [o.id for o in uow.organisations.subtree(path)]
