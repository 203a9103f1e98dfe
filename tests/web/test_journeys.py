"""Journeys in a real browser (Playwright driving Debian's Chromium) through the web
interface of a running service: the RCC operator watches a lesson go live on the Today
board without reloading, takes a terminal offline through the simulators' fault API and
sees the lesson flagged; a school coordinator cannot see another network's bookings; a
viewer has no operator buttons; signing in and out, and a forged form refused. Every page
visited is checked with axe-core (no serious or critical violation) and photographed for
the README (docs/screenshots/)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from booking.access import Principal, Role
from booking.bookings import Participant
from tests.automation.timing import fast_config as fast_automation
from tests.builders import book_lesson
from tests.monitor.conftest import fast_config as fast_monitor
from tests.web.browser import (
    PASSWORD,
    Region,
    Served,
    check_page,
    serve,
    start_region,
)
from vks.api.app import create_app
from vks.bootstrap import Container, build_container
from vks.jobs.assembly import attach_automation
from vks.monitor.wiring import attach_monitor
from vks.settings import Settings

# End to end (a served app, its automation and monitor, simulators, a browser): ~45 s for
# the module, most of it the lesson waiting for its start and the monitor for its polls.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

SECRET = "test-secret-key-for-the-web-interface-of-the-rcc"
KEMEROVO = ZoneInfo("Asia/Novokuznetsk")  # the board shows the day of the viewer's region
SCHOOL_20 = Participant("kem-school-20", "term-kem-20", "teacher", "8А")
SCHOOL_20_B = Participant("kem-school-20", "term-kem-20-b", "teacher", "8В")  # no other's
SCHOOL_12 = Participant("kem-school-12", "term-kem-12", "board", "8Б")
SCHOOL_41 = Participant("kem-school-41", "term-kem-41", "teacher", "9В")
COORDINATOR_12 = Principal(
    "school12", Role.LOCAL_COORDINATOR, "kem-school-12", "kuzbass/kemerovo/kem-net-1/kem-school-12"
)
NETWORK_41 = Principal("net41", Role.NETWORK_ADMIN, "kem-net-41", "kuzbass/kemerovo/kem-net-41")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Region, Container]]:
    """The service with its automation and monitor, on a fresh SQLite database, once."""
    data = tmp_path_factory.mktemp("web")
    settings = Settings(
        data_dir=data, database_url=f"sqlite:///{data / 'web.sqlite'}", secret_key=SECRET,
        hold_sweep_seconds=0, web_poll_seconds=0.2,
    )  # fmt: skip
    container = build_container(settings, migrate=True)
    region = start_region(container.uow_factory)
    stop_automation = attach_automation(container, fast_automation())
    app = create_app(container=container)
    stop_monitor = attach_monitor(app, container, config=fast_monitor())
    served = serve(app)
    try:
        yield served, region, container
    finally:
        served.stop()
        stop_monitor()
        stop_automation()
        region.sims.host.stop()
        container.close()


@pytest.fixture
def page(chromium: Any, service: tuple[Served, Region, Container]) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=service[0].url, viewport={"width": 1280, "height": 800}, locale="ru-RU"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Имя пользователя").fill(username)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Вход").click()
    page.wait_for_url("**/today")


def later_today(hours: int) -> datetime:
    """`hours` from now, but still today in Kemerovo, whose day the board shows: at the
    latest 23:15 there (a lesson of 40 minutes ends before midnight; late in the evening
    that start is already past, and a past lesson of the day stands on the board too)."""
    now = datetime.now(UTC)
    last = datetime.combine(now.astimezone(KEMEROVO).date(), time(23, 15), KEMEROVO)
    return min(now + timedelta(hours=hours), last)


def book(container: Container, region: Region, title: str, start: datetime, minutes: int,
         participants: list[Participant], host: str = "kem-school-20",
         by: Principal | None = None) -> str:  # fmt: skip
    _, occurrence = book_lesson(
        container.uow_factory, by or region.rcc, title=title, start=start,
        end=start + timedelta(minutes=minutes), participants=participants, host_school_id=host,
    )  # fmt: skip
    return occurrence


def test_signing_in_and_out_and_a_forged_form_is_refused(page: Any) -> None:
    page.goto("/today")
    page.wait_for_url("**/login?next=%2Ftoday")
    check_page(page, "login")

    page.get_by_label("Имя пользователя").fill("rcc")
    page.get_by_label("Пароль").fill("не тот пароль")
    page.get_by_role("button", name="Вход").click()
    assert page.get_by_role("alert").inner_text() == (
        "Неизвестное имя пользователя или неверный пароль."
    )

    sign_in(page, "rcc")
    forged = page.request.post("/logout", form={"csrf_token": "0" * 64})
    assert forged.status == 403 and "Форма устарела" in forged.text()
    page.goto("/today")  # still signed in: the forged logout did nothing
    assert page.get_by_role("button", name="Выйти").is_visible()

    page.get_by_role("button", name="Выйти").click()
    page.wait_for_url("**/login")
    page.goto("/equipment")
    page.wait_for_url("**/login?next=%2Fequipment")


def test_the_operator_watches_a_lesson_go_live_and_a_terminal_fail_without_reloading(
    page: Any, service: tuple[Served, Region, Container]
) -> None:
    _, region, container = service
    now = datetime.now(UTC)
    live = book(container, region, "Физика, 8 класс: законы Ньютона", now + timedelta(seconds=6),
                20, [SCHOOL_20, SCHOOL_12])  # fmt: skip
    later = book(container, region, "Геометрия, 8 класс", now + timedelta(hours=2), 40,
                 [SCHOOL_20, SCHOOL_12])  # fmt: skip
    sign_in(page, "rcc")
    page.evaluate("window.notReloaded = true")
    row = page.locator(f"#occ-{live}")
    assert row.get_attribute("data-state") in ("scheduled", "checking", "preparing")
    check_page(page, "today-operator")

    page.wait_for_function(
        f"document.querySelector('#occ-{live}').dataset.state === 'live'", timeout=30_000
    )
    assert row.locator(".state").inner_text() == "идёт"
    httpx.put(f"{region.control}/term-kem-12/faults", json={"offline": True}).raise_for_status()
    flagged = page.locator(f"#occ-{later} [data-at-risk]")
    flagged.wait_for(timeout=20_000)

    said = flagged.inner_text()
    assert "терминал term-kem-12 «Кабинет 12», МБОУ «СОШ №12» — не работает" in said
    assert " is " not in said and "health" not in said  # the monitor's English stays in the API
    assert page.evaluate("window.notReloaded") is True  # the rows changed in place
    check_page(page, "today-live")
    httpx.delete(f"{region.control}/term-kem-12/faults").raise_for_status()

    page.goto(f"/occurrences/{live}")
    assert page.get_by_role("cell", name="оператор").count() == 0  # no hand operation here
    assert page.get_by_role("cell", name="запуск").count() >= 1  # the history's steps in Russian
    check_page(page, "occurrence")
    page.goto("/equipment")
    check_page(page, "equipment")
    page.goto("/equipment/terminals/term-kem-12")
    check_page(page, "terminal")


def test_a_school_coordinator_cannot_see_another_networks_bookings(
    page: Any, service: tuple[Served, Region, Container]
) -> None:
    _, region, container = service
    start = datetime.now(UTC) + timedelta(days=1)
    own = book(container, region, "Информатика, 9 класс", start, 40, [SCHOOL_12],
               host="kem-school-12", by=COORDINATOR_12)  # fmt: skip
    foreign = book(container, region, "Химия, 9 класс", start + timedelta(hours=1), 40,
                   [SCHOOL_41], host="kem-school-41", by=NETWORK_41)  # fmt: skip
    sign_in(page, "school12")

    page.goto("/bookings")
    listing = page.locator("main").inner_text()
    assert "Информатика, 9 класс" in listing and "Химия, 9 класс" not in listing
    check_page(page, "bookings")
    page.get_by_role("link", name="Информатика, 9 класс").click()
    check_page(page, "booking")
    foreign_booking = page.request.get(f"/occurrences/{foreign}")
    assert foreign_booking.status == 403 and "Химия" not in foreign_booking.text()
    page.goto(f"/occurrences/{foreign}")
    assert page.get_by_role("heading", level=1).inner_text() == "Нет доступа"
    check_page(page, "forbidden")
    assert own


def test_a_viewer_sees_the_board_without_operator_buttons(
    page: Any, service: tuple[Served, Region, Container]
) -> None:
    _, region, container = service
    occurrence = book(container, region, "Биология, 8 класс", later_today(3), 40,
                      [SCHOOL_20_B])  # fmt: skip
    sign_in(page, "viewer")

    row = page.locator(f"#occ-{occurrence}")

    assert row.is_visible()
    assert page.get_by_role("button", name="Начать сейчас").count() == 0
    assert page.get_by_role("button", name="Завершить").count() == 0
    assert page.get_by_role("link", name="Администрирование").count() == 0
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Today")
    check_page(page, "today-viewer-en")


@pytest.mark.parametrize("width", [768, 390], ids=["tablet", "phone"])
def test_the_day_in_numbers_fits_a_tablet_and_scrolls_in_its_own_box_on_a_phone(
    page: Any, service: tuple[Served, Region, Container], width: int
) -> None:
    _, region, container = service
    start = datetime.now(UTC) + timedelta(hours=4 if width == 768 else 5)
    book(container, region, "Алгебра, 9 класс", start, 40,
         [SCHOOL_20, SCHOOL_41])  # fmt: skip
    sign_in(page, "rcc")  # the region: a row per municipality under the scope's own
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/today")

    sizes = page.evaluate(
        """() => { const box = document.querySelector('#board-summary .table-wrap');
        const rows = document.querySelector('#board').parentElement;
        return {page: document.documentElement.scrollWidth, screen: window.innerWidth,
                box: box.clientWidth, table: box.scrollWidth,
                rows_box: rows.clientWidth, rows: rows.scrollWidth}; }"""
    )

    assert sizes["page"] <= sizes["screen"]  # nothing makes the page wider than the screen
    if width >= 768:
        assert sizes["table"] <= sizes["box"]  # a tablet in portrait sees every column
        assert sizes["rows"] <= sizes["rows_box"]  # and the lessons' buttons
    check_page(page, f"today-{width}")
