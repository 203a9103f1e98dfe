"""The base school's quarterly report and the half-year service quality, over the same
October and November of physics lessons (memory: these reports read the same stored rows
as the monthly one, whose storage specs run on every backend)."""

from __future__ import annotations

import io

import openpyxl
import pytest

from adapters.export.xlsx import workbook
from booking.access import Role
from booking.errors import Forbidden, InvalidInput, NotFound
from booking.services.reports.quality import quality_report
from booking.services.reports.quarterly import quarterly_report
from booking.services.reports.tables import tables_of
from tests.builders import TEACHER, a_principal, the_rcc_operator
from tests.reports.world import REPORTED, World, build_world, live_november, municipal_coordinator
from tests.storage.region import kuzbass


@pytest.fixture(scope="module")
def world() -> World:
    built = build_world(None)
    live_november(built)
    return built


def test_the_base_school_reports_per_teacher_and_course_the_service_it_gave(world: World) -> None:
    network_admin = a_principal(Role.NETWORK_ADMIN, kuzbass().org("kem-net-1"), "u-net")

    report = quarterly_report(
        world.sources, network_admin, "kem-school-20", "2026-Q4", now=REPORTED
    )

    assert report["months"] == ["2026-10", "2026-11", "2026-12"]
    [course] = report["courses"]
    assert (course["teacher"], course["course"]) == (TEACHER, "Физика")
    assert course["lessons_given"] == 5  # 22 Oct; 10, 12, 17 and the moved 26→27 Nov
    assert course["schools_served"] == 1  # «СОШ №41»
    # the partner school's side: 7 planned, on time 22 Oct, 10 Nov, 27 Nov
    assert (course["planned"], course["on_time"], course["partial"]) == (7, 3, 1)
    assert course["failed_by_cause"] == {"terminal": 1}
    book = openpyxl.load_workbook(io.BytesIO(workbook(tables_of(report))))
    assert book["Курсы"]["A4"].value == TEACHER
    assert book["Курсы"]["A1"].value == (
        "Отчёт базовой школы: МБОУ «СОШ №20», IV квартал 2026"
    )


def test_the_school_quarter_counts_only_its_own_dates_not_the_october_before_the_holidays(
    world: World,
) -> None:
    network_admin = a_principal(Role.NETWORK_ADMIN, kuzbass().org("kem-net-1"), "u-net")

    second = quarterly_report(
        world.sources, network_admin, "kem-school-20", "2026-2027-Q2", now=REPORTED
    )
    first = quarterly_report(
        world.sources, network_admin, "kem-school-20", "2026-2027-Q1", now=REPORTED
    )

    # the 2nd quarter runs 05.11–28.12: November's lessons, not the one of 22 October
    assert second["months"] == ["2026-11", "2026-12"]
    [course] = second["courses"]
    assert course["lessons_given"] == 4  # 10, 12, 17 and the moved 26→27 November
    assert (course["planned"], course["on_time"]) == (6, 2)
    assert second["period"] == "2-я четверть 2026/27 учебного года (05.11.2026–28.12.2026)"
    assert tables_of(second)[0].title == (
        "Отчёт базовой школы: МБОУ «СОШ №20»,"
        " 2-я четверть 2026/27 учебного года (05.11.2026–28.12.2026)"
    )
    [october] = first["courses"]
    assert first["months"] == ["2026-09", "2026-10"]
    assert (october["lessons_given"], october["planned"]) == (1, 1)


def test_an_academic_half_year_is_its_two_quarters_and_an_unknown_year_is_not_found(
    world: World,
) -> None:
    rcc = the_rcc_operator(kuzbass().org("kuzbass"))

    report = quality_report(world.sources, rcc, "2026-2027-H1", now=REPORTED)

    assert report["months"] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    assert report["period"] == "1-е полугодие 2026/27 учебного года"
    kemerovo = {r["org_id"]: r for r in report["municipalities"]}["kemerovo"]
    assert kemerovo["planned"] == 14 and kemerovo["held"] == 10  # as the calendar's H2
    with pytest.raises(NotFound):
        quality_report(world.sources, rcc, "2031-2032-H1", now=REPORTED)


def test_the_half_year_quality_is_per_municipality_and_network(world: World) -> None:
    rcc = the_rcc_operator(kuzbass().org("kuzbass"))

    report = quality_report(world.sources, rcc, "2026-H2", now=REPORTED)

    municipalities = {r["org_id"]: r for r in report["municipalities"]}
    kemerovo = municipalities["kemerovo"]
    assert kemerovo["planned"] == 14 and kemerovo["held"] == 10
    assert kemerovo["failure_rate"] == round(2 / 12, 4)
    assert kemerovo["failure_rate_by_cause"] == {"terminal": round(2 / 12, 4)}
    assert kemerovo["mean_late_s"] == 7 * 60
    assert municipalities["insar"]["planned"] == 0
    assert [n["org_id"] for n in report["networks"]] == ["kem-net-1"]
    assert report["peak_lessons"] == 1


def test_the_half_year_report_is_the_rccs_and_periods_are_checked(world: World) -> None:
    with pytest.raises(Forbidden):
        quality_report(world.sources, municipal_coordinator(), "2026-H2", now=REPORTED)
    with pytest.raises(InvalidInput):
        quality_report(
            world.sources, the_rcc_operator(kuzbass().org("kuzbass")), "2026-H3", now=REPORTED
        )
