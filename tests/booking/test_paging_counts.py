"""Pages of the service layer: the items asked for and `total`, counted by storage with one
query, within the caller's scope and filters — on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from booking.bookings import Participant, SessionKind
from booking.errors import InvalidInput
from booking.organisations import Organisation, OrgKind
from booking.paging import MAX_OFFSET
from booking.repository import UnitOfWork
from booking.services import bookings as svc
from booking.services import inventory
from booking.services.bookings import BookingRequest
from tests.booking.kuzbass import BEFORE_YEAR, KEMEROVO_TZ, Region, terminal

UowFactory = Callable[[], UnitOfWork]
SEPTEMBER = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))


def one_lesson(day: date, school: str, terminal: str) -> BookingRequest:
    return BookingRequest(
        title="Методическое объединение",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id=school,
        teacher="Петров П.П.",
        participants=[Participant(school, terminal, "teacher")],
        on_date=day,
        lesson_number=2,
    )


def book(uow_factory: UowFactory, region: Region) -> None:
    """Three lessons of the Kemerovo network in September, one in October; one of the
    Novokuznetsk network."""
    for day, school, terminal_id in (
        (date(2026, 9, 8), "kem-school-20", "term-kem-20-hall"),
        (date(2026, 9, 9), "kem-school-12", "term-kem-12"),
        (date(2026, 9, 10), "kem-school-20", "term-kem-20-it"),
        (date(2026, 10, 6), "kem-school-20", "term-kem-20-hall"),
    ):
        request = one_lesson(day, school, terminal_id)
        assert svc.create_booking(
            uow_factory(), region.network_admin, request, now=BEFORE_YEAR
        ).written
    request = one_lesson(date(2026, 9, 8), "nvk-school-5", "term-nvk-5")
    assert svc.create_booking(
        uow_factory(), region.other_network_admin, request, now=BEFORE_YEAR
    ).written


def test_the_total_of_bookings_counts_the_callers_scope_and_range(
    uow_factory: UowFactory, region: Region
) -> None:
    book(uow_factory, region)
    september = {
        "start": datetime(2026, 9, 1, tzinfo=UTC),
        "end": datetime(2026, 10, 1, tzinfo=UTC),
    }

    network = svc.bookings_page(uow_factory(), region.network_admin, limit=2)
    other = svc.bookings_page(uow_factory(), region.other_network_admin)
    everything = svc.bookings_page(uow_factory(), region.rcc, limit=1)
    network_september = svc.bookings_page(uow_factory(), region.network_admin, **september)
    region_september = svc.bookings_page(uow_factory(), region.rcc, offset=3, **september)

    assert (network.total, len(network.items)) == (4, 2)
    assert (other.total, len(other.items)) == (1, 1)
    assert (everything.total, len(everything.items)) == (5, 1)
    assert (network_september.total, len(network_september.items)) == (3, 3)
    assert (region_september.total, len(region_september.items)) == (4, 1)
    ids = [b.id for b in svc.bookings_page(uow_factory(), region.rcc).items]
    assert ids == sorted(ids)


def test_the_total_of_organisations_counts_the_subtree_and_the_kinds(
    uow_factory: UowFactory, region: Region
) -> None:
    network = inventory.organisations_page(uow_factory(), region.network_admin, limit=1)
    network_schools = inventory.organisations_page(
        uow_factory(), region.network_admin, kinds=[OrgKind.SCHOOL]
    )
    sites = inventory.organisations_page(
        uow_factory(), region.rcc, kinds=[OrgKind.SCHOOL, OrgKind.REGION], offset=1, limit=2
    )
    coordinator = inventory.organisations_page(uow_factory(), region.local_coordinator)

    assert (network.total, [o.id for o in network.items]) == (4, ["kem-net-1"])
    assert network_schools.total == 3
    assert [o.path for o in network_schools.items] == sorted(o.path for o in network_schools.items)
    assert sites.total == 5  # four schools and the region (the RCC's own site)
    assert [o.id for o in sites.items] == ["insar-school-1", "kem-school-12"]  # by path
    assert (coordinator.total, [o.id for o in coordinator.items]) == (1, ["kem-school-12"])


def test_the_total_of_terminals_counts_the_subtree_the_site_and_the_active_ones(
    uow_factory: UowFactory, region: Region
) -> None:
    network = inventory.terminals_page(uow_factory(), region.network_admin, limit=2)
    network_active = inventory.terminals_page(uow_factory(), region.network_admin, active_only=True)
    one_school = inventory.terminals_page(uow_factory(), region.rcc, site_id="kem-school-12")
    other = inventory.terminals_page(uow_factory(), region.other_network_admin)

    assert network.total == 5
    assert [t.id for t in network.items] == ["term-insar-1", "term-kem-12"]
    assert network_active.total == 4
    assert "term-kem-12-old" not in [t.id for t in network_active.items]
    assert (one_school.total, [t.id for t in one_school.items]) == (
        2, ["term-kem-12", "term-kem-12-old"],
    )  # fmt: skip
    assert (other.total, [t.id for t in other.items]) == (1, ["term-nvk-5"])


@pytest.mark.parametrize(
    ("offset", "limit", "field"),
    [(-1, 10, "offset"), (MAX_OFFSET + 1, 10, "offset"), (0, 0, "limit"), (0, 1001, "limit")],
)
def test_a_page_out_of_range_is_refused_naming_the_field(
    uow_factory: UowFactory, region: Region, offset: int, limit: int, field: str
) -> None:
    for read in (svc.bookings_page, inventory.organisations_page, inventory.terminals_page):
        with pytest.raises(InvalidInput) as refused:
            read(uow_factory(), region.rcc, offset=offset, limit=limit)

        assert refused.value.details["field"] == field


def test_a_new_school_and_its_terminal_are_counted_at_once(
    uow_factory: UowFactory, region: Region
) -> None:
    before = inventory.organisations_page(uow_factory(), region.network_admin, limit=1).total
    terminals_before = inventory.terminals_page(uow_factory(), region.network_admin).total

    inventory.add_organisation(
        uow_factory(),
        region.rcc,
        Organisation(
            "kem-school-33", OrgKind.SCHOOL, "МБОУ «СОШ №33»", "kem-net-1", "", KEMEROVO_TZ,
            bell_schedule_id="standard",
        ),
    )  # fmt: skip
    inventory.add_terminal(
        uow_factory(), region.rcc, terminal("term-kem-33", "kem-school-33", "Кабинет 33", 18033)
    )

    after = inventory.organisations_page(uow_factory(), region.network_admin)
    schools = inventory.organisations_page(
        uow_factory(), region.network_admin, kinds=[OrgKind.SCHOOL]
    )
    terminals_after = inventory.terminals_page(uow_factory(), region.network_admin)

    assert after.total == before + 1
    assert "kem-school-33" in [o.id for o in schools.items]
    assert terminals_after.total == terminals_before + 1
    assert "term-kem-33" in [t.id for t in terminals_after.items]


def test_a_page_of_everything_visible_counts_the_sessions_the_caller_may_see(
    uow_factory: UowFactory, region: Region
) -> None:
    book(uow_factory, region)
    joined = BookingRequest(  # hosted in Novokuznetsk, joined by a Kemerovo-network school
        title="Химия, 11 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="nvk-school-5",
        teacher="Кузнецова И.Л.",
        participants=[
            Participant("nvk-school-5", "term-nvk-5", "teacher"),
            Participant("kem-school-12", "term-kem-12", "class", "11А"),
        ],
        on_date=date(2026, 9, 15),
        lesson_number=4,
    )
    assert svc.create_booking(uow_factory(), region.rcc, joined, now=BEFORE_YEAR).written
    every = svc.sessions_page(uow_factory(), region.rcc, *SEPTEMBER).items
    tenth = next(s for s in every if s.occurrence.local_date == date(2026, 9, 10))
    svc.cancel_occurrence(uow_factory(), region.rcc, tenth.occurrence.id, now=BEFORE_YEAR)

    everything = svc.sessions_page(uow_factory(), region.rcc, *SEPTEMBER, include_cancelled=True)
    live = svc.sessions_page(uow_factory(), region.rcc, *SEPTEMBER, offset=1, limit=2)
    network = svc.sessions_page(uow_factory(), region.network_admin, *SEPTEMBER)
    other = svc.sessions_page(uow_factory(), region.other_network_admin, *SEPTEMBER)

    assert everything.total == 5  # 3 Kemerovo lessons, 1 Novokuznetsk, 1 joined
    starts = [s.occurrence.start for s in everything.items]
    assert starts == sorted(starts)
    assert (live.total, len(live.items)) == (4, 2)
    assert tenth.occurrence.id not in [s.occurrence.id for s in live.items]
    assert network.total == 3  # 8 and 9 September, and the joined chemistry lesson
    assert [s.occurrence.local_date.day for s in network.items] == [8, 9, 15]
    assert other.total == 2  # its own lesson and the one it hosts
    assert {s.booking.host_school_id for s in other.items} == {"nvk-school-5"}
