"""Which region is this (booking/services/region.py), on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from booking.organisations import OrgKind
from booking.repository import UnitOfWork
from booking.services.region import find_region
from tests.booking.kuzbass import Region

UowFactory = Callable[[], UnitOfWork]


def test_an_empty_database_has_no_region(uow_factory: UowFactory) -> None:
    assert find_region(uow_factory()) is None


def test_the_region_is_the_root_of_the_tree_whatever_the_ids_of_its_schools(
    uow_factory: UowFactory, region: Region
) -> None:
    # "insar-school-1" and the Kemerovo network sort before "kuzbass": the first
    # organisation listed is a school three levels down
    with uow_factory() as uow:
        assert uow.organisations.list(0, 1)[0].id == "insar-school-1"

    found = find_region(uow_factory())

    assert found is not None
    assert (found.id, found.kind, found.path) == ("kuzbass", OrgKind.REGION, "kuzbass")
    assert found.id == region.rcc.org_id
