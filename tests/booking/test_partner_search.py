"""Finding a partner school by a part of its name, anywhere in the region: the booking
form's school list (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from booking.errors import Forbidden
from booking.repository import UnitOfWork
from booking.services import partners
from tests.booking.kuzbass import Region

UowFactory = Callable[[], UnitOfWork]


def test_a_school_of_another_network_is_found_by_a_part_of_its_name_in_any_case(
    uow_factory: UowFactory, region: Region
) -> None:
    found = partners.schools_named(uow_factory(), region.other_network_admin, "инсар")

    assert [(school.id, municipality) for school, municipality in found] == [
        ("insar-school-1", "Кемеровский городской округ")
    ]


def test_schools_are_offered_by_name_and_found_by_id_but_not_for_one_letter(
    uow_factory: UowFactory, region: Region
) -> None:
    found = partners.schools_named(uow_factory(), region.network_admin, "  СОШ   №1 ")
    first = partners.schools_named(uow_factory(), region.network_admin, "школ")
    one_letter = partners.schools_named(uow_factory(), region.network_admin, "с")
    by_id = partners.schools_named(uow_factory(), region.network_admin, "NVK-SCHOOL")

    assert [s.id for s, _ in found] == ["insar-school-1", "kem-school-12"]  # by name
    assert first == []  # ids are Latin: «школ» is in no name and no id
    assert one_letter == []
    middle = partners.schools_named(uow_factory(), region.network_admin, "ар")
    assert [s.id for s, _ in middle] == ["insar-school-1"]  # inside a word is found too
    assert [(s.id, m) for s, m in by_id] == [("nvk-school-5", "Новокузнецкий городской округ")]


def test_a_schools_active_terminals_are_offered_by_name_and_a_viewer_may_not_search(
    uow_factory: UowFactory, region: Region
) -> None:
    at = partners.terminals_at(uow_factory(), region.network_admin, ["insar-school-1"])

    assert [t.site_id for t in at["insar-school-1"]] == ["insar-school-1"] * len(
        at["insar-school-1"]
    )
    assert at["insar-school-1"] and all(t.active for t in at["insar-school-1"])
    with pytest.raises(Forbidden):
        partners.schools_named(uow_factory(), region.viewer, "инсар")
