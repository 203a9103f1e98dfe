"""The reports pages as HTTP (issue 16): the monthly municipal report with its Russian
headers, inline charts and files; closing and reopening a month with the page's forms;
the region overview for the RCC; the base school's quarterly report — each scoped as
`/api/v1/reports/…` is, on the demo region (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import FrozenClock
from tests.web.conftest import csrf_of
from tests.web.test_pages import CHEMISTRY, PHYSICS

AFTER_SEPTEMBER = datetime(2026, 10, 2, 3, 0, tzinfo=UTC)  # 10:00 in Kemerovo, 2 October

Auth = Callable[[str], dict[str, str]]
AsUser = Callable[[str], TestClient]


@pytest.fixture
def september(client: TestClient, auth: Auth, clock: FrozenClock) -> None:
    """Physics (Kemerovo, SOSh No. 20 hosting No. 12) and chemistry (Novokuznetsk) were
    booked for 15 September; it is now 2 October, the month is over."""
    for owner, body in (("net20", PHYSICS), ("net5", CHEMISTRY)):
        answer = client.post("/api/v1/bookings", json=body, headers=auth(owner))
        assert answer.status_code == 201, answer.text
    clock.at = AFTER_SEPTEMBER


def test_the_municipal_coordinator_reads_the_monthly_report_with_charts_and_files(
    as_user: AsUser, september: None
) -> None:
    browser = as_user("kem-coord")

    page = browser.get("/reports")

    assert page.status_code == 200
    assert 'href="/reports"' in page.text  # the navigation names the page
    assert "Ежемесячный отчёт: Кемеровский городской округ, сентябрь 2026" in page.text
    assert "МБОУ «СОШ №12»" in page.text and "Присутствие класса" in page.text
    assert "Подключились по ссылке" in page.text  # people in the rooms by the web link
    assert "Итого" in page.text
    assert page.text.count("<svg") == 3  # schools, weeks, causes
    assert "Присутствие класса по школам" in page.text
    assert 'href="/reports/monthly/kemerovo/2026-09.xlsx"' in page.text
    assert "Закрыть месяц" in page.text and "Открыть месяц заново" not in page.text
    compared = page.text.split("Сравнение с предыдущим месяцем")[1]
    on_time = compared.split("<td>Доля вовремя</td>")[1].split("</tr>")[0]
    assert "0,0\xa0%" in on_time  # the rates of the comparison are shares, not counts

    xlsx = browser.get("/reports/monthly/kemerovo/2026-09.xlsx")
    csv = browser.get("/reports/monthly/kemerovo/2026-09.csv")

    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "spreadsheetml" in xlsx.headers["content-type"]
    assert 'filename="monthly-kemerovo-2026-09.xlsx"' in xlsx.headers["content-disposition"]
    assert csv.status_code == 200 and "Школа" in csv.text and "МБОУ «СОШ №12»" in csv.text


def test_a_municipal_coordinator_cannot_see_another_municipalitys_report(
    as_user: AsUser, september: None
) -> None:
    browser = as_user("kem-coord")

    page = browser.get("/reports?municipality=novokuznetsk&month=2026-09")
    spreadsheet = browser.get("/reports/monthly/novokuznetsk/2026-09.xlsx")
    choices = browser.get("/reports?month=2026-09").text

    assert page.status_code == 403 and spreadsheet.status_code == 403
    assert "СОШ №5" not in page.text and "Traceback" not in page.text
    assert 'value="novokuznetsk"' not in choices and 'value="kemerovo"' in choices
    assert '<option value="2026-09" selected>сентябрь 2026</option>' in choices  # not the
    assert 'type="month"' not in choices  # browser's locale: the page names the months


def test_a_viewer_gets_a_403_page_naming_the_roles_that_read_reports(
    as_user: AsUser, september: None
) -> None:
    browser = as_user("viewer")

    refused = browser.get("/reports")
    today = browser.get("/today").text

    assert refused.status_code == 403
    assert "оператор РКЦ" in refused.text and "муниципальный координатор" in refused.text
    assert 'href="/reports"' not in today  # no menu entry for what they may not open


def test_the_coordinator_closes_the_month_and_the_rcc_reopens_it(
    as_user: AsUser, september: None
) -> None:
    coordinator = as_user("kem-coord")
    page = coordinator.get("/reports?municipality=kemerovo&month=2026-09")

    forged = coordinator.post("/reports/monthly/kemerovo/2026-09/close", data={})
    closed = coordinator.post(
        "/reports/monthly/kemerovo/2026-09/close", data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )  # fmt: skip

    assert forged.status_code == 403
    assert closed.status_code == 303
    assert closed.headers["location"] == "/reports?municipality=kemerovo&month=2026-09"
    after = coordinator.get(closed.headers["location"]).text
    assert "Месяц закрыт" in after
    assert "Закрыть месяц" not in after and "Открыть месяц заново" not in after
    again = coordinator.post(
        "/reports/monthly/kemerovo/2026-09/close", data={"csrf_token": csrf_of(after)}
    )
    assert again.status_code == 409 and "Traceback" not in again.text

    rcc = as_user("rcc")
    seen = rcc.get("/reports?municipality=kemerovo&month=2026-09").text
    assert "Открыть месяц заново" in seen
    reopened = rcc.post(
        "/reports/monthly/kemerovo/2026-09/reopen", data={"csrf_token": csrf_of(seen)}
    )
    assert reopened.status_code == 200
    assert "Месяц не закрыт" in reopened.text


def test_the_rcc_reads_the_region_overview_and_others_are_refused(
    as_user: AsUser, september: None
) -> None:
    rcc = as_user("rcc")

    overview = rcc.get("/reports/region?month=2026-09")
    csv = rcc.get("/reports/region/2026-09.csv")

    assert overview.status_code == 200
    assert "Обзор региона за сентябрь 2026" in overview.text
    assert "Кемеровский городской округ" in overview.text
    assert "Новокузнецкий городской округ" in overview.text
    assert "Терминалы с наименьшей доступностью в дни уроков" in overview.text
    assert overview.text.count("<svg") == 3
    assert csv.status_code == 200 and "Муниципалитет" in csv.text

    coordinator = as_user("kem-coord")
    assert coordinator.get("/reports/region?month=2026-09").status_code == 403
    assert 'href="/reports/region"' not in coordinator.get("/reports").text


def test_the_quarterly_report_of_the_base_school_lists_its_teachers_and_courses(
    as_user: AsUser, september: None
) -> None:
    browser = as_user("kem-coord")

    page = browser.get("/reports/quarterly?school=kem-school-20&quarter=2026-Q3")
    xlsx = browser.get("/reports/quarterly/kem-school-20/2026-Q3.xlsx")
    foreign = browser.get("/reports/quarterly?school=nvk-school-5&quarter=2026-Q3")
    malformed = browser.get("/reports/quarterly?school=kem-school-20&quarter=2026-Q5")

    assert page.status_code == 200
    assert "Отчёт базовой школы за четверть" in page.text  # the calendar's, asked by link
    assert "МБОУ «СОШ №20», III квартал 2026" in page.text
    assert "Иванова Мария Петровна" in page.text and "Преподаватель" in page.text
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert foreign.status_code == 403 and "Кузнецов" not in foreign.text
    assert malformed.status_code == 422 and "Traceback" not in malformed.text
    choices = page.text.split('id="f-school"', 1)[1].split("</select>", 1)[0]
    assert 'value="kem-school-20"' in choices  # the base school of network kem-net-20
    assert 'value="kem-school-12"' not in choices and 'value="nvk-school-5"' not in choices


def test_a_school_coordinator_has_no_municipal_report_but_their_schools_quarterly_one(
    as_user: AsUser, september: None
) -> None:
    browser = as_user("school12")

    monthly = browser.get("/reports")
    quarterly = browser.get("/reports/quarterly")  # 2 October: the 1st school quarter runs

    assert monthly.status_code == 200
    assert "В вашей зоне ответственности нет муниципалитетов." in monthly.text
    assert "<svg" not in monthly.text and "Закрыть месяц" not in monthly.text
    assert quarterly.status_code == 200
    assert (
        "МБОУ «СОШ №12», 1-я четверть 2026/27 учебного года (01.09.2026–24.10.2026)"
        in quarterly.text
    )
    assert 'href="/reports/quarterly/kem-school-12/2026-2027-Q1.csv"' in quarterly.text
    choices = quarterly.text.split('id="f-quarter"', 1)[1].split("</select>", 1)[0]
    assert '<option value="2026-2027-Q1" selected>1-я четверть 2026/27' in choices
    assert choices.count("<option") == 4  # the year's four quarters
