"""`Booking` and `Occurrence` enforce their own state changes: the lifecycle, one version
bump per change and the domain event it records — on plain objects, without storage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from booking import events
from booking.bookings import (
    Booking,
    BookingStatus,
    Occurrence,
    OccurrenceState,
    Participant,
    SessionKind,
)
from booking.errors import Conflict, ImmutablePast, InvalidInput
from booking.lifecycle import IllegalTransition

# a Tuesday 6th lesson of СОШ №20 in Kemerovo (UTC+7): 13:25–14:10 local
START = datetime(2026, 9, 8, 6, 25, tzinfo=UTC)
BEFORE = START - timedelta(days=1)


def physics(**changes: object) -> Booking:
    booking = Booking(
        id="b-physics-9",
        title="Физика, 9 класс",
        kind=SessionKind.FULL_BROADCAST,
        organiser_id="admin-kem-net-1",
        owner_org_id="kem-net-1",
        host_school_id="kem-school-20",
        teacher="Иванова Анна Петровна",
        participants=[
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            Participant("insar-school-1", "term-insar-1", "class", "9А"),
        ],
    )
    for name, value in changes.items():
        setattr(booking, name, value)
    return booking


def lesson(state: OccurrenceState = OccurrenceState.SCHEDULED, **changes: object) -> Occurrence:
    occurrence = Occurrence(
        id="o-physics-0908",
        booking_id="b-physics-9",
        start=START,
        end=START + timedelta(minutes=45),
        setup_start=START - timedelta(minutes=10),
        local_date=date(2026, 9, 8),
        lesson_number=6,
        state=state,
        terminal_ids=["term-kem-20-hall", "term-insar-1"],
    )
    for name, value in changes.items():
        setattr(occurrence, name, value)
    return occurrence


def slot(start: datetime, lesson_number: int | None = 6) -> Occurrence:
    """Where a date may be moved to: a lesson of 45 minutes from `start`."""
    return lesson(
        start=start,
        end=start + timedelta(minutes=45),
        setup_start=start - timedelta(minutes=10),
        local_date=(start + timedelta(hours=7)).date(),  # Kemerovo
        lesson_number=lesson_number,
    )


# --- Booking ---------------------------------------------------------------------------------
def test_a_new_booking_held_until_a_time_records_its_creation() -> None:
    booking = physics()
    until = BEFORE + timedelta(minutes=15)

    booking.book(hold_until=until)

    assert (booking.status, booking.hold_expires_at, booking.version) == (
        BookingStatus.HELD,
        until,
        1,
    )
    assert booking.collect_events() == [events.BookingCreated("b-physics-9")]
    assert booking.collect_events() == []  # collected once


def test_confirming_a_hold_bumps_the_version_once_and_a_second_confirm_changes_nothing() -> None:
    booking = physics(status=BookingStatus.HELD, hold_expires_at=BEFORE)

    assert booking.confirm() is True
    assert booking.confirm() is False

    assert (booking.status, booking.hold_expires_at, booking.version) == (
        BookingStatus.CONFIRMED,
        None,
        2,
    )
    assert booking.collect_events() == [events.BookingChanged("b-physics-9")]


def test_a_cancelled_booking_cannot_be_confirmed() -> None:
    booking = physics(status=BookingStatus.CANCELLED)

    with pytest.raises(Conflict, match="cancelled, not held"):
        booking.confirm()
    assert booking.version == 1


def test_cancelling_a_booking_records_it_once() -> None:
    booking = physics(status=BookingStatus.HELD, hold_expires_at=BEFORE)

    assert booking.cancel() is True
    assert booking.cancel() is False

    assert (booking.status, booking.hold_expires_at, booking.version) == (
        BookingStatus.CANCELLED,
        None,
        2,
    )
    assert booking.collect_events() == [events.BookingCancelled("b-physics-9")]


def test_an_expired_hold_is_released_and_keeps_its_expiry() -> None:
    booking = physics(status=BookingStatus.HELD, hold_expires_at=BEFORE)

    booking.expire(BEFORE)

    assert (booking.status, booking.hold_expires_at, booking.version) == (
        BookingStatus.CANCELLED,
        BEFORE,
        2,
    )
    assert booking.collect_events() == [events.HoldExpired("b-physics-9")]


@pytest.mark.parametrize(
    "status, expires",
    [
        (BookingStatus.HELD, BEFORE + timedelta(minutes=1)),  # not yet
        (BookingStatus.CONFIRMED, None),
        (BookingStatus.CANCELLED, BEFORE),
    ],
)
def test_only_a_hold_past_its_time_expires(status: BookingStatus, expires: datetime) -> None:
    booking = physics(status=status, hold_expires_at=expires)

    with pytest.raises(Conflict):
        booking.expire(BEFORE)
    assert (booking.status, booking.version, booking.collect_events()) == (status, 1, [])


def test_an_edit_is_one_version_after_the_booking_it_replaces() -> None:
    current = physics(version=4)
    edited = physics(title="Физика, 9 класс (углублённая)")

    edited.replaces(current)

    assert edited.version == 5
    assert edited.collect_events() == [events.BookingChanged("b-physics-9")]


def test_a_cancelled_booking_cannot_be_replaced() -> None:
    with pytest.raises(Conflict, match="cancelled"):
        physics().replaces(physics(status=BookingStatus.CANCELLED))


# --- Occurrence ------------------------------------------------------------------------------
def changed() -> list[events.Event]:
    return [events.OccurrencesChanged("b-physics-9", ("o-physics-0908",))]


@pytest.mark.parametrize("state", [OccurrenceState.SCHEDULED, OccurrenceState.CHECKING])
def test_cancelling_a_date_that_waits_for_its_start(state: OccurrenceState) -> None:
    occurrence = lesson(state)

    assert occurrence.cancel(BEFORE, "школа закрыта на карантин") is True
    assert occurrence.cancel(BEFORE) is False

    assert occurrence.cancelled
    assert (occurrence.state, occurrence.state_reason, occurrence.version) == (
        OccurrenceState.CANCELLED,
        "школа закрыта на карантин",
        2,
    )
    assert occurrence.collect_events() == changed()


@pytest.mark.parametrize(
    "state, now",
    [
        (OccurrenceState.PREPARING, BEFORE),  # the automation is starting it
        (OccurrenceState.LIVE, BEFORE),
        (OccurrenceState.ENDED, BEFORE),
        (OccurrenceState.SCHEDULED, START - timedelta(minutes=5)),  # its set-up has begun
    ],
)
def test_a_date_that_has_begun_is_not_the_bookings_to_change(
    state: OccurrenceState, now: datetime
) -> None:
    occurrence = lesson(state)

    for change in (
        lambda: occurrence.cancel(now),
        lambda: occurrence.substitute("Петров П.П.", now),
        lambda: occurrence.move_to(slot(START + timedelta(days=1)), now),
    ):
        with pytest.raises(ImmutablePast):
            change()
    assert (occurrence.state, occurrence.version, occurrence.collect_events()) == (state, 1, [])


def test_moving_a_date_keeps_its_original_start_across_two_moves() -> None:
    occurrence = lesson()
    wednesday = START + timedelta(days=1)

    occurrence.move_to(slot(wednesday), BEFORE)
    occurrence.move_to(slot(wednesday + timedelta(hours=1), lesson_number=None), BEFORE)

    assert occurrence.moved_from == START
    assert (occurrence.start, occurrence.lesson_number) == (wednesday + timedelta(hours=1), None)
    assert occurrence.version == 3
    assert occurrence.collect_events() == changed() * 2


def test_a_cancelled_date_is_neither_moved_nor_taught() -> None:
    occurrence = lesson(OccurrenceState.CANCELLED, cancelled=True)

    with pytest.raises(Conflict, match="cannot be moved"):
        occurrence.move_to(slot(START + timedelta(days=1)), BEFORE)
    with pytest.raises(Conflict, match="nobody teaches it"):
        occurrence.substitute("Петров П.П.", BEFORE)
    assert occurrence.version == 1


def test_a_substitute_teacher_and_back() -> None:
    occurrence = lesson()

    occurrence.substitute("  Петров Пётр Петрович ", BEFORE)
    assert occurrence.teacher == "Петров Пётр Петрович"
    occurrence.substitute(None, BEFORE)

    assert (occurrence.teacher, occurrence.version) == (None, 3)
    with pytest.raises(InvalidInput, match="needs a name"):
        occurrence.substitute("   ", BEFORE)
    assert occurrence.collect_events() == changed() * 2


def test_an_edit_replans_a_date_with_its_new_slot_and_terminals() -> None:
    occurrence = lesson()
    planned = lesson(start=START + timedelta(hours=1), terminal_ids=["term-kem-20-hall"])

    occurrence.replan(planned, BEFORE)

    assert (occurrence.start, occurrence.terminal_ids) == (
        START + timedelta(hours=1),
        ["term-kem-20-hall"],
    )
    assert (occurrence.moved_from, occurrence.version) == (None, 2)


def test_the_automation_moves_a_date_only_along_the_lifecycle() -> None:
    occurrence = lesson(OccurrenceState.LIVE)

    occurrence.transition(OccurrenceState.DEGRADED, "term-insar-1: not in the room")
    with pytest.raises(IllegalTransition):
        occurrence.transition(OccurrenceState.SCHEDULED)

    assert (occurrence.state, occurrence.state_reason, occurrence.version) == (
        OccurrenceState.DEGRADED,
        "term-insar-1: not in the room",
        2,
    )


def test_building_an_occurrence_records_nothing_and_allocates_no_event_list() -> None:
    occurrence = lesson()

    assert "_events" not in occurrence.__dict__
    assert occurrence.collect_events() == []
