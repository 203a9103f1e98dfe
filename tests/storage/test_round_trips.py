"""Every aggregate goes into the database and comes back equal — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.access import Role
from booking.bookings import (
    BookingBrief,
    BookingStatus,
    OccurrenceBrief,
    OccurrenceState,
    Participant,
    ParticipantState,
    Reservation,
    SessionKind,
)
from booking.errors import Conflict, NotFound, VersionMismatch
from booking.resources import PlatformKind
from booking.schoolyear import Closure
from booking.users import User
from tests.storage.region import (
    Region,
    local,
    occurrence_of,
    reservations_of,
    store,
    weekly_lesson,
)

UowFactory = Callable[[], SqlUnitOfWork]


# --- inventory and school time -------------------------------------------------------------------
def test_inventory_and_calendars_come_back_equal(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow:
        assert uow.organisations.get_many([o.id for o in region.organisations]) == {
            o.id: o for o in region.organisations
        }
        assert uow.terminals.get_many([t.id for t in region.terminals]) == {
            t.id: t for t in region.terminals
        }
        assert [uow.cameras.get(c.id) for c in region.cameras] == region.cameras
        assert uow.servers.list() == sorted(region.servers, key=lambda s: s.id)
        assert uow.bell_schedules.get("standard") == region.bells[0]
        assert uow.academic_years.get("2026-2027") == region.years[0]


def test_subtree_queries_follow_the_materialised_path(
    uow_factory: UowFactory, region: Region
) -> None:
    with uow_factory() as uow:
        network = [o.id for o in uow.organisations.subtree("kuzbass/kemerovo/kem-net-1")]
        terminals = [t.id for t in uow.terminals.in_subtree("kuzbass/kemerovo")]
        at_sites = [t.id for t in uow.terminals.at_sites(["kem-school-20", "insar-school-1"])]
        camera = uow.cameras.for_terminal("term-kem41-1")

    assert network == ["kem-net-1", "kem-school-20", "kem-school-41", "kem-school-92"]
    assert terminals == ["term-kem20-1", "term-kem20-2", "term-kem41-1", "term-kem92-1"]
    assert at_sites == ["term-insar1-1", "term-kem20-1", "term-kem20-2"]
    assert camera is not None and camera.id == "cam-kem41-1"


def test_a_path_prefix_is_not_a_subtree(uow_factory: UowFactory, region: Region) -> None:
    """`kuzbass/kemerovo` must not match a sibling called `kuzbass/kemerovo_district`."""
    with uow_factory() as uow:
        sibling = region.org("kemerovo")
        uow.organisations.add(
            type(sibling)(
                "kemerovo_district",
                sibling.kind,
                "Кемеровский муниципальный округ",
                "kuzbass",
                "kuzbass/kemerovo_district",
                sibling.time_zone,
            )
        )
        uow.commit()
        found = [o.id for o in uow.organisations.subtree("kuzbass/kemerovo")]
    assert "kemerovo_district" not in found and "kemerovo" in found


def test_retired_terminals_are_left_out_of_active_listings(
    uow_factory: UowFactory, region: Region
) -> None:
    with uow_factory() as uow:
        terminal = uow.terminals.get("term-kem20-2")
        assert terminal is not None
        terminal.active = False
        terminal.version += 1
        uow.terminals.update(terminal)
        uow.commit()
    with uow_factory() as uow:
        active = [t.id for t in uow.terminals.in_subtree("kuzbass/kemerovo/kem-net-1")]
        every = [t.id for t in uow.terminals.in_subtree("kuzbass", active_only=False)]
        stored = uow.terminals.get("term-kem20-2")
    assert "term-kem20-2" not in active and "term-kem20-2" in every
    assert stored is not None and stored.active is False and stored.version == 2


def test_servers_by_platform_kind(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow:
        assert [s.id for s in uow.servers.active(PlatformKind.BBB)] == ["bbb-1"]
        assert [s.id for s in uow.servers.active()] == ["bbb-1", "jitsi-1"]


def test_academic_year_covering_a_date(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow:
        inside = uow.academic_years.covering(date(2026, 12, 28))
        summer = uow.academic_years.covering(date(2027, 7, 1))
    assert inside is not None and inside.is_shortened(date(2026, 12, 28))
    assert summer is None


def test_closures_overlapping_a_range_and_their_removal(
    uow_factory: UowFactory, region: Region
) -> None:
    quarantine = Closure(
        "cl-1", "kem-school-41", date(2026, 11, 16), date(2026, 11, 22), "карантин"
    )
    municipal = Closure(
        "cl-2", "kemerovo", date(2026, 12, 1), date(2026, 12, 1), "отключение тепла"
    )
    with uow_factory() as uow:
        uow.closures.add(quarantine)
        uow.closures.add(municipal)
        uow.commit()
    with uow_factory() as uow:
        week = uow.closures.for_orgs(
            ["kem-school-41", "kemerovo"], date(2026, 11, 20), date(2026, 11, 27)
        )
        uow.closures.delete(quarantine)
        uow.commit()
    with uow_factory() as uow:
        left = uow.closures.for_orgs(
            ["kem-school-41", "kemerovo"], date(2026, 9, 1), date(2027, 5, 31)
        )
    assert week == [quarantine]
    assert left == [municipal]


def test_users_by_username(uow_factory: UowFactory, region: Region) -> None:
    admin = User(
        "u-1",
        "ivanova",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        Role.NETWORK_ADMIN,
        "kem-net-1",
        full_name="Иванова М. П.",
    )
    with uow_factory() as uow:
        uow.users.add(admin)
        uow.commit()
    with uow_factory() as uow:
        assert uow.users.by_username("ivanova") == admin
        assert uow.users.by_username("petrov") is None


# --- bookings ----------------------------------------------------------------------------------
def test_a_weekly_booking_comes_back_with_participants_in_order(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    store(uow_factory, booking)
    with uow_factory() as uow:
        assert uow.bookings.get(booking.id) == booking
        assert uow.bookings.get_many([booking.id, "nope"]) == {booking.id: booking}


def test_a_brief_names_the_host_then_the_schools_that_did_not_decline(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    booking.participants = [
        Participant("kem-school-41", "term-kem41-1", "class", "7Б"),
        Participant("kem-school-92", "term-kem92-1", "board", "8В", ParticipantState.DECLINED),
        Participant(booking.host_school_id, None, None, "7А"),
    ]
    store(uow_factory, booking)
    with uow_factory() as uow:
        found = uow.bookings.briefs([booking.id, "nope"])
    assert found == {
        booking.id: BookingBrief(
            booking.id, booking.title, booking.teacher, booking.host_school_id,
            (booking.host_school_id, "kem-school-41"),
        )
    }  # fmt: skip


def test_a_brief_without_its_schools_is_the_bookings_own_columns(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    booking.participants.append(Participant("kem-school-41", "term-kem41-1", "class", "7Б"))
    store(uow_factory, booking)
    with uow_factory() as uow:
        found = uow.bookings.briefs([booking.id, "nope"], schools=False)
    assert found == {
        booking.id: BookingBrief(
            booking.id, booking.title, booking.teacher, booking.host_school_id,
            (booking.host_school_id,),
        )
    }  # fmt: skip


def test_a_one_off_booking_keeps_aware_utc_instants(
    uow_factory: UowFactory, region: Region
) -> None:
    start = local(date(2026, 9, 15), time(10, 40))
    booking = weekly_lesson("b-council")
    booking.recurrence = None
    booking.kind = SessionKind.EVENT
    booking.start, booking.end = start, start + timedelta(hours=2)
    booking.status = BookingStatus.HELD
    booking.hold_expires_at = datetime(2026, 9, 1, 4, 0, tzinfo=UTC)
    store(uow_factory, booking)
    with uow_factory() as uow:
        stored = uow.bookings.get("b-council")
    assert stored == booking
    assert stored is not None and stored.start is not None
    assert stored.start.tzinfo is UTC and stored.start == datetime(2026, 9, 15, 3, 40, tzinfo=UTC)


def test_naive_datetimes_are_refused(uow_factory: UowFactory, region: Region) -> None:
    booking = weekly_lesson("b-naive")
    booking.created_at = datetime(2026, 8, 20, 10, 0)
    with uow_factory() as uow, pytest.raises(Exception, match="naive datetime"):
        uow.bookings.add(booking)


def test_external_refs_are_unique_per_owner(uow_factory: UowFactory, region: Region) -> None:
    store(uow_factory, weekly_lesson("b-1", external_ref="timetable-42"))
    with uow_factory() as uow:
        found = uow.bookings.by_external_ref("kem-net-1", "timetable-42")
        with pytest.raises(Conflict):  # SQLite: at once; PostgreSQL: when the insert is sent
            uow.bookings.add(weekly_lesson("b-2", external_ref="timetable-42"))
            uow.commit()
    assert found is not None and found.id == "b-1"


def test_a_duplicate_id_is_a_conflict(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow, pytest.raises(Conflict):
        uow.organisations.add(region.org("kem-school-20"))


def test_an_unknown_reference_is_not_found(uow_factory: UowFactory, region: Region) -> None:
    booking = weekly_lesson("b-ghost")
    booking.participants.append(Participant("kem-school-92", "term-does-not-exist"))
    with uow_factory() as uow, pytest.raises(NotFound):  # at once, or when the insert is sent
        uow.bookings.add(booking)
        uow.commit()


def test_editing_a_booking_replaces_its_participants(
    uow_factory: UowFactory, region: Region
) -> None:
    store(uow_factory, weekly_lesson())
    with uow_factory() as uow:
        booking = uow.bookings.get("b-physics-7a")
        assert booking is not None
        booking.participants = [Participant("kem-school-92", "term-kem92-1", "board", "8В")]
        booking.teacher = "Петров Сергей Иванович"
        booking.version += 1
        uow.bookings.update(booking)
        uow.commit()
    with uow_factory() as uow:
        assert uow.bookings.get("b-physics-7a") == booking


def test_a_concurrent_edit_is_a_version_mismatch(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    """Two units of work read the same version; the second to write loses. (SQLite never
    runs two writing units of work at once, so this only arises on PostgreSQL.)"""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writing units of work: no interleaving to test")
    store(uow_factory, weekly_lesson())
    with uow_factory() as first:
        mine = first.bookings.get("b-physics-7a")
        with uow_factory() as second:
            theirs = second.bookings.get("b-physics-7a")
            assert theirs is not None
            theirs.title = "Физика (перенос)"
            theirs.version += 1
            second.bookings.update(theirs)
            second.commit()
        assert mine is not None
        mine.title = "Физика, 7А"
        mine.version += 1
        with pytest.raises(VersionMismatch):
            first.bookings.update(mine)


def test_holds_that_expired(uow_factory: UowFactory, region: Region) -> None:
    now = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
    for booking_id, expires in (
        ("b-old", now - timedelta(minutes=1)),
        ("b-new", now + timedelta(minutes=14)),
    ):
        booking = weekly_lesson(booking_id)
        booking.status = BookingStatus.HELD
        booking.hold_expires_at = expires
        store(uow_factory, booking)
    with uow_factory() as uow:
        assert [b.id for b in uow.bookings.expired_holds(now)] == ["b-old"]


def test_search_by_subtree_and_date_range(uow_factory: UowFactory, region: Region) -> None:
    physics = weekly_lesson("b-physics")
    store(uow_factory, physics, occurrence_of(physics, date(2026, 9, 1), time(9, 45), time(10, 25)))
    insar = weekly_lesson("b-insar")
    insar.owner_org_id = "insar"
    insar.participants = [Participant("insar-school-1", "term-insar1-1")]
    store(uow_factory, insar, occurrence_of(insar, date(2026, 9, 8), time(9, 45), time(10, 25)))
    with uow_factory() as uow:
        network = [b.id for b in uow.bookings.search(org_path="kuzbass/kemerovo")]
        everywhere = [b.id for b in uow.bookings.search(org_path="kuzbass")]
        second_week = [
            b.id
            for b in uow.bookings.search(
                start=datetime(2026, 9, 7, tzinfo=UTC), end=datetime(2026, 9, 12, tzinfo=UTC)
            )
        ]
    assert network == ["b-physics"]
    assert everywhere == ["b-insar", "b-physics"]
    assert second_week == ["b-insar"]


def test_deleting_a_booking_removes_its_occurrences_and_reservations(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    occurrence = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    store(uow_factory, booking, occurrence)
    with uow_factory() as uow:
        uow.bookings.delete(booking)
        uow.commit()
    with uow_factory() as uow:
        assert uow.occurrences.get(occurrence.id) is None
        assert (
            uow.occurrences.overlapping_reservations(
                ["term-kem20-1"], occurrence.setup_start, occurrence.end
            )
            == []
        )


# --- occurrences and reservations ----------------------------------------------------------
def test_an_occurrences_brief_has_its_times_number_substitute_and_state(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    first = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    first.lesson_number = 3
    second = occurrence_of(booking, date(2026, 9, 3), time(9, 45), time(10, 25))
    second.teacher = "Сидоров А. А."
    second.state = OccurrenceState.LIVE
    store(uow_factory, booking, first, second)
    with uow_factory() as uow:
        found = uow.occurrences.briefs([second.id, first.id, "nope", first.id])
    assert found == {
        first.id: OccurrenceBrief(
            first.id, booking.id, first.start, first.end, 3, None, OccurrenceState.SCHEDULED
        ),
        second.id: OccurrenceBrief(
            second.id, booking.id, second.start, second.end, second.lesson_number,
            "Сидоров А. А.", OccurrenceState.LIVE,
        ),
    }  # fmt: skip
    assert found[first.id].start.tzinfo is UTC


def test_occurrences_come_back_with_their_terminals(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    first = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    second = occurrence_of(booking, date(2026, 9, 3), time(9, 45), time(10, 25))
    second.teacher = "Сидоров А. А."
    second.moved_from = local(date(2026, 9, 3), time(8, 50))
    store(uow_factory, booking, second, first)
    with uow_factory() as uow:
        assert uow.occurrences.get(first.id) == first
        assert uow.occurrences.of_booking(booking.id) == [first, second]
        stored = uow.occurrences.get(second.id)
    assert (
        stored is not None
        and stored.start.tzinfo is UTC
        and stored.terminal_ids
        == [
            "term-kem20-1",
            "term-kem41-1",
        ]
    )


def test_reservations_overlap_half_open(uow_factory: UowFactory, region: Region) -> None:
    booking = weekly_lesson()
    lesson = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))  # busy 9:35–10:25
    store(uow_factory, booking, lesson)
    with uow_factory() as uow:
        before = uow.occurrences.overlapping_reservations(
            ["term-kem20-1"],
            local(date(2026, 9, 1), time(8, 50)),
            local(date(2026, 9, 1), time(9, 35)),
        )
        after = uow.occurrences.overlapping_reservations(
            ["term-kem20-1"],
            local(date(2026, 9, 1), time(10, 25)),
            local(date(2026, 9, 1), time(11, 0)),
        )
        inside = uow.occurrences.overlapping_reservations(
            ["term-kem20-1", "term-kem92-1"],
            local(date(2026, 9, 1), time(10, 0)),
            local(date(2026, 9, 1), time(10, 5)),
        )
    assert before == [] and after == []
    assert inside == [
        Reservation(lesson.id, booking.id, "term-kem20-1", lesson.setup_start, lesson.end)
    ]


def test_a_series_is_checked_against_every_range_at_once(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    tuesday = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    thursday = occurrence_of(booking, date(2026, 9, 3), time(9, 45), time(10, 25))
    store(uow_factory, booking, tuesday, thursday)
    wednesday_range = (local(date(2026, 9, 2), time(9, 0)), local(date(2026, 9, 2), time(11, 0)))
    thursday_range = (local(date(2026, 9, 3), time(10, 0)), local(date(2026, 9, 3), time(10, 10)))
    with uow_factory() as uow:
        found = uow.occurrences.reservations_overlapping(
            ["term-kem41-1"], [wednesday_range, thursday_range]
        )
        nothing = uow.occurrences.reservations_overlapping(["term-kem41-1"], [wednesday_range])
    assert [(r.occurrence_id, r.terminal_id) for r in found] == [(thursday.id, "term-kem41-1")]
    assert nothing == []


def test_the_rules_reads_keep_only_what_overlaps_the_series_own_ranges(
    uow_factory: UowFactory, region: Region
) -> None:
    """A series over a month reads its terminal's and class's lessons of that month, but
    only those on its own dates come back (on PostgreSQL filtered by the database)."""
    booking = weekly_lesson()
    tuesday = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    wednesday = occurrence_of(booking, date(2026, 9, 2), time(9, 45), time(10, 25))
    thursday = occurrence_of(booking, date(2026, 9, 3), time(9, 45), time(10, 25))
    store(uow_factory, booking, tuesday, wednesday, thursday)
    series = [  # Tuesday and Thursday of the week: Wednesday's lesson lies between them
        (local(date(2026, 9, 1), time(10, 0)), local(date(2026, 9, 1), time(10, 40))),
        (local(date(2026, 9, 3), time(9, 0)), local(date(2026, 9, 3), time(9, 50))),
    ]
    with uow_factory() as uow:
        read = uow.occurrences.rule_reads(
            ["term-kem41-1"], series, [("kem-school-41", "7Б")], series, []
        )
    assert [(r.occurrence_id, r.terminal_id) for r in read.reservations] == [
        (tuesday.id, "term-kem41-1"),
        (thursday.id, "term-kem41-1"),
    ]
    assert [s.occurrence_id for s in read.sessions] == [tuesday.id, thursday.id]


def test_the_rules_reads_leave_the_planners_settings_as_they_were(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    """PostgreSQL: they run on generic plans (no planning per call); the rest of the
    transaction does not."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    one_slot = [(local(date(2026, 9, 1), time(10, 0)), local(date(2026, 9, 1), time(10, 40)))]
    with uow_factory() as uow:
        uow.occurrences.rule_reads(
            ["term-kem41-1"], one_slot, [("kem-school-41", "7Б")], one_slot, []
        )
        mode = uow.connection.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
    assert mode == "auto"


def test_busy_terminals_for_a_slot(uow_factory: UowFactory, region: Region) -> None:
    booking = weekly_lesson()
    store(uow_factory, booking, occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25)))
    with uow_factory() as uow:
        busy = uow.occurrences.busy_terminal_ids(
            local(date(2026, 9, 1), time(9, 45)), local(date(2026, 9, 1), time(10, 25))
        )
        next_lesson = uow.occurrences.busy_terminal_ids(
            local(date(2026, 9, 1), time(10, 40)), local(date(2026, 9, 1), time(11, 20))
        )
    assert busy == {"term-kem20-1", "term-kem41-1"}
    assert next_lesson == set()


def test_a_long_event_is_found_from_a_slot_in_its_middle(
    uow_factory: UowFactory, region: Region
) -> None:
    """The lower bound of the range scan grows with the longest reservation stored."""
    booking = weekly_lesson("b-olympiad")
    booking.recurrence = None
    olympiad = occurrence_of(booking, date(2026, 9, 5), time(8, 0), time(16, 0))
    store(uow_factory, booking, olympiad)
    with uow_factory() as uow:
        busy = uow.occurrences.busy_terminal_ids(
            local(date(2026, 9, 5), time(14, 0)), local(date(2026, 9, 5), time(14, 40))
        )
        seen = uow.occurrences.between(
            local(date(2026, 9, 5), time(15, 0)), local(date(2026, 9, 5), time(15, 30))
        )
    assert busy == {"term-kem20-1", "term-kem41-1"}
    assert [o.id for o in seen] == [olympiad.id]


def test_released_occurrences_free_the_terminal_but_stay_in_its_calendar(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    lesson = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    store(uow_factory, booking, lesson)
    with uow_factory() as uow:
        cancelled = uow.occurrences.get(lesson.id)
        assert cancelled is not None
        cancelled.cancelled = True
        cancelled.state = OccurrenceState.CANCELLED
        cancelled.version += 1
        uow.occurrences.release(lesson.id)
        uow.occurrences.update(cancelled)
        uow.commit()
    day = (local(date(2026, 9, 1), time(0, 0)), local(date(2026, 9, 2), time(0, 0)))
    with uow_factory() as uow:
        busy = uow.occurrences.busy_terminal_ids(*day)
        calendar = uow.occurrences.between(*day, terminal_ids=["term-kem41-1"])
    assert busy == set()
    assert calendar == [cancelled]


def test_a_moved_occurrence_is_reserved_again(uow_factory: UowFactory, region: Region) -> None:
    booking = weekly_lesson()
    lesson = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    store(uow_factory, booking, lesson)
    with uow_factory() as uow:
        moved = uow.occurrences.get(lesson.id)
        assert moved is not None
        moved.moved_from = moved.start
        moved.start, moved.end = (
            local(date(2026, 9, 2), time(8, 0)),
            local(date(2026, 9, 2), time(8, 40)),
        )
        moved.setup_start = moved.start - timedelta(minutes=10)
        moved.local_date = date(2026, 9, 2)
        moved.terminal_ids = ["term-kem20-2"]
        moved.version += 1
        uow.occurrences.release(lesson.id)
        uow.occurrences.update(moved)
        uow.occurrences.reserve(reservations_of(moved))
        uow.commit()
    with uow_factory() as uow:
        stored = uow.occurrences.get(lesson.id)
        old_slot = uow.occurrences.busy_terminal_ids(lesson.setup_start, lesson.end)
        new_slot = uow.occurrences.busy_terminal_ids(moved.setup_start, moved.end)
    assert stored == moved
    assert old_slot == set() and new_slot == {"term-kem20-2"}


def test_between_filters_by_terminal_and_booking_with_paging(
    uow_factory: UowFactory, region: Region
) -> None:
    physics = weekly_lesson("b-physics")
    days = [date(2026, 9, 1), date(2026, 9, 3), date(2026, 9, 8), date(2026, 9, 10)]
    store(
        uow_factory, physics, *(occurrence_of(physics, d, time(9, 45), time(10, 25)) for d in days)
    )
    chemistry = weekly_lesson("b-chemistry")
    chemistry.participants = [Participant("kem-school-92", "term-kem92-1", "board", "9А")]
    store(
        uow_factory, chemistry, occurrence_of(chemistry, date(2026, 9, 1), time(8, 0), time(8, 40))
    )
    september = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    with uow_factory() as uow:
        of_kem92 = uow.occurrences.between(*september, terminal_ids=["term-kem92-1"])
        page = uow.occurrences.between(*september, booking_ids=["b-physics"], offset=1, limit=2)
        everything = uow.occurrences.between(*september)
    assert [o.booking_id for o in of_kem92] == ["b-chemistry"]
    assert [o.local_date for o in page] == [date(2026, 9, 3), date(2026, 9, 8)]
    assert [o.id for o in everything][:2] == ["b-chemistry-20260901", "b-physics-20260901"]


def test_class_sessions_of_live_occurrences(uow_factory: UowFactory, region: Region) -> None:
    booking = weekly_lesson()
    tuesday = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    thursday = occurrence_of(booking, date(2026, 9, 3), time(9, 45), time(10, 25))
    thursday.cancelled = True
    store(uow_factory, booking, tuesday, thursday)
    ranges = [
        (local(date(2026, 9, 1), time(10, 0)), local(date(2026, 9, 1), time(10, 40))),
        (local(date(2026, 9, 3), time(9, 45)), local(date(2026, 9, 3), time(10, 25))),
    ]
    with uow_factory() as uow:
        sessions = uow.occurrences.class_sessions(
            [("kem-school-41", "7Б"), ("kem-school-92", "7Б")], ranges
        )
        setup_only = uow.occurrences.class_sessions(
            [("kem-school-41", "7Б")],
            [(local(date(2026, 9, 1), time(9, 35)), local(date(2026, 9, 1), time(9, 45)))],
        )
    assert [(s.occurrence_id, s.school_id, s.class_name) for s in sessions] == [
        (tuesday.id, "kem-school-41", "7Б")
    ]
    assert setup_only == []


def test_server_load_counts_live_occurrences_with_set_up(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    tuesday = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    store(uow_factory, booking, tuesday)
    cancelled = weekly_lesson("b-cancelled")
    cancelled.status = BookingStatus.CANCELLED
    store(
        uow_factory,
        cancelled,
        occurrence_of(cancelled, date(2026, 9, 1), time(9, 45), time(10, 25)),
        reserve=False,
    )
    during_setup = [(local(date(2026, 9, 1), time(9, 36)), local(date(2026, 9, 1), time(9, 40)))]
    with uow_factory() as uow:
        load = uow.occurrences.server_load(during_setup)
        later = uow.occurrences.server_load(
            [(local(date(2026, 9, 1), time(10, 25)), local(date(2026, 9, 1), time(11, 0)))]
        )
    assert [(x.occurrence_id, x.kind, x.platform, x.participants, x.terminals) for x in load] == [
        (tuesday.id, SessionKind.FULL_BROADCAST, PlatformKind.BBB, 45, 2)
    ]
    assert load[0].start == tuesday.setup_start and load[0].end == tuesday.end
    assert later == []


def test_deleting_occurrences_frees_their_terminals(
    uow_factory: UowFactory, region: Region
) -> None:
    booking = weekly_lesson()
    lesson = occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))
    store(uow_factory, booking, lesson)
    with uow_factory() as uow:
        uow.occurrences.delete([lesson.id])
        uow.commit()
    with uow_factory() as uow:
        assert uow.occurrences.get(lesson.id) is None
        assert uow.occurrences.busy_terminal_ids(lesson.setup_start, lesson.end) == set()


# --- the unit of work ---------------------------------------------------------------------------
def test_leaving_without_commit_writes_nothing(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow:
        uow.bookings.add(weekly_lesson())
    with uow_factory() as uow:
        assert uow.bookings.get("b-physics-7a") is None


def test_an_error_inside_rolls_everything_back(uow_factory: UowFactory, region: Region) -> None:
    booking = weekly_lesson()
    with pytest.raises(RuntimeError), uow_factory() as uow:
        uow.bookings.add(booking)
        uow.occurrences.add_all(
            [occurrence_of(booking, date(2026, 9, 1), time(9, 45), time(10, 25))], []
        )
        raise RuntimeError("the platform answered 500")
    with uow_factory() as uow:
        assert uow.bookings.get(booking.id) is None
        assert uow.occurrences.of_booking(booking.id) == []


def test_a_failed_statement_on_postgres_spoils_the_whole_change(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    """PostgreSQL aborts a transaction at its first error: what was added before must not
    be reported as written, and commit refuses instead of silently rolling back."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite undoes only the failed statement")
    with uow_factory() as uow:
        uow.bookings.add(weekly_lesson("b-first"))
        with pytest.raises(Conflict):
            uow.organisations.add(region.org("kem-school-20"))  # already there
        uow.bookings.add(weekly_lesson("b-second"))  # deferred: it would go at the commit
        with pytest.raises(Conflict, match="nothing was written"):
            uow.commit()
    with uow_factory() as uow:
        assert uow.bookings.get_many(["b-first", "b-second"]) == {}
