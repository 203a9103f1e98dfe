"""A start-of-year timetable imported at once: the same rules as booking one by one,
checked against what is stored and between the timetable's own items; all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

from booking.bookings import Participant, ParticipantState, Recurrence
from booking.conflicts import ConflictKind
from booking.repository import UnitOfWork
from booking.services import bookings as svc
from booking.services.bookings import ItemStatus
from booking.services.timetable_import import import_timetable
from tests.booking.kuzbass import BEFORE_YEAR, Region
from tests.booking.test_booking_service import physics

UowFactory = Callable[[], UnitOfWork]
AUTUMN = (date(2026, 9, 1), date(2026, 10, 24))


def weekly(ref: str, weekday: int, lesson: int, *participants: Participant) -> svc.BookingRequest:
    return physics(
        external_ref=ref,
        title=f"Урок {ref}",
        participants=list(participants),
        recurrence=Recurrence([weekday], *AUTUMN, lesson_number=lesson),
    )


HALL = Participant("kem-school-20", "term-kem-20-hall", "teacher")
IT_ROOM = Participant("kem-school-20", "term-kem-20-it", "teacher")
INSAR_9A = Participant("insar-school-1", "term-insar-1", "class", "9А")
KEM12_8B = Participant("kem-school-12", "term-kem-12", "class", "8Б")


def test_a_timetable_is_written_whole_with_its_occurrences(
    uow_factory: UowFactory, region: Region
) -> None:
    items = [
        weekly("rasp-1", 1, 6, HALL, INSAR_9A),  # Tuesdays, 6th lesson
        weekly("rasp-2", 1, 6, IT_ROOM, KEM12_8B),  # same time, other terminal and classes
        weekly("rasp-3", 3, 2, HALL),  # Thursdays
    ]

    results = import_timetable(uow_factory(), region.scheduler, items, now=BEFORE_YEAR)

    assert [r.status for r in results] == [ItemStatus.CREATED] * 3
    with uow_factory() as uow:
        stored = [uow.bookings.get(r.booking_id or "") for r in results]
        tuesdays = uow.occurrences.of_booking(results[0].booking_id or "")
    assert [b.external_ref for b in stored if b] == ["rasp-1", "rasp-2", "rasp-3"]
    nvk = Participant("nvk-school-5", "term-nvk-5", "teacher")
    one_by_one = svc.create_booking(
        uow_factory(), region.rcc, weekly("rasp-4", 1, 6, nvk), now=BEFORE_YEAR,
        dry_run=True,
    )  # fmt: skip
    assert [o.local_date for o in tuesdays] == [o.local_date for o in one_by_one.occurrences]
    taken = svc.create_booking(
        uow_factory(), region.scheduler, weekly("rasp-5", 1, 6, HALL), now=BEFORE_YEAR,
        dry_run=True,
    )  # fmt: skip
    assert {c.other_booking_id for c in taken.conflicts} == {results[0].booking_id}


def test_clashes_between_items_and_with_stored_bookings_refuse_the_whole_timetable(
    uow_factory: UowFactory, region: Region
) -> None:
    stored = svc.create_booking(
        uow_factory(), region.scheduler, weekly("old-1", 3, 2, HALL), now=BEFORE_YEAR
    )
    items = [
        weekly("rasp-1", 1, 6, HALL, INSAR_9A),
        weekly("rasp-2", 1, 6, HALL),  # the hall twice on Tuesdays, 6th lesson
        weekly("rasp-3", 3, 2, HALL),  # the hall of the stored booking
        weekly("rasp-4", 4, 1, IT_ROOM),  # fine on its own
        weekly("rasp-5", 1, 6, IT_ROOM, replace(INSAR_9A, terminal_id=None)),  # 9А twice
    ]

    results = import_timetable(uow_factory(), region.scheduler, items, now=BEFORE_YEAR)

    statuses = [r.status for r in results]
    assert statuses[:3] == [ItemStatus.FAILED] * 3 and statuses[4] == ItemStatus.FAILED
    assert statuses[3] == ItemStatus.UNCHANGED  # valid, but not written with the others
    kinds = [{c.kind for c in r.conflicts} for r in results]
    assert kinds[0] == {ConflictKind.TERMINAL_BUSY, ConflictKind.CLASS_BUSY}
    assert kinds[1] == {ConflictKind.TERMINAL_BUSY}
    assert {c.other_booking_id for c in results[2].conflicts} == {stored.booking.id}
    told = results[2].conflicts[0].message  # in the school's words, not UTC
    assert "«Урок old-1»" in told and "lesson 2" in told and "UTC" not in told, told
    assert kinds[4] == {ConflictKind.CLASS_BUSY}
    with uow_factory() as uow:
        assert [b.external_ref for b in uow.bookings.list()] == ["old-1"]


def test_bad_items_are_reported_with_their_reason_and_nothing_is_written(
    uow_factory: UowFactory, region: Region
) -> None:
    items = [
        weekly("rasp-1", 1, 6, HALL),
        weekly("rasp-2", 2, 3, Participant("kem-school-12", "term-kem-12-old", "teacher")),
        replace(weekly("rasp-3", 2, 3, IT_ROOM), external_ref=None),
        weekly("rasp-4", 2, 3, Participant("kem-school-12", "term-nowhere", "teacher")),
    ]

    results = import_timetable(uow_factory(), region.scheduler, items, now=BEFORE_YEAR)

    assert [r.code for r in results] == ["", "resource_inactive", "invalid_input", "not_found"]
    assert "retired" in results[1].message
    with uow_factory() as uow:
        assert uow.bookings.list() == []


def test_a_network_admin_imports_hosts_within_the_network_and_invites_schools_elsewhere(
    uow_factory: UowFactory, region: Region
) -> None:
    nvk_5 = Participant("nvk-school-5", "term-nvk-5", "class", "7А")
    items = [
        weekly("rasp-1", 1, 6, HALL),
        weekly("rasp-2", 2, 6, HALL, nvk_5),  # a partner of another network: invited
    ]
    hosted_elsewhere = [replace(weekly("rasp-3", 3, 6, nvk_5), host_school_id="nvk-school-5")]

    results = import_timetable(uow_factory(), region.network_admin, items, now=BEFORE_YEAR)
    refused = import_timetable(
        uow_factory(), region.network_admin, hosted_elsewhere, now=BEFORE_YEAR
    )

    assert results[1].status == ItemStatus.CREATED
    with uow_factory() as uow:
        booking = uow.bookings.get(results[1].booking_id or "")
        assert booking is not None
        assert [p.state for p in booking.participants] == [
            ParticipantState.CONFIRMED,
            ParticipantState.INVITED,
        ]
    # hosting is acting: a lesson hosted in another network is not the network admin's
    assert refused[0].status == ItemStatus.FAILED and refused[0].code == "forbidden"
