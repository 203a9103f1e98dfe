"""A lesson must lie within every participating school's day by its own bells: the
Kemerovo 3rd lesson (09:45 at UTC+7) is 05:45 in Moscow, before the Insar school's first
bell (08:00). Planning warns, strict planning refuses, and alternatives keep to every
school's day — on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from booking.bookings import Participant, SessionKind
from booking.conflicts import AlternativeKind
from booking.errors import BookingConflict, InvalidInput
from booking.repository import UnitOfWork
from booking.services.bookings import BookingRequest, create_booking
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]
TUESDAY = date(2026, 9, 8)
INSAR_WARNING = (
    "МБОУ «Инсарская СОШ №1»: 2026-09-08 05:45–06:25 its local time (Europe/Moscow) is"
    " outside its school day (08:00–13:50)"
)


def with_insar(lesson: int, **changes: object) -> BookingRequest:
    request = BookingRequest(
        title="Физика, 9 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Иванова Анна Петровна",
        participants=[
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            Participant("insar-school-1", "term-insar-1", "class", "9А"),
        ],
        on_date=TUESDAY,
        lesson_number=lesson,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def test_a_time_outside_a_participants_day_is_warned(
    uow_factory: UowFactory, region: Region
) -> None:
    dry_run = create_booking(
        uow_factory(), region.network_admin, with_insar(3), now=BEFORE_YEAR, dry_run=True
    )
    within = create_booking(
        uow_factory(), region.network_admin, with_insar(6), now=BEFORE_YEAR, dry_run=True
    )

    assert [w.text() for w in dry_run.warnings] == [INSAR_WARNING]
    assert within.warnings == []


def test_strict_planning_refuses_a_time_outside_a_participants_day(
    uow_factory: UowFactory, region: Region
) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_booking(
            uow_factory(), region.network_admin, with_insar(3, strict=True), now=BEFORE_YEAR
        )

    assert refused.value.message == INSAR_WARNING
    with uow_factory() as uow:
        assert uow.bookings.list() == []


def test_alternatives_keep_to_every_participants_day(
    uow_factory: UowFactory, region: Region
) -> None:
    taken = create_booking(uow_factory(), region.network_admin, with_insar(6), now=BEFORE_YEAR)
    assert taken.written

    with pytest.raises(BookingConflict) as refused:
        create_booking(
            uow_factory(), region.network_admin, with_insar(6, title="Химия"), now=BEFORE_YEAR
        )

    other_lessons = [
        a.lesson_number
        for a in refused.value.details["alternatives"]
        if a.kind == AlternativeKind.OTHER_LESSON
    ]
    # lessons 1-5 of Kemerovo are 04:00-08:10 in Moscow: only the 7th is in both days
    assert other_lessons == [7]
