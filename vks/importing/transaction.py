"""One transaction for a whole import, shared by many service calls.

The services open and commit their own unit of work; an import must instead commit
everything together or nothing. `SharedUnitOfWork` hands the services one already open
unit of work whose `with`, `commit` and `rollback` do nothing, so the import decides at
the end. Each row runs inside a savepoint (`row()`): a refused row is rolled back to the
savepoint and the import goes on checking the rest, so the report names every bad row —
and PostgreSQL's transaction stays usable after a failed statement.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from booking.repository import UnitOfWork


class SharedUnitOfWork:
    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> SharedUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:  # the import commits once, at the end
        return None

    def rollback(self) -> None:
        return None

    def row(self) -> AbstractContextManager[None]:
        """A savepoint: the block's writes are undone if it raises."""
        return self._inner.savepoint()
