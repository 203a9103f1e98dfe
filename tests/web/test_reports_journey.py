"""The Kemerovo municipal coordinator reads September's report in a real browser
(Playwright driving Debian's Chromium) and closes the month from the page; the page is
checked with axe-core and photographed for the README (docs/screenshots/reports.png).

The demo region on a fresh SQLite database; two lessons were booked for 15 September and
the service's clock is frozen on 2 October 2026, the month over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from booking.bookings import Participant, SessionKind
from booking.services.bookings import BookingRequest, create_booking
from tests.api.conftest import BEFORE_YEAR, RCC, FrozenClock
from tests.web.browser import Served, check_page, serve
from vks.api.app import create_app
from vks.auth.passwords import Passwords
from vks.bootstrap import build_container
from vks.demo import REGION_FILE
from vks.demo.users import PASSWORD, create_demo_users
from vks.importing.loader import import_files
from vks.settings import Settings

# A served app and a browser, no automation: ~8 s for the module.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

SECRET = "test-secret-key-for-the-reports-of-the-rcc-kuzbass"
AFTER_SEPTEMBER = datetime(2026, 10, 2, 3, 0, tzinfo=UTC)
SCHOOL_20 = Participant("kem-school-20", "term-kem-20")
SCHOOL_12 = Participant("kem-school-12", "term-kem-12")


def lesson(title: str, number: int, *participants: Participant) -> BookingRequest:
    return BookingRequest(
        title=title, kind=SessionKind.FULL_BROADCAST, host_school_id="kem-school-20",
        teacher="Иванова Мария Петровна", participants=list(participants),
        on_date=date(2026, 9, 15), lesson_number=number,
    )  # fmt: skip


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("reports")
    settings = Settings(
        data_dir=data, database_url=f"sqlite:///{data / 'reports.sqlite'}", secret_key=SECRET,
        hold_sweep_seconds=0,
    )  # fmt: skip
    clock = FrozenClock(BEFORE_YEAR)
    container = build_container(settings, clock=clock, migrate=True)
    import_files([REGION_FILE], container.uow_factory, now=BEFORE_YEAR, policy=container.policy)
    create_demo_users(container.uow_factory, RCC, Passwords())
    for request in (
        lesson("Физика, 10 класс", 3, SCHOOL_20, SCHOOL_12),
        lesson("Астрономия, 11 класс", 5, SCHOOL_20, SCHOOL_12),
    ):
        assert create_booking(container.uow_factory(), RCC, request, now=BEFORE_YEAR).written
    clock.at = AFTER_SEPTEMBER
    served = serve(create_app(container=container))
    try:
        yield served
    finally:
        served.stop()
        container.close()


@pytest.fixture
def page(chromium: Any, service: Served) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=service.url, viewport={"width": 1400, "height": 900}, locale="ru-RU"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_the_municipal_coordinator_reads_septembers_report_and_closes_the_month(
    page: Any,
) -> None:
    page.goto("/login?next=/reports")
    page.get_by_label("Имя пользователя").fill("kem-coord")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Вход").click()
    page.wait_for_url("**/reports")

    main = page.locator("main")
    assert "Ежемесячный отчёт: Кемеровский городской округ, сентябрь 2026" in main.inner_text()
    assert page.locator("figure.chart svg").count() == 3
    assert page.get_by_role("link", name="XLSX").get_attribute("href") == (
        "/reports/monthly/kemerovo/2026-09.xlsx"
    )
    check_page(page, "reports")

    page.get_by_role("button", name="Закрыть месяц").click()
    page.wait_for_url("**/reports?municipality=kemerovo&month=2026-09")

    assert "Месяц закрыт" in main.inner_text()
    assert page.get_by_role("button", name="Закрыть месяц").count() == 0
