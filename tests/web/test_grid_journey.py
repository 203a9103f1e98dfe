"""A network administrator books a weekly lesson across two time zones from the timetable
grid, in a real browser (Playwright driving Debian's Chromium) against the running
service: the week of the Kemerovo network with its Mordovian partner school (UTC+3) in its
own numbering on hover, weeks moved by htmx, a free cell opening the prefilled form, the
dry run's conflict with the alternatives, one of them taken, the series booked. Each page
is checked with axe-core and photographed for the README (docs/screenshots/grid*.png).

The service's clock is frozen on Friday 8 January 2027 (the winter holidays): the third
quarter begins on Monday 11 January."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from booking.access import Role
from booking.bookings import Participant, SessionKind
from booking.services import users
from booking.services.bookings import BookingRequest, create_booking
from booking.users import User
from tests.api.conftest import FrozenClock
from tests.booking.kuzbass import Region, seed_region
from tests.web.browser import PASSWORD, Served, check_page, serve
from vks.api.app import create_app
from vks.auth.passwords import Passwords
from vks.bootstrap import Container, build_container
from vks.settings import Settings

# A served app and a browser, no automation: ~10 s for the module.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

SECRET = "test-secret-key-for-the-grid-of-the-rcc-kuzbass"
NOW = datetime(2027, 1, 8, 3, 0, tzinfo=UTC)
WEEK = "2027-01-11"


def lesson(title: str, host: str, day: date, number: int, *terminals: tuple[str, str]) -> Any:
    return BookingRequest(
        title=title,
        kind=SessionKind.FULL_BROADCAST,
        host_school_id=host,
        teacher="Ведяшкина Татьяна Ивановна",
        participants=[Participant(school, terminal) for school, terminal in terminals],
        on_date=day,
        lesson_number=number,
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Region]]:
    data = tmp_path_factory.mktemp("grid")
    settings = Settings(
        data_dir=data, database_url=f"sqlite:///{data / 'grid.sqlite'}", secret_key=SECRET,
        hold_sweep_seconds=0,
    )  # fmt: skip
    container: Container = build_container(settings, clock=FrozenClock(NOW), migrate=True)
    region = seed_region(container.uow_factory)
    user = User(
        id=uuid.uuid4().hex[:16], username="net1", password_hash=Passwords().hash(PASSWORD),
        role=Role.NETWORK_ADMIN, org_id="kem-net-1", full_name="Соколова Елена Викторовна",
    )  # fmt: skip
    users.add_user(container.uow_factory(), region.rcc, user)
    insar = ("insar-school-1", "term-insar-1")
    for request in (  # a joint lesson this week; the partner's own lesson on 19 January
        lesson("История, 8 класс", "kem-school-12", date(2027, 1, 13), 7,
               ("kem-school-12", "term-kem-12"), insar),
        lesson("Мокшанский язык, 7 класс", "insar-school-1", date(2027, 1, 19), 3, insar),
    ):  # fmt: skip
        assert create_booking(container.uow_factory(), region.rcc, request, now=NOW).written
    served = serve(create_app(container=container))
    try:
        yield served, region
    finally:
        served.stop()
        container.close()


@pytest.fixture
def page(chromium: Any, service: tuple[Served, Region]) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=service[0].url, viewport={"width": 1400, "height": 900}, locale="ru-RU"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_a_network_administrator_books_a_weekly_lesson_across_two_time_zones(page: Any) -> None:
    page.goto("/login?next=/grid")
    page.get_by_label("Имя пользователя").fill("net1")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Вход").click()
    page.wait_for_url("**/grid")
    page.goto(f"/grid?week={WEEK}")

    # the joint History lesson: the 7th in Kemerovo, the partner's own 2nd in Moscow time
    partner = page.locator("tr", has=page.get_by_role("rowheader", name="Инсарская"))
    busy = partner.locator("td.busy .lesson").first
    busy.hover()
    hover = busy.get_attribute("title")
    assert "История, 8 класс" in hover
    assert "МБОУ «Инсарская СОШ №1»: 2-й урок, 09:10–09:50 (UTC+3, Москва)" in hover
    assert "МБОУ «СОШ №12»: 7-й урок, 13:10–13:50 (UTC+7, Новокузнецк)" in hover
    check_page(page, "grid")

    page.evaluate("window.notReloaded = true")  # htmx swaps the week, the page stays
    page.get_by_role("link", name="Следующая неделя").click()
    page.wait_for_url("**week=2027-01-18**")
    page.get_by_role("link", name="Предыдущая неделя").click()
    page.wait_for_url(f"**week={WEEK}**")
    assert page.evaluate("window.notReloaded") is True

    hall = page.locator("tr", has=page.get_by_role("rowheader", name="Актовый зал"))
    hall.locator('a[href*="d=2027-01-12&n=7"]').click()  # Tuesday, the 7th lesson, 13:10
    page.wait_for_url("**/grid/book?**")
    assert page.get_by_label("Номер урока").input_value() == "7"
    page.get_by_label("Название").fill("Информатика, 9 класс")
    page.get_by_label("Еженедельно до конца четверти").check()
    assert page.get_by_label("Школа 1").input_value() == "МБОУ «СОШ №20» · kem-school-20"
    page.get_by_label("Учитель").fill("Соколова Елена Викторовна")
    page.get_by_label("Школа 2").fill("инсар")  # a school of another municipality, by name
    offered = page.locator('#schools option[value$=" · insar-school-1"]')
    offered.wait_for(state="attached")
    page.get_by_label("Школа 2").fill(offered.get_attribute("value") or "")  # chosen
    page.get_by_label("Терминал 2").focus()  # its terminals, by name
    terminal = page.locator('#terminals-1 option[value$=" · term-insar-1"]')
    terminal.wait_for(state="attached")
    page.get_by_label("Терминал 2").fill(terminal.get_attribute("value") or "")
    page.get_by_label("Положение камеры 2").select_option("class")
    page.get_by_role("button", name="Проверить").click()

    conflicts = page.locator(".conflicts")
    conflicts.wait_for()
    assert "19.01.2027" in conflicts.inner_text()  # the partner's own lesson that Tuesday
    alternatives = page.locator(".alternatives button")
    assert alternatives.count() >= 1
    check_page(page, "grid-booking")
    alternatives.first.click()

    page.get_by_role("status").filter(has_text="Конфликтов нет").wait_for()
    assert page.get_by_label("Номер урока").input_value() != "7"
    page.get_by_role("button", name="Забронировать", exact=True).click()
    page.wait_for_url("**/bookings/*")
    assert "Информатика, 9 класс" in page.locator("h1").inner_text()
