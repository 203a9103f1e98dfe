"""Lessons across networks: the booker acts within its scope, participating schools from
elsewhere are invited (their terminal reserved meanwhile) and their own people accept or
decline — a decline frees the terminal — on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from booking import capacity, events
from booking.bookings import Participant, ParticipantState, SessionKind
from booking.errors import BookingConflict, Conflict, Forbidden
from booking.messagebus import MessageBus
from booking.repository import UnitOfWork
from booking.services.bookings import BookingRequest, create_booking, update_booking
from booking.services.invitations import answer_invitation
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]
TUESDAY = date(2026, 9, 8)


def across_networks(title: str = "Астрономия, 11 класс", *partners: Participant) -> BookingRequest:
    """СОШ №20 (Kemerovo network) teaches, СОШ №5 (Novokuznetsk network) takes part."""
    return BookingRequest(
        title=title,
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Иванова Анна Петровна",
        participants=[
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            *(partners or [Participant("nvk-school-5", "term-nvk-5", "class", "11А")]),
        ],
        on_date=TUESDAY,
        lesson_number=4,
    )


def nvk_own_lesson() -> BookingRequest:
    return BookingRequest(
        title="Литература, 8 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="nvk-school-5",
        teacher="Орлова Н.П.",
        participants=[Participant("nvk-school-5", "term-nvk-5")],
        on_date=TUESDAY,
        lesson_number=4,
    )


def states(uow_factory: UowFactory, booking_id: str) -> dict[str, ParticipantState]:
    with uow_factory() as uow:
        booking = uow.bookings.get(booking_id)
        assert booking is not None
        return {p.school_id: p.state for p in booking.participants}


def test_a_network_admin_invites_a_school_of_another_network(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    published: list[events.Event] = []
    bus.subscribe(events.ParticipantInvited, published.append)

    created = create_booking(
        uow_factory(), region.network_admin, across_networks(), now=BEFORE_YEAR
    )

    assert created.written
    assert states(uow_factory, created.booking.id) == {
        "kem-school-20": ParticipantState.CONFIRMED,
        "nvk-school-5": ParticipantState.INVITED,
    }
    assert published == [events.ParticipantInvited(created.booking.id, ("nvk-school-5",))]
    # the invited school's terminal is reserved meanwhile: nobody else takes it
    with pytest.raises(BookingConflict):
        create_booking(uow_factory(), region.other_network_admin, nvk_own_lesson(), now=BEFORE_YEAR)


def test_a_school_coordinator_books_a_lesson_with_a_partner_schools_terminal(
    uow_factory: UowFactory, region: Region
) -> None:
    request = BookingRequest(
        title="Химия, 10 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-12",
        owner_org_id="kem-school-12",
        teacher="Кузнецова О.В.",
        participants=[
            Participant("kem-school-12", "term-kem-12", "teacher"),
            Participant("kem-school-20", "term-kem-20-it", "class", "10Б"),
        ],
        on_date=TUESDAY,
        lesson_number=2,
    )

    created = create_booking(uow_factory(), region.local_coordinator, request, now=BEFORE_YEAR)

    assert states(uow_factory, created.booking.id)["kem-school-20"] == ParticipantState.INVITED


def test_the_invited_schools_people_accept_and_nobody_else_may(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    created = create_booking(
        uow_factory(), region.network_admin, across_networks(), now=BEFORE_YEAR
    )
    answered: list[events.Event] = []
    bus.subscribe(events.InvitationAnswered, answered.append)
    booking_id = created.booking.id

    with pytest.raises(Forbidden):  # the host's network admin cannot answer for СОШ №5
        answer_invitation(
            uow_factory(), region.network_admin, booking_id, "nvk-school-5", accept=True,
            now=BEFORE_YEAR,
        )  # fmt: skip
    answer_invitation(
        uow_factory(), region.other_network_admin, booking_id, "nvk-school-5", accept=True,
        now=BEFORE_YEAR,
    )  # fmt: skip

    assert states(uow_factory, booking_id)["nvk-school-5"] == ParticipantState.CONFIRMED
    assert answered == [events.InvitationAnswered(booking_id, "nvk-school-5", True)]
    with pytest.raises(Conflict, match="no open invitation"):
        answer_invitation(
            uow_factory(), region.other_network_admin, booking_id, "nvk-school-5",
            accept=False, now=BEFORE_YEAR,
        )  # fmt: skip


def test_an_edit_that_adds_a_school_of_another_network_invites_it(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    created = create_booking(
        uow_factory(),
        region.network_admin,
        across_networks("Астрономия, 11 класс", Participant("kem-school-12", "term-kem-12")),
        now=BEFORE_YEAR,
    )
    published: list[events.Event] = []
    bus.subscribe(events.ParticipantInvited, published.append)
    edited = across_networks(
        "Астрономия, 11 класс",
        Participant("kem-school-12", "term-kem-12"),
        Participant("nvk-school-5", "term-nvk-5", "class", "11А"),
    )

    update_booking(
        uow_factory(), region.network_admin, created.booking.id, edited,
        now=BEFORE_YEAR, expected_version=None,
    )  # fmt: skip

    assert states(uow_factory, created.booking.id)["nvk-school-5"] == ParticipantState.INVITED
    assert published == [events.ParticipantInvited(created.booking.id, ("nvk-school-5",))]


def test_a_declined_invitation_frees_its_gateway_port_in_the_capacity_ledger(
    uow_factory: UowFactory, region: Region
) -> None:
    created = create_booking(
        uow_factory(), region.network_admin, across_networks(), now=BEFORE_YEAR
    )
    [occurrence] = created.occurrences
    buckets = capacity.buckets(*occurrence.busy_range)

    def ports() -> set[int]:
        with uow_factory() as uow:
            return {c.ports for c in uow.occurrences.server_usage(buckets).values()}

    invited = ports()
    answer_invitation(
        uow_factory(), region.other_network_admin, created.booking.id, "nvk-school-5",
        accept=False, now=BEFORE_YEAR,
    )  # fmt: skip

    assert invited == {2}
    assert ports() == {1}  # the declined school's terminal no longer dials in


def test_a_declined_invitation_frees_the_terminal(uow_factory: UowFactory, region: Region) -> None:
    created = create_booking(
        uow_factory(), region.network_admin, across_networks(), now=BEFORE_YEAR
    )

    answer_invitation(
        uow_factory(), region.other_network_admin, created.booking.id, "nvk-school-5",
        accept=False, now=BEFORE_YEAR,
    )  # fmt: skip

    assert states(uow_factory, created.booking.id)["nvk-school-5"] == ParticipantState.DECLINED
    with uow_factory() as uow:
        [occurrence] = uow.occurrences.of_booking(created.booking.id)
        assert occurrence.terminal_ids == ["term-kem-20-hall"]
    own = create_booking(
        uow_factory(), region.other_network_admin, nvk_own_lesson(), now=BEFORE_YEAR
    )
    assert own.written
