"""Booking use cases through the service layer, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from booking.bookings import BookingStatus, Participant, Recurrence, SessionKind
from booking.conflicts import AlternativeKind, ConflictKind
from booking.errors import (
    BookingConflict,
    Forbidden,
    HoldExpired,
    ImmutablePast,
    InvalidInput,
    NotFound,
    ResourceInactive,
    VersionMismatch,
)
from booking.repository import UnitOfWork
from booking.resources import PlatformKind
from booking.schoolyear import Closure
from booking.services import bookings as svc
from booking.services.bookings import BookingRequest, DateStatus, ItemStatus
from booking.services.policy import Policy
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]


def physics(**changes: Any) -> BookingRequest:
    """Weekly physics for 9А of the Insar school, taught from СОШ №20 (6th lesson, Tuesdays)."""
    request = BookingRequest(
        title="Физика, 9 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Иванова Анна Петровна",
        participants=[
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            Participant("insar-school-1", "term-insar-1", "class", "9А"),
        ],
        platform=PlatformKind.JITSI,
        subject="Физика",
        recurrence=Recurrence([1], date(2026, 9, 1), date(2026, 10, 24), lesson_number=6),
    )
    return replace(request, **changes)


def one_lesson(
    day: date, lesson: int, terminal: str = "term-kem-20-hall", **changes: Any
) -> BookingRequest:
    request = BookingRequest(
        title="Методическое объединение",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Петров П.П.",
        participants=[Participant("kem-school-20", terminal, "teacher")],
        on_date=day,
        lesson_number=lesson,
    )
    return replace(request, **changes)


def stored_occurrences(uow_factory: UowFactory, booking_id: str) -> list[Any]:
    with uow_factory() as uow:
        return list(uow.occurrences.of_booking(booking_id))


# --- creating ---------------------------------------------------------------------------------
def test_network_admin_books_a_weekly_lesson_by_number_across_two_time_zones(
    uow_factory: UowFactory, region: Region
) -> None:
    result = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)

    assert result.written
    occurrences = stored_occurrences(uow_factory, result.booking.id)
    assert len(occurrences) == 8
    first = occurrences[0]
    # 6th lesson at СОШ №20 is 12:20–13:00 in Kemerovo (UTC+7) = 05:20–06:00 UTC
    assert (first.start, first.end) == (
        datetime(2026, 9, 1, 5, 20, tzinfo=UTC),
        datetime(2026, 9, 1, 6, 0, tzinfo=UTC),
    )
    assert first.setup_start == datetime(2026, 9, 1, 5, 10, tzinfo=UTC)
    assert sorted(first.terminal_ids) == ["term-insar-1", "term-kem-20-hall"]
    assert first.lesson_number == 6
    row = result.report[0]
    assert row.status == DateStatus.BOOKED and row.local_start is not None
    assert row.local_start.strftime("%H:%M %z") == "12:20 +0700"
    with uow_factory() as uow:
        stored = uow.bookings.get(result.booking.id)
    assert stored is not None and stored.status == BookingStatus.CONFIRMED
    assert stored.organiser_id == "admin-kem-net-1" and stored.owner_org_id == "kem-net-1"


def test_holidays_and_closures_of_a_participating_school_are_skipped_and_reported(
    uow_factory: UowFactory, region: Region
) -> None:
    with uow_factory() as uow:
        uow.closures.add(
            Closure("q-insar", "insar-school-1", date(2026, 11, 16), date(2026, 11, 22), "карантин")
        )
        uow.commit()
    request = physics(
        recurrence=Recurrence([2], date(2026, 10, 14), date(2026, 11, 25), lesson_number=6)
    )

    result = svc.create_booking(uow_factory(), region.network_admin, request, now=BEFORE_YEAR)

    booked = [r.local_date for r in result.report if r.status == DateStatus.BOOKED]
    skipped = {r.local_date: r.reason for r in result.report if r.status == DateStatus.SKIPPED}
    assert booked == [
        date(2026, 10, 14),
        date(2026, 10, 21),
        date(2026, 11, 11),
        date(2026, 11, 25),
    ]
    assert "Осенние каникулы" in skipped[date(2026, 10, 28)]
    assert skipped[date(2026, 11, 4)] == "public holiday"
    assert "карантин" in skipped[date(2026, 11, 18)]


def test_a_and_b_week_series_share_one_terminal(uow_factory: UowFactory, region: Region) -> None:
    a = physics(
        recurrence=Recurrence(
            [1], date(2026, 9, 1), date(2026, 10, 24), lesson_number=6, week_parity="A"
        )
    )
    b = physics(
        title="Химия, 9 класс",
        recurrence=Recurrence(
            [1], date(2026, 9, 1), date(2026, 10, 24), lesson_number=6, week_parity="B"
        ),
    )

    first = svc.create_booking(uow_factory(), region.network_admin, a, now=BEFORE_YEAR)
    second = svc.create_booking(uow_factory(), region.network_admin, b, now=BEFORE_YEAR)

    a_dates = {o.local_date for o in stored_occurrences(uow_factory, first.booking.id)}
    b_dates = {o.local_date for o in stored_occurrences(uow_factory, second.booking.id)}
    assert len(a_dates) == 4 and len(b_dates) == 4 and not a_dates & b_dates


def test_a_conflicting_booking_lists_every_conflict_and_proposes_alternatives(
    uow_factory: UowFactory, region: Region
) -> None:
    svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    # an event in the hall on the 6th lesson of 15 September
    clash = one_lesson(date(2026, 9, 15), 6)

    with pytest.raises(BookingConflict) as caught:
        svc.create_booking(uow_factory(), region.network_admin, clash, now=BEFORE_YEAR)

    details = caught.value.details
    assert [(c.kind, c.terminal_id, c.local_date) for c in details["conflicts"]] == [
        (ConflictKind.TERMINAL_BUSY, "term-kem-20-hall", date(2026, 9, 15))
    ]
    alternatives = details["alternatives"]
    other_terminals = [a for a in alternatives if a.kind == AlternativeKind.OTHER_TERMINAL]
    assert [(a.terminal_id, a.instead_of_terminal_id) for a in other_terminals] == [
        ("term-kem-20-it", "term-kem-20-hall")
    ]
    lessons = [a.lesson_number for a in alternatives if a.kind == AlternativeKind.OTHER_LESSON]
    assert lessons == [5, 7, 4]  # nearest first, the earlier one winning a tie
    with uow_factory() as uow:
        assert len(uow.bookings.list()) == 1  # nothing written


def test_skip_conflicts_books_the_free_dates_and_reports_the_others(
    uow_factory: UowFactory, region: Region
) -> None:
    blocker = svc.create_booking(
        uow_factory(), region.network_admin, one_lesson(date(2026, 9, 15), 6), now=BEFORE_YEAR
    )

    result = svc.create_booking(
        uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR, skip_conflicts=True
    )

    assert result.written
    by_date = {r.local_date: r for r in result.report}
    assert by_date[date(2026, 9, 15)].status == DateStatus.CONFLICT
    assert by_date[date(2026, 9, 15)].conflicts[0].other_booking_id == blocker.booking.id
    assert by_date[date(2026, 9, 8)].status == DateStatus.BOOKED
    dates = [o.local_date for o in stored_occurrences(uow_factory, result.booking.id)]
    assert len(dates) == 7 and date(2026, 9, 15) not in dates


def test_dry_run_reports_without_writing_even_when_dates_conflict(
    uow_factory: UowFactory, region: Region
) -> None:
    svc.create_booking(
        uow_factory(), region.network_admin, one_lesson(date(2026, 9, 15), 6), now=BEFORE_YEAR
    )

    result = svc.create_booking(
        uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR, dry_run=True
    )

    assert not result.written
    statuses = [r.status for r in result.report]
    assert statuses.count(DateStatus.FREE) == 7 and statuses.count(DateStatus.CONFLICT) == 1
    assert result.alternatives
    with uow_factory() as uow:
        assert len(uow.bookings.list()) == 1


def test_the_same_class_cannot_be_in_two_sessions_at_once(
    uow_factory: UowFactory, region: Region
) -> None:
    svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    # chemistry for the same 9А, on another terminal of the host school, same hour in Insar
    chemistry = physics(
        title="Химия, 9 класс",
        participants=[
            Participant("kem-school-20", "term-kem-20-it", "teacher"),
            Participant("insar-school-1", None, None, "9А"),
        ],
        recurrence=Recurrence([1], date(2026, 9, 8), date(2026, 9, 8), lesson_number=6),
    )

    with pytest.raises(BookingConflict) as caught:
        svc.create_booking(uow_factory(), region.network_admin, chemistry, now=BEFORE_YEAR)

    [conflict] = caught.value.details["conflicts"]
    assert conflict.kind == ConflictKind.CLASS_BUSY
    assert (conflict.school_id, conflict.class_name) == ("insar-school-1", "9А")


def test_server_capacity_is_never_exceeded(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow:
        jitsi = uow.servers.get("jitsi-1")
        assert jitsi is not None
        jitsi.max_participants = 50
        uow.servers.update(jitsi)
        uow.commit()
    svc.create_booking(
        uow_factory(), region.network_admin, physics(expected_participants=30), now=BEFORE_YEAR
    )
    other = one_lesson(
        date(2026, 9, 8),
        6,
        "term-kem-12",
        host_school_id="kem-school-12",
        participants=[Participant("kem-school-12", "term-kem-12")],
        platform=PlatformKind.JITSI,
        expected_participants=25,
    )

    with pytest.raises(BookingConflict) as caught:
        svc.create_booking(uow_factory(), region.network_admin, other, now=BEFORE_YEAR)

    [conflict] = caught.value.details["conflicts"]
    assert conflict.kind == ConflictKind.SERVER_CAPACITY
    assert "participants 55/50" in conflict.message
    # on BigBlueButton there is room
    assert svc.create_booking(
        uow_factory(),
        region.network_admin,
        replace(other, platform=PlatformKind.BBB),
        now=BEFORE_YEAR,
    ).written


# --- bad input, nothing written ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        (
            {"recurrence": Recurrence([1], date(2026, 9, 1), date(2026, 9, 30), lesson_number=9)},
            InvalidInput,
            "no lesson 9",
        ),
        (
            {"recurrence": Recurrence([1], date(2026, 9, 1), date(2027, 7, 1), lesson_number=1)},
            InvalidInput,
            "outside academic year",
        ),
        (
            {"recurrence": Recurrence([1], date(2026, 6, 1), date(2026, 6, 30), lesson_number=1)},
            InvalidInput,
            "outside every academic year",
        ),
        (
            {"recurrence": Recurrence([1], date(2026, 9, 30), date(2026, 9, 1), lesson_number=1)},
            InvalidInput,
            "ends before it starts",
        ),
        (
            {
                "recurrence": Recurrence(
                    [1, 1], date(2026, 9, 1), date(2026, 9, 30), lesson_number=1
                )
            },
            InvalidInput,
            "overlap itself",
        ),
        (
            {
                "recurrence": None,
                "start": datetime(2026, 9, 8, 10),
                "end": datetime(2026, 9, 8, 11),
            },
            InvalidInput,
            "naive",
        ),
        (
            {
                "recurrence": None,
                "start": datetime(2026, 9, 8, 10, tzinfo=UTC),
                "end": datetime(2026, 9, 8, 9, tzinfo=UTC),
            },
            InvalidInput,
            "after start",
        ),
        ({"host_school_id": "kem-school-99"}, NotFound, "kem-school-99"),
        ({"participants": [Participant("kem-school-20", "term-nope")]}, NotFound, "term-nope"),
        (
            {"participants": [Participant("kem-school-12", "term-kem-12-old")]},
            ResourceInactive,
            "retired",
        ),
        (
            {"participants": [Participant("kem-school-12", "term-kem-20-hall")]},
            InvalidInput,
            "stands at kem-school-20",
        ),
        ({"participants": []}, InvalidInput, "at least one"),
        ({"kind": SessionKind.LMS}, InvalidInput, "no VKS equipment"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_written(
    uow_factory: UowFactory,
    region: Region,
    changes: dict[str, Any],
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error, match=words):
        svc.create_booking(uow_factory(), region.network_admin, physics(**changes), now=BEFORE_YEAR)

    with uow_factory() as uow:
        assert uow.bookings.list() == []


def test_a_series_longer_than_the_policy_allows_is_refused(
    uow_factory: UowFactory, region: Region
) -> None:
    with pytest.raises(InvalidInput, match="more than the allowed 31"):
        svc.create_booking(
            uow_factory(),
            region.network_admin,
            physics(),
            now=BEFORE_YEAR,
            policy=Policy(max_range_days=31),
        )


def test_a_series_that_overlaps_itself_through_its_set_up_buffer_is_refused(
    uow_factory: UowFactory, region: Region
) -> None:
    # day-long events on Mondays and Tuesdays: Tuesday's 4-hour set-up reaches into Monday
    request = physics(
        kind=SessionKind.EVENT,
        recurrence=Recurrence(
            [0, 1], date(2026, 9, 1), date(2026, 9, 30), start_time=time(0, 30), end_time=time(23)
        ),
        setup_minutes=240,
        participants=[Participant("kem-school-20", "term-kem-20-hall")],
    )
    with pytest.raises(InvalidInput, match="at most 12 hours"):
        svc.create_booking(uow_factory(), region.network_admin, request, now=BEFORE_YEAR)

    with pytest.raises(InvalidInput, match="overlaps itself"):
        svc.create_booking(
            uow_factory(),
            region.network_admin,
            request,
            now=BEFORE_YEAR,
            policy=Policy(max_session_hours=23),
        )
    with uow_factory() as uow:
        assert uow.bookings.list() == []


def test_nothing_can_be_booked_in_the_past(uow_factory: UowFactory, region: Region) -> None:
    now = datetime(2026, 9, 8, 5, 15, tzinfo=UTC)  # 12:15 in Kemerovo: lesson 6 set-up has begun

    with pytest.raises(ImmutablePast):
        svc.create_booking(
            uow_factory(), region.network_admin, one_lesson(date(2026, 9, 8), 6), now=now
        )


def test_a_lesson_whose_set_up_has_begun_is_refused_saying_how_to_book_it(
    uow_factory: UowFactory, region: Region
) -> None:
    now = datetime(2026, 9, 8, 1, 43, tzinfo=UTC)  # 08:43 in Kemerovo, lesson 2 at 08:50

    with pytest.raises(ImmutablePast) as refused:
        svc.create_booking(
            uow_factory(), region.network_admin, one_lesson(date(2026, 9, 8), 2), now=now
        )

    assert "has already begun" not in refused.value.message
    assert refused.value.message == (
        "the lesson at 2026-09-08 08:50 has not begun, but its 10-minute set-up would start"
        " at 08:40, 3 minutes ago: book with setup_minutes ≤ 7 or a later lesson"
    )
    shorter = one_lesson(date(2026, 9, 8), 2, setup_minutes=7)
    assert svc.create_booking(uow_factory(), region.network_admin, shorter, now=now).written


def test_a_one_off_lesson_on_a_holiday_is_refused(uow_factory: UowFactory, region: Region) -> None:
    with pytest.raises(InvalidInput, match="not a study day"):
        svc.create_booking(
            uow_factory(), region.network_admin, one_lesson(date(2026, 10, 27), 2), now=BEFORE_YEAR
        )


# --- who may book -----------------------------------------------------------------------------
def test_a_network_admin_of_another_network_is_forbidden(
    uow_factory: UowFactory, region: Region
) -> None:
    with pytest.raises(Forbidden, match="outside the scope") as caught:
        svc.create_booking(uow_factory(), region.other_network_admin, physics(), now=BEFORE_YEAR)
    assert caught.value.details["scope"] == "nvk-net-1"


def test_a_local_coordinator_books_only_for_their_school(
    uow_factory: UowFactory, region: Region
) -> None:
    own = one_lesson(
        date(2026, 9, 9),
        2,
        "term-kem-12",
        host_school_id="kem-school-12",
        participants=[Participant("kem-school-12", "term-kem-12")],
    )
    assert svc.create_booking(uow_factory(), region.local_coordinator, own, now=BEFORE_YEAR).written

    with pytest.raises(Forbidden):
        svc.create_booking(uow_factory(), region.local_coordinator, physics(), now=BEFORE_YEAR)


def test_a_viewer_cannot_book(uow_factory: UowFactory, region: Region) -> None:
    with pytest.raises(Forbidden, match="may not book"):
        svc.create_booking(uow_factory(), region.viewer, physics(), now=BEFORE_YEAR)


# --- holds ------------------------------------------------------------------------------------
def test_a_hold_blocks_the_slot_until_it_expires(uow_factory: UowFactory, region: Region) -> None:
    held = svc.create_booking(
        uow_factory(), region.scheduler, physics(), now=BEFORE_YEAR, hold=True
    )
    assert held.booking.status == BookingStatus.HELD
    assert held.booking.hold_expires_at == BEFORE_YEAR + timedelta(minutes=15)

    with pytest.raises(BookingConflict):
        svc.create_booking(
            uow_factory(),
            region.network_admin,
            one_lesson(date(2026, 9, 15), 6),
            now=BEFORE_YEAR + timedelta(minutes=5),
        )

    later = BEFORE_YEAR + timedelta(minutes=16)
    assert svc.create_booking(
        uow_factory(), region.network_admin, one_lesson(date(2026, 9, 15), 6), now=later
    ).written
    with pytest.raises(HoldExpired):
        svc.confirm_hold(uow_factory(), region.scheduler, held.booking.id, now=later)
    with uow_factory() as uow:
        expired = uow.bookings.get(held.booking.id)
    assert expired is not None and expired.status == BookingStatus.CANCELLED


def test_a_confirmed_hold_stays(uow_factory: UowFactory, region: Region) -> None:
    held = svc.create_booking(
        uow_factory(), region.scheduler, physics(), now=BEFORE_YEAR, hold=True
    )

    confirmed = svc.confirm_hold(
        uow_factory(), region.scheduler, held.booking.id, now=BEFORE_YEAR + timedelta(minutes=10)
    )

    assert confirmed.status == BookingStatus.CONFIRMED and confirmed.hold_expires_at is None
    assert svc.expire_holds(uow_factory(), now=BEFORE_YEAR + timedelta(days=1)) == []


def test_expire_holds_frees_the_terminals(uow_factory: UowFactory, region: Region) -> None:
    held = svc.create_booking(
        uow_factory(), region.scheduler, physics(), now=BEFORE_YEAR, hold=True
    )

    assert svc.expire_holds(uow_factory(), now=BEFORE_YEAR + timedelta(minutes=15)) == [
        held.booking.id
    ]

    with uow_factory() as uow:
        busy = uow.occurrences.busy_terminal_ids(
            datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)
        )
    assert busy == set()


# --- cancel, edit, exceptions -----------------------------------------------------------------
def test_cancelling_keeps_the_past_and_frees_the_future(
    uow_factory: UowFactory, region: Region
) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    now = datetime(2026, 9, 10, tzinfo=UTC)

    svc.cancel_booking(
        uow_factory(), region.network_admin, created.booking.id, now=now, expected_version=1
    )

    occurrences = stored_occurrences(uow_factory, created.booking.id)
    assert [o.cancelled for o in occurrences] == [False, False] + [True] * 6
    assert svc.create_booking(
        uow_factory(), region.network_admin, one_lesson(date(2026, 9, 15), 6), now=now
    ).written


def test_an_edit_with_a_stale_version_is_refused(uow_factory: UowFactory, region: Region) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    svc.update_booking(
        uow_factory(),
        region.network_admin,
        created.booking.id,
        physics(teacher="Сидорова"),
        now=BEFORE_YEAR,
        expected_version=1,
    )

    with pytest.raises(VersionMismatch):
        svc.update_booking(
            uow_factory(),
            region.network_admin,
            created.booking.id,
            physics(teacher="Кузнецова"),
            now=BEFORE_YEAR,
            expected_version=1,
        )


def test_an_edit_moves_the_future_and_keeps_the_past_and_the_exceptions(
    uow_factory: UowFactory, region: Region
) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    booking_id = created.booking.id
    occurrences = stored_occurrences(uow_factory, booking_id)
    cancelled = svc.cancel_occurrence(
        uow_factory(), region.network_admin, occurrences[3].id, now=BEFORE_YEAR
    )
    now = datetime(2026, 9, 10, tzinfo=UTC)

    result = svc.update_booking(
        uow_factory(),
        region.network_admin,
        booking_id,
        physics(recurrence=Recurrence([1], date(2026, 9, 1), date(2026, 10, 24), lesson_number=5)),
        now=now,
        expected_version=1,
    )

    assert result.booking.version == 2
    after = {o.local_date: o for o in stored_occurrences(uow_factory, booking_id)}
    assert after[date(2026, 9, 1)].lesson_number == 6  # past: unchanged
    assert after[date(2026, 9, 15)].lesson_number == 5
    assert after[date(2026, 9, 15)].start == datetime(2026, 9, 15, 4, 30, tzinfo=UTC)
    assert after[cancelled.local_date].cancelled and after[cancelled.local_date].lesson_number == 6
    # the old slot is free again
    assert svc.create_booking(
        uow_factory(), region.network_admin, one_lesson(date(2026, 9, 29), 6), now=now
    ).written


def test_moving_one_occurrence_to_another_lesson(uow_factory: UowFactory, region: Region) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    target = stored_occurrences(uow_factory, created.booking.id)[2]

    moved = svc.move_occurrence(
        uow_factory(), region.network_admin, target.id, now=BEFORE_YEAR, lesson_number=7
    )

    assert moved.moved_from == target.start
    assert moved.start == datetime(2026, 9, 15, 6, 10, tzinfo=UTC) and moved.lesson_number == 7
    assert svc.create_booking(
        uow_factory(), region.network_admin, one_lesson(date(2026, 9, 15), 6), now=BEFORE_YEAR
    ).written
    with pytest.raises(BookingConflict) as caught:
        svc.create_booking(
            uow_factory(), region.network_admin, one_lesson(date(2026, 9, 15), 7), now=BEFORE_YEAR
        )
    assert caught.value.details["conflicts"][0].other_occurrence_id == target.id


def test_moving_onto_a_busy_lesson_is_a_conflict_with_alternatives(
    uow_factory: UowFactory, region: Region
) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    svc.create_booking(
        uow_factory(), region.network_admin, one_lesson(date(2026, 9, 15), 7), now=BEFORE_YEAR
    )
    target = stored_occurrences(uow_factory, created.booking.id)[2]

    with pytest.raises(BookingConflict) as caught:
        svc.move_occurrence(
            uow_factory(), region.network_admin, target.id, now=BEFORE_YEAR, lesson_number=7
        )

    lessons = [
        a.lesson_number
        for a in caught.value.details["alternatives"]
        if a.kind == AlternativeKind.OTHER_LESSON
    ]
    assert lessons[0] == 6  # its own current slot is free for itself


def test_past_occurrences_are_immutable(uow_factory: UowFactory, region: Region) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    first = stored_occurrences(uow_factory, created.booking.id)[0]
    later = datetime(2026, 9, 2, tzinfo=UTC)

    for change in (
        lambda: svc.cancel_occurrence(uow_factory(), region.network_admin, first.id, now=later),
        lambda: svc.move_occurrence(
            uow_factory(), region.network_admin, first.id, now=later, lesson_number=7
        ),
        lambda: svc.substitute_teacher(
            uow_factory(), region.network_admin, first.id, "Орлова", now=later
        ),
    ):
        with pytest.raises(ImmutablePast):
            change()


def test_substitute_teacher_for_one_date(uow_factory: UowFactory, region: Region) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    second = stored_occurrences(uow_factory, created.booking.id)[1]

    changed = svc.substitute_teacher(
        uow_factory(),
        region.network_admin,
        second.id,
        "Орлова Е.В.",
        now=BEFORE_YEAR,
        expected_version=1,
    )

    assert changed.teacher == "Орлова Е.В." and changed.version == 2
    sessions = svc.sessions_between(
        uow_factory(),
        region.viewer,
        datetime(2026, 9, 1, tzinfo=UTC),
        datetime(2026, 9, 30, tzinfo=UTC),
        teacher="Орлова Е.В.",
    )
    assert [s.occurrence.id for s in sessions] == [second.id]


# --- bulk upsert ------------------------------------------------------------------------------
def test_bulk_upsert_reports_each_item(uow_factory: UowFactory, region: Region) -> None:
    items = [
        physics(external_ref="rasp-101"),
        physics(
            external_ref="rasp-102",
            title="Химия",
            participants=[Participant("kem-school-12", "term-kem-12", "class", "8Б")],
        ),
        physics(external_ref="rasp-103", title="Конфликт"),  # the hall again, same time as rasp-101
        physics(external_ref=None),
    ]

    first = svc.upsert_timetable(uow_factory(), region.scheduler, items, now=BEFORE_YEAR)

    assert [r.status for r in first] == [
        ItemStatus.CREATED,
        ItemStatus.CREATED,
        ItemStatus.FAILED,
        ItemStatus.FAILED,
    ]
    assert first[2].code == "booking_conflict" and first[2].conflicts
    assert first[3].code == "invalid_input"

    second = svc.upsert_timetable(
        uow_factory(),
        region.scheduler,
        [
            items[0],
            replace(items[1], teacher="Новый учитель"),
            replace(
                items[2],
                recurrence=Recurrence([3], date(2026, 9, 1), date(2026, 10, 24), lesson_number=6),
            ),
        ],
        now=BEFORE_YEAR,
    )

    assert [r.status for r in second] == [
        ItemStatus.UNCHANGED,
        ItemStatus.UPDATED,
        ItemStatus.CREATED,
    ]
    assert second[0].booking_id == first[0].booking_id
    with uow_factory() as uow:
        updated = uow.bookings.get(first[1].booking_id or "")
        assert updated is not None and updated.teacher == "Новый учитель" and updated.version == 2
        assert len(uow.bookings.list()) == 3


# --- reads ------------------------------------------------------------------------------------
def test_reads_respect_scope(uow_factory: UowFactory, region: Region) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)

    assert (
        svc.get_booking(uow_factory(), region.viewer, created.booking.id).id == created.booking.id
    )
    with pytest.raises(Forbidden):
        svc.get_booking(uow_factory(), region.other_network_admin, created.booking.id)
    assert [b.id for b in svc.list_bookings(uow_factory(), region.network_admin)] == [
        created.booking.id
    ]
    assert svc.list_bookings(uow_factory(), region.other_network_admin) == []
    with pytest.raises(NotFound):
        svc.get_booking(uow_factory(), region.rcc, "no-such-booking")


def test_a_schools_calendar_has_the_sessions_it_hosts_or_joins(
    uow_factory: UowFactory, region: Region
) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    september = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))

    insar = svc.sessions_between(
        uow_factory(), region.network_admin, *september, school_id="insar-school-1"
    )
    school_12 = svc.sessions_between(
        uow_factory(), region.network_admin, *september, school_id="kem-school-12"
    )

    assert [s.occurrence.local_date for s in insar] == [
        date(2026, 9, 1),
        date(2026, 9, 8),
        date(2026, 9, 15),
        date(2026, 9, 22),
        date(2026, 9, 29),
    ]
    assert {s.booking.id for s in insar} == {created.booking.id}
    assert school_12 == []
