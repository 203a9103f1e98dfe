"""The outcomes of a month of lessons, its attendance and its monthly municipal report —
on memory, SQLite and PostgreSQL alike (see `world.py` for what happened in November)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine

from adapters.storage.engine import create_engine_for
from adapters.storage.schema import upgrade
from booking.access import Role
from booking.errors import Forbidden
from booking.outcomes import Cause, OutcomeKind
from booking.services.reports.attendance import (
    MonthClosed,
    PupilsPresent,
    lesson_attendance,
    record_pupils,
)
from booking.services.reports.closing import close_month, reopen_month
from booking.services.reports.monthly import monthly_report
from booking.services.reports.outcomes import refresh_outcomes
from tests.builders import a_principal, the_rcc_operator
from tests.conftest import empty_database
from tests.reports.world import (
    CANCELLED,
    DAYS,
    END,
    FAILED,
    LATE,
    MOVED,
    NOVEMBER,
    ON_TIME,
    PARTIAL,
    REPORTED,
    START,
    World,
    at,
    build_world,
    live_november,
    municipal_coordinator,
    tutor_of_41,
)
from tests.storage.region import kuzbass, occurrence_of, reservations_of


@pytest.fixture(
    scope="module",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine | None]:
    if request.param == "memory":
        yield None
        return
    with empty_database(request.param, tmp_path_factory.mktemp("db"), request) as url:
        upgrade(url)
        engine = create_engine_for(url)
        yield engine
        engine.dispose()


@pytest.fixture
def world(backend: Engine | None) -> World:
    built = build_world(backend)
    live_november(built)
    return built


def test_each_lesson_of_the_month_gets_the_outcome_of_what_happened(world: World) -> None:
    refresh_outcomes(world.uow(), world.automation, world.reports, NOVEMBER, now=REPORTED)

    lessons = {row.occurrence_id: row for row in world.reports.lessons(NOVEMBER, None)}

    assert {k: lessons[k].kind for k in lessons} == {
        ON_TIME: OutcomeKind.ON_TIME,
        LATE: OutcomeKind.LATE,
        PARTIAL: OutcomeKind.PARTIAL,
        FAILED: OutcomeKind.FAILED,
        CANCELLED: OutcomeKind.CANCELLED,
        MOVED: OutcomeKind.ON_TIME,
    }
    assert lessons[LATE].late_s == 7 * 60
    partial = {s.school_id: s for s in lessons[PARTIAL].schools}
    assert partial["kem-school-41"].kind == OutcomeKind.PARTIAL
    assert partial["kem-school-41"].missing_s == 20 * 60
    assert partial["kem-school-20"].kind == OutcomeKind.ON_TIME
    assert lessons[FAILED].cause == Cause.TERMINAL
    cancelled = lessons[CANCELLED]
    assert cancelled.cause == Cause.MUNICIPALITY
    assert cancelled.cancelled_by == "u-kem-coordinator"
    assert cancelled.reason == "карантин в 7Б"
    assert cancelled.cancel_lead_s == 8 * 24 * 3600  # cancelled 16 Nov for 24 Nov
    assert lessons[MOVED].moved_from == at(DAYS[MOVED], START)
    assert all(lessons[k].moved_from is None for k in lessons if k != MOVED)


def test_a_lesson_over_since_the_last_report_gets_its_outcome_at_the_next(
    backend: Engine | None,
) -> None:
    world = build_world(backend)
    world.held(ON_TIME, DAYS[ON_TIME])
    first_report = at(DAYS[ON_TIME], END, 2 * 3600)  # two hours after that lesson
    refresh_outcomes(world.uow(), world.automation, world.reports, NOVEMBER, now=first_report)
    world.held(LATE, DAYS[LATE], live_after_s=7 * 60)  # two days later, live at 9:07

    next_report = at(DAYS[LATE], END, 2 * 3600)
    refresh_outcomes(world.uow(), world.automation, world.reports, NOVEMBER, now=next_report)

    lessons = {row.occurrence_id: row for row in world.reports.lessons(NOVEMBER, None)}
    assert lessons[ON_TIME].kind == OutcomeKind.ON_TIME
    assert lessons[LATE].kind == OutcomeKind.LATE
    assert lessons[LATE].late_s == 7 * 60
    assert lessons[FAILED].kind == "planned"  # a week ahead still


def test_attendance_comes_from_the_room_and_from_the_tutors_record(world: World) -> None:
    refresh_outcomes(world.uow(), world.automation, world.reports, NOVEMBER, now=REPORTED)
    record_pupils(
        world.uow(),
        world.reports,
        tutor_of_41(),
        PARTIAL,
        "kem-school-41",
        PupilsPresent(18, ["Петров Иван"]),
        now=at(DAYS[PARTIAL], START, 30 * 60),  # during the lesson
    )

    seen = lesson_attendance(
        world.uow(), world.reports, the_rcc_operator(kuzbass().org("kuzbass")), PARTIAL
    )

    by_school = {row["school_id"]: row for row in seen["schools"]}
    assert by_school["kem-school-20"]["minutes_present"] == 40
    assert by_school["kem-school-41"]["minutes_present"] == 20  # redialled at 9:20
    assert by_school["kem-school-41"]["pupils_present"] == 18
    assert by_school["kem-school-41"]["pupils_absent"] == ["Петров Иван"]
    assert by_school["kem-school-41"]["recorded_by"] == "u-tutor-41"
    assert seen["classes_connected"] == 2
    assert seen["pupils"] == 18
    # the web link is the lesson's: its peak is counted once, on the host school's row
    assert by_school["kem-school-20"]["joined_by_link"] == 2
    assert by_school["kem-school-41"]["joined_by_link"] == 0
    assert seen["joined_by_link"] == 2


def test_the_monthly_report_holds_the_figures_computed_by_hand(world: World) -> None:
    record_pupils(
        world.uow(),
        world.reports,
        tutor_of_41(),
        ON_TIME,
        "kem-school-41",
        PupilsPresent(21),
        now=REPORTED,
    )

    report = monthly_report(
        world.sources, municipal_coordinator(), "kemerovo", NOVEMBER, now=REPORTED
    )

    schools = {row["school_id"]: row for row in report["schools"]}
    assert list(schools) == ["kem-school-20", "kem-school-41", "kem-school-92"]
    s20, s41, s92 = schools["kem-school-20"], schools["kem-school-41"], schools["kem-school-92"]
    assert (s20["planned"], s20["on_time"], s20["late"], s20["partial"]) == (6, 3, 1, 0)
    assert (s41["planned"], s41["on_time"], s41["late"], s41["partial"]) == (6, 2, 1, 1)
    for school in (s20, s41):
        assert school["failed_by_cause"] == {"terminal": 1}
        assert school["cancelled_by"] == {"municipality": 1}
        assert school["moved"] == 1
    assert s92["planned"] == 0 and s92["on_time_rate"] is None
    # presence: of 5 lessons × 40 min not cancelled, №20 was in the room 40+33+40+0+40 min,
    # №41 40+33+20+0+40 min
    assert s20["presence_rate"] == round(153 / 200, 4)
    assert s41["presence_rate"] == round(133 / 200, 4)
    assert s41["pupils"] == 21 and s41["recorded"] == 1
    # by link: the peaks of 10 November (3) and 17 November (2), on the host school's row
    assert (s20["joined_by_link"], s41["joined_by_link"], s92["joined_by_link"]) == (5, 0, 0)
    totals = report["totals"]
    assert (totals["planned"], totals["held"], totals["on_time"]) == (12, 8, 5)
    assert (totals["failed"], totals["cancelled"], totals["moved"]) == (2, 2, 2)
    assert totals["on_time_rate"] == 0.5  # 5 on time of 10 due
    assert totals["mean_late_s"] == 7 * 60
    assert totals["joined_by_link"] == 5
    # October: the one lesson, on time at both schools
    assert report["previous"]["on_time"] == 2
    assert report["change"]["on_time"] == 3
    assert report["change"]["planned"] == 10


def test_a_municipal_coordinator_cannot_read_another_municipalitys_report(world: World) -> None:
    insar = a_principal(Role.MUNICIPAL_COORDINATOR, kuzbass().org("insar"), "u-insar")

    with pytest.raises(Forbidden):
        monthly_report(world.sources, insar, "kemerovo", NOVEMBER, now=REPORTED)


def test_a_closed_month_stays_as_it_was_closed(world: World) -> None:
    coordinator = municipal_coordinator()
    closed = close_month(world.sources, coordinator, "kemerovo", NOVEMBER, now=REPORTED)
    # afterwards a forgotten lesson of 30 November turns up, held and recorded
    forgotten = occurrence_of(world.booking, date(2026, 11, 30), START, END, "occ-1130")
    with world.uow() as uow:
        uow.occurrences.add_all([forgotten], reservations_of(forgotten))
        uow.commit()
    world.held("occ-1130", date(2026, 11, 30))

    again = monthly_report(world.sources, coordinator, "kemerovo", NOVEMBER, now=REPORTED)

    assert again == closed
    assert again["closed"] is True and again["totals"]["planned"] == 12
    with pytest.raises(MonthClosed):
        record_pupils(
            world.uow(),
            world.reports,
            tutor_of_41(),
            ON_TIME,
            "kem-school-41",
            PupilsPresent(20),
            now=REPORTED,
        )
    rcc = the_rcc_operator(kuzbass().org("kuzbass"))
    with pytest.raises(Forbidden):
        reopen_month(world.sources, coordinator, "kemerovo", NOVEMBER)
    reopen_month(world.sources, rcc, "kemerovo", NOVEMBER)
    reopened = monthly_report(world.sources, coordinator, "kemerovo", NOVEMBER, now=REPORTED)
    assert reopened["closed"] is False and reopened["totals"]["planned"] == 14
