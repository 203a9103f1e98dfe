"""A request's journey in a real browser (Playwright driving Debian's Chromium) on the
demo region served by uvicorn: the school's coordinator files a request from the network's
published timetable and submits it; the RCC (who may also combine) cross-checks it,
assembles and submits the combined request, reviews its lesson (free on every date) and
approves it; the coordinator's inbox tells of the decision. A returned request: the
network administrator sends it back with a comment, the coordinator reads it, corrects the
lesson's pupils and resubmits, and the network sees it waiting again. Each page is checked
with axe-core and the review photographed for the README (docs/screenshots/requests.png,
requests-returned.png)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest

from booking.bookings import Recurrence, SessionKind
from booking.services.workflow.offers import OfferInput, create_offer
from booking.services.workflow.publishing import publish_timetable
from booking.workflow.store import WorkflowUnitOfWork
from tests.api.conftest import BEFORE_YEAR, RCC, FrozenClock
from tests.web.browser import Served, check_page, serve
from vks.api.app import create_app
from vks.auth.passwords import Passwords
from vks.bootstrap import build_container
from vks.demo import REGION_FILE
from vks.demo.users import PASSWORD, create_demo_users
from vks.importing.loader import import_files
from vks.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

SECRET = "test-secret-key-for-the-request-pages-of-the-rcc"
WEDNESDAY = 2


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo region with Physics offered in kem-net-20's published timetable."""
    data: Path = tmp_path_factory.mktemp("requests")
    settings = Settings(
        data_dir=data, database_url=f"sqlite:///{data / 'web.sqlite'}", secret_key=SECRET,
        hold_sweep_seconds=0,
    )  # fmt: skip
    container = build_container(settings, clock=FrozenClock(BEFORE_YEAR), migrate=True)
    import_files([REGION_FILE], container.uow_factory, now=BEFORE_YEAR, policy=container.policy)
    create_demo_users(container.uow_factory, RCC, Passwords())

    def uow() -> WorkflowUnitOfWork:
        return cast(WorkflowUnitOfWork, container.uow_factory())

    offer = create_offer(uow(), RCC, OfferInput(
        teacher="Иванова Мария Петровна", subject="Физика", grade=10,
        kind=SessionKind.FULL_BROADCAST, host_school_id="kem-school-20",
        host_terminal_id="term-kem-20",
        recurrence=Recurrence([WEDNESDAY], date(2026, 9, 1), date(2026, 10, 24), 5), places=5,
    ))  # fmt: skip
    publish_timetable(
        uow(), RCC, "kem-net-20", [offer.id], starts_on=offer.starts_on, ends_on=offer.ends_on,
        now=BEFORE_YEAR,
    )  # fmt: skip
    server = serve(create_app(container=container))
    try:
        yield server
    finally:
        server.stop()
        container.close()


def signed_in(chromium: Any, served: Served, username: str) -> Any:
    context = chromium.new_context(
        base_url=served.url, viewport={"width": 1280, "height": 900}, locale="ru-RU"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login?next=/requests")
    page.get_by_label("Имя пользователя").fill(username)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Вход").click()
    page.wait_for_url("**/requests")
    return page


def test_a_request_from_the_school_to_the_rccs_approval(chromium: Any, served: Served) -> None:
    school = signed_in(chromium, served, "school12")
    check_page(school, "requests-school")
    school.get_by_label("Физика, 10 класс (Иванова Мария Петровна)").check()
    school.locator("input[name^='class-']").fill("10А")
    school.locator("input[name^='pupils-']").fill("20")
    school.get_by_role("button", name="Подать в сеть").click()
    school.wait_for_url("**/requests/*")
    assert "подана" in school.locator(".facts").inner_text()
    request_url = school.url

    rcc = signed_in(chromium, served, "rcc")
    rcc.get_by_role("button", name="Проверить пересечения").click()
    assert rcc.get_by_text("Конфликтов между этими заявками нет.").is_visible()
    rcc.get_by_role("button", name="Собрать сводную заявку").click()
    rcc.get_by_role("button", name="Подать в РКЦ").click()
    rcc.get_by_role("heading", name="Рассмотрение").wait_for()
    check_page(rcc, "requests")  # the RCC's review of each lesson
    rcc.get_by_role("button", name="Одобрить отмеченные уроки").click()
    rcc.get_by_role("heading", name="Рассмотрение").wait_for(state="detached")
    assert "одобрена" in rcc.locator(".facts").inner_text()

    school.goto(request_url)
    assert school.get_by_role("link", name="бронирование").is_visible()
    school.goto("/inbox")
    check_page(school, "inbox")
    assert school.locator(".badge").is_visible()


def test_a_returned_request_is_corrected_and_resubmitted(chromium: Any, served: Served) -> None:
    school = signed_in(chromium, served, "school12")
    school.get_by_label("Физика, 10 класс (Иванова Мария Петровна)").check()
    school.locator("input[name^='class-']").fill("10Б")
    school.locator("input[name^='pupils-']").fill("25")
    school.get_by_role("button", name="Подать в сеть").click()
    school.wait_for_url("**/requests/*")
    request_url = school.url

    network = signed_in(chromium, served, "net20")
    network.goto(request_url)
    network.get_by_label("Комментарий для школы").fill("В 10Б учится 18 человек — исправьте")
    network.get_by_role("button", name="Вернуть школе").click()
    assert "возвращена" in network.locator(".facts").inner_text()

    school.goto(request_url)
    assert school.get_by_text("В 10Б учится 18 человек — исправьте").first.is_visible()
    check_page(school, "requests-returned")
    school.locator("section", has_text="Изменить заявку").locator(
        "input[name^='pupils-']"
    ).fill("18")
    school.get_by_role("button", name="Сохранить и подать повторно").click()
    school.get_by_role("heading", name="Изменить заявку").wait_for(state="detached")
    assert "подана повторно" in school.locator(".facts").inner_text()
    assert school.get_by_role("cell", name="18", exact=True).is_visible()

    network.goto("/requests")
    request_id = request_url.rsplit("/", 1)[1]
    assert network.locator(f"#combine-{request_id}").is_checked()


def test_a_need_searched_and_the_calendar_administered_pass_axe(
    chromium: Any, served: Served
) -> None:
    school = signed_in(chromium, served, "school12")
    school.get_by_label("Предмет").fill("Физика")
    school.get_by_label("Параллель (1–11)").fill("10")
    school.get_by_label("среда").check()
    school.get_by_role("button", name="Подать потребность в сеть").click()
    school.wait_for_url("**/requests/*")
    school.get_by_role("link", name="Искать предложения других сетей").click()
    school.get_by_role("heading", name="Предложения под потребность").wait_for()
    assert school.get_by_text("урок 5 в школе", exact=False).first.is_visible()
    check_page(school, "needs")

    rcc = signed_in(chromium, served, "rcc")
    rcc.goto("/admin/closures?org=kem-school-12")
    rcc.get_by_label("С", exact=True).first.fill("2026-10-12")
    rcc.get_by_label("По", exact=True).first.fill("2026-10-16")
    rcc.get_by_label("Причина").fill("Карантин")
    rcc.get_by_role("button", name="Добавить закрытие").click()
    rcc.get_by_role("cell", name="Карантин").wait_for()
    check_page(rcc, "closures")
    rcc.goto("/admin/organisations/kem-school-12")
    check_page(rcc, "organisation")
