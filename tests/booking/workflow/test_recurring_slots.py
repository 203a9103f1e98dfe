"""Specification: "which terminals are free every Tuesday at the 3rd lesson through the
first quarter" — one call, each terminal at its own school's time (Kemerovo's 3rd lesson
is not Insar's), free on every date or on most with the clashing dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

import pytest

from booking.bookings import Participant
from booking.errors import Forbidden, InvalidInput
from booking.services.inventory import update_terminal
from booking.services.recurring_slots import recurring_free_terminals
from tests.booking.conftest import UowFactory
from tests.booking.kuzbass import Region
from tests.booking.workflow.flows import NOW, Q1, TUESDAY, coordinator_of
from tests.builders import book_lesson, local


def test_terminals_free_every_tuesday_and_those_free_on_most(
    uow_factory: UowFactory, region: Region
) -> None:
    # СОШ №12's terminal is taken on one Tuesday at the 3rd lesson (09:45 in Kemerovo)
    book_lesson(
        uow_factory,
        region.network_admin,
        title="Педсовет",
        start=local(date(2026, 9, 15), time(9, 45)),
        end=local(date(2026, 9, 15), time(10, 25)),
        participants=[Participant("kem-school-12", "term-kem-12")],
        host_school_id="kem-school-12",
        now=NOW,
    )

    answer = recurring_free_terminals(
        uow_factory(),
        region.network_admin,
        weekday=TUESDAY,
        lesson_number=3,
        start_date=Q1[0],
        end_date=Q1[1],
    )

    free = {f.terminal_id: f for f in answer.free}
    assert set(free) == {"term-kem-20-hall", "term-kem-20-it", "term-insar-1"}
    assert free["term-kem-20-hall"].dates == 8  # the Tuesdays of 1 Sep … 20 Oct
    assert [(f.terminal_id, f.clashes) for f in answer.mostly_free] == [
        ("term-kem-12", [date(2026, 9, 15)])
    ]


def test_the_search_is_scoped_and_refuses_an_ambiguous_slot(
    uow_factory: UowFactory, region: Region
) -> None:
    coordinator = coordinator_of("kem-school-12")

    own = recurring_free_terminals(
        uow_factory(),
        coordinator,
        weekday=TUESDAY,
        lesson_number=3,
        start_date=Q1[0],
        end_date=Q1[1],
    )
    with pytest.raises(Forbidden):
        recurring_free_terminals(
            uow_factory(),
            coordinator,
            org_id="kem-net-1",
            weekday=TUESDAY,
            lesson_number=3,
            start_date=Q1[0],
            end_date=Q1[1],
        )
    with pytest.raises(InvalidInput):
        recurring_free_terminals(
            uow_factory(),
            coordinator,
            weekday=TUESDAY,
            lesson_number=3,
            start_time=time(9, 0),
            end_time=time(9, 40),
            start_date=Q1[0],
            end_date=Q1[1],
        )
    assert [f.terminal_id for f in own.free] == ["term-kem-12"]


def test_a_question_about_many_terminals_gets_the_answer_of_a_few(
    uow_factory: UowFactory, region: Region
) -> None:
    # PostgreSQL answers for hundreds of terminals from the occurrences' time index, for a
    # few from their reservations: the same pairs either way
    book_lesson(
        uow_factory,
        region.network_admin,
        title="Педсовет",
        start=local(date(2026, 9, 15), time(9, 45)),
        end=local(date(2026, 9, 15), time(10, 25)),
        participants=[Participant("kem-school-12", "term-kem-12")],
        host_school_id="kem-school-12",
        setup_minutes=10,
        now=NOW,
    )
    ranges = [
        (local(date(2026, 9, 8), time(9, 35)), local(date(2026, 9, 8), time(10, 25))),
        (local(date(2026, 9, 15), time(10, 20)), local(date(2026, 9, 15), time(11, 0))),
        (local(date(2026, 9, 15), time(8, 0)), local(date(2026, 9, 15), time(9, 40))),  # set-up
        (local(date(2026, 9, 15), time(10, 25)), local(date(2026, 9, 15), time(11, 0))),
    ]
    few = ["term-kem-12", "term-kem-20-hall"]
    many = [*few, *(f"term-elsewhere-{i}" for i in range(300))]

    with uow_factory() as uow:
        by_few = uow.occurrences.held_during(few, ranges)
        by_many = uow.occurrences.held_during(many, ranges)

    assert by_few == by_many == {"term-kem-12": {1, 2}}


PEDSOVET = (local(date(2026, 9, 15), time(9, 45)), local(date(2026, 9, 15), time(10, 25)))
SEPTEMBER_15_AT_THE_3RD_LESSON = [PEDSOVET]
ELSEWHERE = [f"term-elsewhere-{i}" for i in range(300)]  # a municipality's worth of terminals


def test_a_lesson_shared_by_two_municipalities_is_seen_from_either(
    uow_factory: UowFactory, region: Region
) -> None:
    # one lesson on a Kemerovo terminal and a Novokuznetsk one: each municipality's
    # search (its own part of the time index on PostgreSQL) sees its terminal held
    book_lesson(
        uow_factory,
        region.rcc,
        title="Межмуниципальный семинар",
        start=PEDSOVET[0],
        end=PEDSOVET[1],
        participants=[
            Participant("kem-school-12", "term-kem-12"),
            Participant("nvk-school-5", "term-nvk-5"),
        ],
        host_school_id="kem-school-12",
        now=NOW,
    )

    with uow_factory() as uow:
        kemerovo = uow.occurrences.held_during(
            ["term-kem-12", *ELSEWHERE], SEPTEMBER_15_AT_THE_3RD_LESSON, within="kuzbass/kemerovo"
        )
        novokuznetsk = uow.occurrences.held_during(
            ["term-nvk-5", *ELSEWHERE],
            SEPTEMBER_15_AT_THE_3RD_LESSON,
            within="kuzbass/novokuznetsk",
        )

    assert kemerovo == {"term-kem-12": {0}}
    assert novokuznetsk == {"term-nvk-5": {0}}


def test_a_terminal_moved_to_another_municipality_takes_its_lessons_along(
    uow_factory: UowFactory, region: Region
) -> None:
    book_lesson(
        uow_factory,
        region.network_admin,
        title="Педсовет",
        start=PEDSOVET[0],
        end=PEDSOVET[1],
        participants=[Participant("kem-school-12", "term-kem-12")],
        host_school_id="kem-school-12",
        now=NOW,
    )
    with uow_factory() as uow:
        terminal = uow.terminals.get("term-kem-12")
    assert terminal is not None

    update_terminal(
        uow_factory(),
        region.rcc,
        replace(terminal, site_id="nvk-school-5"),
        expected_version=terminal.version,
    )

    with uow_factory() as uow:
        held = uow.occurrences.held_during(
            ["term-kem-12", "term-nvk-5", *ELSEWHERE],
            SEPTEMBER_15_AT_THE_3RD_LESSON,
            within="kuzbass/novokuznetsk",
        )
    assert held == {"term-kem-12": {0}}
