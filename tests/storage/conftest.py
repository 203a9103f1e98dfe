"""Storage test fixtures: the region seeded into the database under test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.storage.unit_of_work import SqlUnitOfWork
from tests.storage.region import Region, kuzbass, seed


@pytest.fixture
def region(uow_factory: Callable[[], SqlUnitOfWork]) -> Region:
    """The seeded region (fresh for every test)."""
    data = kuzbass()
    seed(uow_factory, data)
    return data
