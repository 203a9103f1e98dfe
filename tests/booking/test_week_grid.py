"""The timetable grid: one week of a school, a network or some terminals as lesson numbers by
each school's bells in its local time, with free, busy, past, holiday, closure and day-off
cells — on memory, SQLite and PostgreSQL.

The Kemerovo network holds Kuzbass schools (UTC+7) and the Mordovian partner «Инсарская
СОШ №1» (UTC+3): the Kemerovo 7th lesson (13:10 at UTC+7) is 09:10 in Insar, its own 2nd."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from booking.bookings import Participant, Recurrence, SessionKind
from booking.errors import Forbidden, InvalidInput
from booking.repository import UnitOfWork
from booking.schoolyear import Closure
from booking.services import schooltime
from booking.services.bookings import BookingRequest, create_booking
from booking.services.week_grid import CellState, GridRow, WeekGrid, week_grid
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]

WEEK = date(2027, 1, 11)  # Monday: the third quarter begins
TUESDAY = date(2027, 1, 12)


def book(
    uow_factory: UowFactory,
    region: Region,
    number: int,
    *,
    on: date = TUESDAY,
    participants: list[Participant] | None = None,
    weekly: bool = False,
) -> None:
    request = BookingRequest(
        title="Информатика, 9 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Соколова Елена Викторовна",
        participants=participants
        or [
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            Participant("insar-school-1", "term-insar-1", "class", "9А"),
        ],
        on_date=None if weekly else on,
        lesson_number=None if weekly else number,
        recurrence=Recurrence([on.weekday()], WEEK, date(2027, 3, 21), lesson_number=number)
        if weekly
        else None,
    )
    assert create_booking(uow_factory(), region.network_admin, request, now=BEFORE_YEAR).written


def row(grid: WeekGrid, terminal_id: str) -> GridRow:
    [found] = [r for r in grid.rows if r.terminal_ids == (terminal_id,)]
    return found


def states(grid_row: GridRow, day: date) -> list[str]:
    [found] = [d for d in grid_row.days if d.local_date == day]
    return [str(c.state) for c in found.cells]


def test_a_lesson_hosted_in_kemerovo_shows_in_the_insar_schools_own_numbering(
    uow_factory: UowFactory, region: Region
) -> None:
    book(uow_factory, region, 7)

    grid = week_grid(uow_factory(), region.network_admin, network_id="kem-net-1", week=TUESDAY)

    assert grid.week == WEEK and grid.days[-1] == date(2027, 1, 17)
    assert grid.lesson_numbers == (1, 2, 3, 4, 5, 6, 7)
    hall, insar = row(grid, "term-kem-20-hall"), row(grid, "term-insar-1")
    assert states(hall, TUESDAY) == ["free"] * 6 + ["busy"]
    # 13:10–13:50 in Kemerovo is 09:10–09:50 in Insar, its set-up from 09:00: Insar's 2nd and
    # 3rd lessons (08:50–09:30, 09:45–10:25 with its set-up from 09:35) are taken
    assert states(insar, TUESDAY) == ["free", "busy", "busy", "free", "free", "free", "free"]
    assert insar.time_zone == "Europe/Moscow"
    second = insar.days[1].cells[1]
    assert second.local_start.strftime("%H:%M %z") == "08:50 +0300"
    [lesson] = second.lessons
    assert (lesson.title, lesson.teacher) == ("Информатика, 9 класс", "Соколова Елена Викторовна")
    kemerovo, partner = lesson.schools
    assert (kemerovo.school_id, kemerovo.lesson_number) == ("kem-school-20", 7)
    assert kemerovo.local_start.strftime("%H:%M %z") == "13:10 +0700"
    assert (partner.school_id, partner.lesson_number) == ("insar-school-1", 2)
    assert partner.local_start.strftime("%H:%M %z") == "09:10 +0300"
    assert lesson.terminal_ids == ("term-insar-1",)


def test_the_rows_are_the_networks_active_terminals_by_school(
    uow_factory: UowFactory, region: Region
) -> None:
    grid = week_grid(uow_factory(), region.network_admin, network_id="kem-net-1", week=WEEK)

    assert [(r.school_id, r.terminal_name) for r in grid.rows] == [
        ("insar-school-1", "Кабинет 5"),
        ("kem-school-12", "Кабинет 12"),  # its inactive «Старый кодек» is left out
        ("kem-school-20", "Актовый зал"),
        ("kem-school-20", "Кабинет информатики"),
    ]
    assert (grid.previous_week, grid.next_week) == (date(2027, 1, 4), date(2027, 1, 18))


def test_holidays_closures_and_sunday_are_days_without_cells(
    uow_factory: UowFactory, region: Region
) -> None:
    schooltime.add_closure(
        uow_factory(),
        region.network_admin,
        Closure("q-12", "kem-school-12", date(2027, 2, 24), date(2027, 2, 24), "карантин"),
    )

    grid = week_grid(uow_factory(), region.local_coordinator, school_id="kem-school-12",
                     week=date(2027, 2, 22))  # fmt: skip

    [twelve] = grid.rows
    assert [(d.local_date.day, d.state and str(d.state)) for d in twelve.days] == [
        (22, None),
        (23, "holiday"),  # Defender of the Fatherland Day
        (24, "closure"),
        (25, None),
        (26, None),
        (27, None),  # Saturday: a six-day study week
        (28, "day_off"),
    ]
    assert twelve.days[2].reason == "closure of kem-school-12: карантин"
    assert twelve.days[6].reason == "Sunday is a day off (six-day study week)"
    assert twelve.days[1].cells == () and len(twelve.days[0].cells) == 7


def test_lessons_whose_set_up_has_begun_are_past_in_each_schools_own_clock(
    uow_factory: UowFactory, region: Region
) -> None:
    now = datetime(2027, 1, 11, 3, 0, tzinfo=UTC)  # 10:00 in Kemerovo, 06:00 in Insar

    grid = week_grid(
        uow_factory(), region.network_admin, network_id="kem-net-1", week=WEEK, now=now
    )

    # the 3rd lesson (09:45) has begun, the 4th's set-up (from 10:30) has not
    assert states(row(grid, "term-kem-12"), WEEK)[:4] == ["past", "past", "past", "free"]
    assert states(row(grid, "term-insar-1"), WEEK) == ["free"] * 7


def test_a_schools_row_is_free_while_one_of_its_terminals_is(
    uow_factory: UowFactory, region: Region
) -> None:
    book(uow_factory, region, 3, weekly=True)  # the hall and Insar, every Tuesday

    schools = week_grid(
        uow_factory(), region.network_admin, school_id="kem-school-20", week=WEEK, by_school=True
    )
    hall = week_grid(
        uow_factory(), region.network_admin, terminal_ids=["term-kem-20-hall"], week=WEEK
    )

    [school20] = schools.rows
    assert school20.terminal_ids == ("term-kem-20-hall", "term-kem-20-it")
    third = school20.days[1].cells[2]
    assert (third.state, third.free_terminal_ids) == (CellState.FREE, ("term-kem-20-it",))
    assert [lesson.terminal_ids for lesson in third.lessons] == [("term-kem-20-hall",)]
    assert states(hall.rows[0], TUESDAY)[2] == "busy"
    assert (hall.scope_kind, hall.scope_id) == ("terminals", "term-kem-20-hall")


def test_another_networks_grid_is_not_readable(uow_factory: UowFactory, region: Region) -> None:
    with pytest.raises(Forbidden, match="outside the scope"):
        week_grid(uow_factory(), region.other_network_admin, network_id="kem-net-1", week=WEEK)
    with pytest.raises(Forbidden, match="outside the scope"):
        week_grid(uow_factory(), region.local_coordinator, school_id="nvk-school-5", week=WEEK)
    with pytest.raises(Forbidden, match="outside the scope"):
        week_grid(uow_factory(), region.local_coordinator, terminal_ids=["term-nvk-5"], week=WEEK)


def test_a_grid_needs_one_scope_of_the_right_kind(uow_factory: UowFactory, region: Region) -> None:
    with pytest.raises(InvalidInput, match="one of a school, a network or terminals"):
        week_grid(uow_factory(), region.rcc, week=WEEK)
    with pytest.raises(InvalidInput, match="one of a school, a network or terminals"):
        week_grid(uow_factory(), region.rcc, school_id="kem-school-12", network_id="kem-net-1",
                  week=WEEK)  # fmt: skip
    with pytest.raises(InvalidInput, match="is not a network"):
        week_grid(uow_factory(), region.rcc, network_id="kem-school-12", week=WEEK)
    with pytest.raises(InvalidInput, match="is not a school: its terminals have no lessons"):
        week_grid(uow_factory(), region.rcc, terminal_ids=["term-rcc-1"], week=WEEK)
