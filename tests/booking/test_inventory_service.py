"""Inventory, school time and users through the service layer (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from booking.access import Role
from booking.bookings import Participant, SessionKind
from booking.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    ResourceInactive,
    VersionMismatch,
)
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Camera
from booking.schoolyear import Closure, DayOffKind
from booking.services import inventory, schooltime, users
from booking.services.bookings import BookingRequest, create_booking
from booking.users import User
from tests.booking.kuzbass import BEFORE_YEAR, STANDARD_BELLS, YEAR_2026_27, Region, terminal

UowFactory = Callable[[], UnitOfWork]


def school(
    id: str, parent: str, name: str = "МБОУ «СОШ №41»", tz: str = "Asia/Novokuznetsk"
) -> Organisation:
    return Organisation(
        id, OrgKind.SCHOOL, name, parent, path="", time_zone=tz, bell_schedule_id="standard"
    )


def test_a_municipal_coordinator_adds_a_school_to_a_network_of_their_municipality(
    uow_factory: UowFactory, region: Region
) -> None:
    with uow_factory() as uow:
        kemerovo = uow.organisations.get("kemerovo")
    assert kemerovo is not None
    coordinator = replace(
        region.rcc, role=Role.MUNICIPAL_COORDINATOR, org_id="kemerovo", org_path=kemerovo.path
    )

    added = inventory.add_organisation(
        uow_factory(), coordinator, school("kem-school-41", "kem-net-1")
    )

    assert added.path == "kuzbass/kemerovo/kem-net-1/kem-school-41"
    with pytest.raises(Forbidden):
        inventory.add_organisation(uow_factory(), coordinator, school("nvk-school-7", "nvk-net-1"))
    with pytest.raises(Conflict, match="already exists"):
        inventory.add_organisation(uow_factory(), coordinator, school("kem-school-41", "kem-net-1"))


@pytest.mark.parametrize(
    ("org", "error", "words"),
    [
        (school("s", "kem-net-1", tz="Asia/Kemerovo-City"), InvalidInput, "time zone"),
        (school("s", "kem-school-20"), InvalidInput, "cannot be placed under a school"),
        (school("s", "no-such-network"), NotFound, "no-such-network"),
        (school("s", "kem-net-1", name="  "), InvalidInput, "name"),
        (replace(school("s", "kem-net-1"), bell_schedule_id="night"), NotFound, "night"),
    ],
)
def test_bad_organisations_are_refused(
    uow_factory: UowFactory, region: Region, org: Organisation, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        inventory.add_organisation(uow_factory(), region.rcc, org)


def test_an_organisation_keeps_its_place_in_the_tree_and_its_version_is_checked(
    uow_factory: UowFactory, region: Region
) -> None:
    current = inventory.get_organisation(uow_factory(), region.rcc, "kem-school-12")

    renamed = inventory.update_organisation(
        uow_factory(),
        region.rcc,
        replace(current, address="г. Кемерово, ул. Весенняя, 5"),
        expected_version=1,
    )

    assert renamed.version == 2 and renamed.path == current.path
    with pytest.raises(VersionMismatch):
        inventory.update_organisation(
            uow_factory(), region.rcc, replace(current, name="x"), expected_version=1
        )
    with pytest.raises(InvalidInput, match="cannot change"):
        inventory.update_organisation(
            uow_factory(), region.rcc, replace(renamed, parent_id="nvk-net-1"), expected_version=2
        )


def test_terminals_are_validated_and_scoped(uow_factory: UowFactory, region: Region) -> None:
    new = terminal("term-kem-12-b", "kem-school-12", "Кабинет 14", 18010)

    with pytest.raises(Forbidden):  # a network admin does not manage inventory
        inventory.add_terminal(uow_factory(), region.network_admin, new)
    with pytest.raises(InvalidInput, match="SIP"):
        inventory.add_terminal(uow_factory(), region.rcc, replace(new, sip_address="term@vks"))
    with pytest.raises(InvalidInput, match="school or at the RCC"):
        inventory.add_terminal(uow_factory(), region.rcc, replace(new, site_id="kem-net-1"))

    inventory.add_terminal(uow_factory(), region.rcc, new)

    assert [
        t.id
        for t in inventory.list_terminals(
            uow_factory(), region.network_admin, site_id="kem-school-12"
        )
    ] == [
        "term-kem-12",
        "term-kem-12-b",
        "term-kem-12-old",
    ]


def test_a_terminal_with_future_bookings_is_not_retired_without_force(
    uow_factory: UowFactory, region: Region
) -> None:
    request = BookingRequest(
        title="Биология",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-12",
        teacher="Лебедева",
        participants=[Participant("kem-school-12", "term-kem-12")],
        on_date=date(2026, 9, 9),
        lesson_number=2,
    )
    create_booking(uow_factory(), region.network_admin, request, now=BEFORE_YEAR)

    with pytest.raises(Conflict, match="1 future sessions"):
        inventory.retire_terminal(uow_factory(), region.rcc, "term-kem-12", now=BEFORE_YEAR)
    retired = inventory.retire_terminal(
        uow_factory(), region.rcc, "term-kem-12", now=BEFORE_YEAR, force=True
    )

    assert not retired.active
    with pytest.raises(ResourceInactive):
        create_booking(
            uow_factory(),
            region.network_admin,
            replace(request, on_date=date(2026, 9, 16)),
            now=BEFORE_YEAR,
        )


def test_a_camera_needs_a_known_terminal_and_distinct_presets(
    uow_factory: UowFactory, region: Region
) -> None:
    camera = Camera("cam-kem-20", "term-kem-20-hall", "http://127.0.0.1:18101/onvif/device_service")

    assert inventory.add_camera(uow_factory(), region.rcc, camera).presets == [
        "teacher",
        "board",
        "class",
    ]
    with pytest.raises(NotFound):
        inventory.add_camera(
            uow_factory(), region.rcc, replace(camera, id="cam-x", terminal_id="term-x")
        )
    with pytest.raises(InvalidInput, match="repeated"):
        inventory.update_camera(
            uow_factory(),
            region.rcc,
            replace(camera, presets=["board", "board"]),
            expected_version=1,
        )


def test_only_the_rcc_manages_servers_and_academic_years(
    uow_factory: UowFactory, region: Region
) -> None:
    [jitsi, *_] = [
        s for s in inventory.list_servers(uow_factory(), region.viewer) if s.id == "jitsi-1"
    ]

    with pytest.raises(Forbidden):
        inventory.update_server(
            uow_factory(), region.network_admin, replace(jitsi, max_rooms=80), expected_version=1
        )
    assert (
        inventory.update_server(
            uow_factory(), region.rcc, replace(jitsi, max_rooms=80), expected_version=1
        ).version
        == 2
    )
    with pytest.raises(InvalidInput, match="overlaps 2026-2027"):
        schooltime.add_academic_year(
            uow_factory(),
            region.rcc,
            replace(
                YEAR_2026_27,
                id="2027-2028",
                start=date(2027, 5, 1),
                end=date(2028, 5, 31),
                quarters=[],
            ),
        )


def test_a_closure_by_a_network_admin_closes_the_school_for_new_lessons(
    uow_factory: UowFactory, region: Region
) -> None:
    schooltime.add_closure(
        uow_factory(),
        region.network_admin,
        Closure("q-12", "kem-school-12", date(2027, 2, 1), date(2027, 2, 5), "карантин"),
    )

    day = schooltime.school_day(uow_factory(), region.viewer, "kem-school-12", date(2027, 2, 3))

    assert day.day_off is not None and day.day_off.kind == DayOffKind.CLOSURE and day.lessons == []
    with pytest.raises(Forbidden):
        schooltime.add_closure(
            uow_factory(),
            region.other_network_admin,
            Closure("q-x", "kem-school-12", date(2027, 2, 1), date(2027, 2, 5)),
        )
    with pytest.raises(InvalidInput, match="school or a municipality"):
        schooltime.add_closure(
            uow_factory(),
            region.rcc,
            Closure("q-n", "kem-net-1", date(2027, 2, 1), date(2027, 2, 5)),
        )


def test_resolving_a_lesson_of_a_school(uow_factory: UowFactory, region: Region) -> None:
    slot = schooltime.resolve_lesson(
        uow_factory(), region.viewer, "insar-school-1", date(2026, 9, 8), 3
    )

    assert slot.start == datetime(2026, 9, 8, 6, 45, tzinfo=UTC)
    assert slot.local_start.strftime("%H:%M %z") == "09:45 +0300"
    with pytest.raises(InvalidInput, match="outside every academic year"):
        schooltime.resolve_lesson(
            uow_factory(), region.viewer, "insar-school-1", date(2026, 7, 1), 3
        )
    with pytest.raises(InvalidInput, match="no lesson 8"):
        schooltime.resolve_lesson(
            uow_factory(), region.viewer, "insar-school-1", date(2026, 9, 8), 8
        )


def test_bell_schedules_are_validated(uow_factory: UowFactory, region: Region) -> None:
    bad = replace(
        STANDARD_BELLS,
        id="bad",
        lessons={1: STANDARD_BELLS.lessons[2], 2: STANDARD_BELLS.lessons[1]},
    )

    with pytest.raises(InvalidInput, match="overlaps"):
        schooltime.add_bell_schedule(uow_factory(), region.rcc, bad)


def test_users_and_their_principals(uow_factory: UowFactory, region: Region) -> None:
    admin = User("u-1", "petrova", "$argon2id$v=19$...", Role.NETWORK_ADMIN, "kem-net-1")

    users.add_user(uow_factory(), region.rcc, admin)

    found = users.find_user(uow_factory(), "petrova")
    assert found is not None and found.role == Role.NETWORK_ADMIN
    principal = users.principal_of(uow_factory(), found)
    assert principal.org_path == "kuzbass/kemerovo/kem-net-1"
    with pytest.raises(Conflict, match="taken"):
        users.add_user(uow_factory(), region.rcc, replace(admin, id="u-2"))
    with pytest.raises(InvalidInput, match="unknown role"):
        users.add_user(
            uow_factory(), region.rcc, replace(admin, id="u-3", username="x", role="janitor")
        )  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        users.add_user(uow_factory(), region.network_admin, replace(admin, id="u-4", username="y"))
    users.set_user_active(uow_factory(), region.rcc, "u-1", False)
    deactivated = users.find_user(uow_factory(), "petrova")
    assert deactivated is not None
    with pytest.raises(NotAuthenticated):
        users.principal_of(uow_factory(), deactivated)


def test_a_quarter_or_the_whole_year_as_a_series_span(
    uow_factory: UowFactory, region: Region
) -> None:
    assert schooltime.academic_span(uow_factory(), region.viewer, date(2026, 12, 1), quarter=2) == (
        date(2026, 11, 5),
        date(2026, 12, 28),
    )
    assert schooltime.academic_span(uow_factory(), region.viewer, date(2026, 12, 1)) == (
        date(2026, 9, 1),
        date(2027, 5, 31),
    )
    with pytest.raises(InvalidInput, match="no quarter 5"):
        schooltime.academic_span(uow_factory(), region.viewer, date(2026, 12, 1), quarter=5)
