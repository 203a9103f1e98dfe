"""Which occurrences the booking side may still change, state by state — one definition
(`booking.lifecycle.may_change`) for cancel, move, substitute and edit, on memory, SQLite
and PostgreSQL.

The Tuesday physics lesson of СОШ №20 (6th lesson, 10 minutes of set-up) is looked at 20
minutes before its start: its pre-flight check (30 minutes before) has run, its set-up has
not begun. Waiting for the start (`scheduled`, `checking`) it is still the coordinator's
to change; from `preparing` on it is on record and stays as it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from booking.bookings import Occurrence, OccurrenceState
from booking.errors import Conflict, ImmutablePast
from booking.lifecycle import CHANGEABLE, may_change
from booking.services import bookings as svc
from booking.services.bookings import BookingRequest, DateStatus
from tests.booking.kuzbass import BEFORE_YEAR, Region
from tests.booking.test_booking_service import UowFactory, physics, stored_occurrences

S = OccurrenceState

BEGUN = [S.PREPARING, S.LIVE, S.DEGRADED, S.ENDING, S.ENDED, S.FAILED]
WAITING = [S.SCHEDULED, S.CHECKING]

MAY_CHANGE_BEFORE_SET_UP: dict[OccurrenceState, bool] = {
    S.SCHEDULED: True,
    S.CHECKING: True,  # the pre-flight ran; nothing has started
    S.PREPARING: False,
    S.LIVE: False,
    S.DEGRADED: False,
    S.ENDING: False,
    S.ENDED: False,
    S.FAILED: False,  # an operator may still start it by hand: it is on record
    S.CANCELLED: True,  # a second cancel is a no-op, an edit keeps it cancelled
}


def test_every_state_is_classified() -> None:
    assert set(MAY_CHANGE_BEFORE_SET_UP) == set(OccurrenceState)
    assert {s for s, changeable in MAY_CHANGE_BEFORE_SET_UP.items() if changeable} == CHANGEABLE


@pytest.mark.parametrize("state", list(OccurrenceState), ids=str)
def test_may_change_until_the_set_up_time_only_while_waiting_or_cancelled(
    state: OccurrenceState,
) -> None:
    start = datetime.fromisoformat("2026-09-01T12:10:00+07:00")
    setup_start = start - timedelta(minutes=10)

    before = may_change(state, setup_start, setup_start - timedelta(minutes=10))
    at_set_up = may_change(state, setup_start, setup_start)

    assert before is MAY_CHANGE_BEFORE_SET_UP[state]
    assert at_set_up is False


# --- through the booking services -------------------------------------------------------------
def lesson_in(
    uow_factory: UowFactory, region: Region, state: OccurrenceState
) -> tuple[str, Occurrence, datetime]:
    """The first Tuesday's lesson of a weekly booking, put in `state` by the automation;
    the booking id, the occurrence and `now` (20 minutes before its start)."""
    created = svc.create_booking(
        uow_factory(), region.network_admin, physics(setup_minutes=10), now=BEFORE_YEAR
    )
    first = stored_occurrences(uow_factory, created.booking.id)[0]
    now = first.start - timedelta(minutes=20)
    if state is S.CANCELLED:
        svc.cancel_occurrence(uow_factory(), region.network_admin, first.id, now=now)
    elif state is not S.SCHEDULED:
        with uow_factory() as uow:
            occurrence = uow.occurrences.get(first.id)
            assert occurrence is not None
            occurrence.state = state
            occurrence.version += 1
            uow.occurrences.update(occurrence)
            uow.commit()
    [stored] = [o for o in stored_occurrences(uow_factory, created.booking.id) if o.id == first.id]
    return created.booking.id, stored, now


def at_the_seventh_lesson() -> BookingRequest:
    request = physics(setup_minutes=10)
    assert request.recurrence is not None
    return replace(request, recurrence=replace(request.recurrence, lesson_number=7))


def current(uow_factory: UowFactory, occurrence_id: str) -> Occurrence:
    with uow_factory() as uow:
        found = uow.occurrences.get(occurrence_id)
    assert found is not None
    return found


Change = Callable[[UowFactory, Region, Occurrence, datetime], object]


def cancel(uow_factory: UowFactory, region: Region, o: Occurrence, now: datetime) -> object:
    return svc.cancel_occurrence(uow_factory(), region.network_admin, o.id, now=now)


def move(uow_factory: UowFactory, region: Region, o: Occurrence, now: datetime) -> object:
    return svc.move_occurrence(uow_factory(), region.network_admin, o.id, now=now, lesson_number=7)


def substitute(uow_factory: UowFactory, region: Region, o: Occurrence, now: datetime) -> object:
    return svc.substitute_teacher(uow_factory(), region.network_admin, o.id, "Орлова", now=now)


@pytest.mark.parametrize("state", WAITING, ids=str)
def test_a_waiting_lesson_is_cancelled_by_its_coordinator(
    uow_factory: UowFactory, region: Region, state: OccurrenceState
) -> None:
    _, lesson, now = lesson_in(uow_factory, region, state)

    cancel(uow_factory, region, lesson, now)

    after = current(uow_factory, lesson.id)
    assert (after.cancelled, after.state) == (True, S.CANCELLED)


@pytest.mark.parametrize("state", WAITING, ids=str)
def test_a_waiting_lesson_is_moved_to_another_lesson_and_checked_again_before_it(
    uow_factory: UowFactory, region: Region, state: OccurrenceState
) -> None:
    _, lesson, now = lesson_in(uow_factory, region, state)

    move(uow_factory, region, lesson, now)

    after = current(uow_factory, lesson.id)
    # a `checking` lesson's pre-flight looked at the old time: it is scheduled again, so
    # the automation plans a new pre-flight before the new time
    assert (after.lesson_number, after.moved_from, after.state) == (7, lesson.start, S.SCHEDULED)


@pytest.mark.parametrize("state", WAITING, ids=str)
def test_a_waiting_lesson_gets_a_substitute_teacher(
    uow_factory: UowFactory, region: Region, state: OccurrenceState
) -> None:
    _, lesson, now = lesson_in(uow_factory, region, state)

    substitute(uow_factory, region, lesson, now)

    assert current(uow_factory, lesson.id).teacher == "Орлова"


@pytest.mark.parametrize("state", WAITING, ids=str)
def test_editing_the_booking_re_plans_a_waiting_lesson(
    uow_factory: UowFactory, region: Region, state: OccurrenceState
) -> None:
    booking_id, lesson, now = lesson_in(uow_factory, region, state)
    seventh = at_the_seventh_lesson()

    svc.update_booking(
        uow_factory(), region.network_admin, booking_id, seventh, now=now, expected_version=None
    )

    firsts = [
        o for o in stored_occurrences(uow_factory, booking_id) if o.local_date == lesson.local_date
    ]
    assert [o.lesson_number for o in firsts] == [7]


@pytest.mark.parametrize("change", [cancel, move, substitute], ids=lambda c: c.__name__)
@pytest.mark.parametrize("state", BEGUN, ids=str)
def test_a_begun_lesson_cannot_be_cancelled_moved_or_substituted(
    uow_factory: UowFactory, region: Region, state: OccurrenceState, change: Change
) -> None:
    _, lesson, now = lesson_in(uow_factory, region, state)

    with pytest.raises(ImmutablePast, match="has begun or is over"):
        change(uow_factory, region, lesson, now)

    assert current(uow_factory, lesson.id) == lesson


@pytest.mark.parametrize("state", BEGUN, ids=str)
def test_editing_the_booking_leaves_a_begun_lesson_as_it_is(
    uow_factory: UowFactory, region: Region, state: OccurrenceState
) -> None:
    booking_id, lesson, now = lesson_in(uow_factory, region, state)
    seventh = at_the_seventh_lesson()

    svc.update_booking(
        uow_factory(), region.network_admin, booking_id, seventh, now=now, expected_version=None
    )

    after = current(uow_factory, lesson.id)
    assert (after.lesson_number, after.state, after.start) == (6, state, lesson.start)


def test_a_cancelled_lesson_stays_cancelled_a_second_cancel_changes_nothing(
    uow_factory: UowFactory, region: Region
) -> None:
    booking_id, lesson, now = lesson_in(uow_factory, region, S.CANCELLED)
    seventh = at_the_seventh_lesson()

    again = cancel(uow_factory, region, lesson, now)
    with pytest.raises(Conflict, match="is cancelled"):
        move(uow_factory, region, lesson, now)
    with pytest.raises(Conflict, match="is cancelled"):
        substitute(uow_factory, region, lesson, now)
    edited = svc.update_booking(
        uow_factory(), region.network_admin, booking_id, seventh, now=now, expected_version=None
    )

    assert again == lesson
    assert current(uow_factory, lesson.id) == lesson
    [kept] = [r for r in edited.report if r.local_date == lesson.local_date]
    assert (kept.status, kept.reason) == (DateStatus.KEPT, "cancelled")
