"""The timetable grid page and its booking form as HTTP, on the demo region (SQLite and
PostgreSQL): the week of the network of МБОУ «СОШ №20» with its Mordovian partner school
(UTC+3) in its own numbering, a free cell opening the prefilled form, the dry run's
conflict and alternatives, taking one, booking — and no other network's grid."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of

Auth = Callable[[str], dict[str, str]]
SignIn = Callable[[str], TestClient]
WEEK = "2027-01-11"
TUESDAY = "2027-01-12"


def book_over_the_api(client: TestClient, auth: Auth, number: int, terminal: str) -> None:
    body = {
        "title": "Английский язык, 7 класс",
        "kind": "full_broadcast",
        "host_school_id": "ins-school-mp",
        "teacher": "Ведяшкина Татьяна Ивановна",
        "participants": [{"school_id": "ins-school-mp", "terminal_id": terminal}],
        "date": "2027-01-19",
        "lesson_number": number,
    }
    answer = client.post("/api/v1/bookings", json=body, headers=auth("net20"))
    assert answer.status_code == 201, answer.text


def the_form(browser: TestClient) -> dict[str, str]:
    page = browser.get(
        "/grid/book",
        params={"t": "term-kem-20", "d": TUESDAY, "n": 7},
    )  # fmt: skip
    assert page.status_code == 200, page.text
    assert 'name="lesson_number" min="0" max="20" value="7"' in page.text
    return {
        "csrf_token": csrf_of(page.text),
        "title": "Информатика, 9 класс",
        "teacher": "Соколова Елена Викторовна",
        "host_school_id": "kem-school-20",
        "date": TUESDAY,
        "lesson_number": "7",
        "repeat": "quarter",
        "school_0": "kem-school-20",
        "terminal_0": "term-kem-20",
        "preset_0": "teacher",
        "school_1": "ins-school-mp",
        "terminal_1": "term-ins-mp",
        "preset_1": "class",
        "back": f"/grid?week={WEEK}",
    }


def test_the_network_week_shows_a_kemerovo_lesson_in_the_partners_numbering(
    as_user: SignIn, client: TestClient, auth: Auth
) -> None:
    browser = as_user("net20")
    form = the_form(browser)
    booked = browser.post("/grid/book", data={**form, "repeat": "once", "action": "book"},
                          follow_redirects=False)  # fmt: skip
    assert booked.status_code == 303, booked.text

    page = browser.get("/grid", params={"week": TUESDAY})

    assert page.status_code == 200
    assert "Сеть МБОУ «СОШ №20»" in page.text  # the viewer's own network, by default
    assert "\nМБОУ «Мордовско-Паевская СОШ»: 2-й урок, 09:10–09:50 (UTC+3, Москва)" in page.text
    assert "\nМБОУ «СОШ №20»: 7-й урок, 13:10–13:50 (UTC+7, Новокузнецк)" in page.text


def test_a_day_of_the_winter_holidays_is_one_cell_saying_why_in_russian(
    as_user: SignIn,
) -> None:
    browser = as_user("net20")

    page = browser.get("/grid", params={"week": "2027-01-04"})  # New Year holidays

    assert page.status_code == 200
    rows = page.text.count('<th scope="row" class="who">')
    off = re.findall(r'<td colspan="\d+" class="off" title="([^"]*)">([^<]*)</td>', page.text)
    assert rows and len(off) == 7 * rows
    assert ("public holiday", "каникулы или праздник") in off


def test_moving_between_weeks_answers_the_grid_alone_to_htmx(as_user: SignIn) -> None:
    browser = as_user("net20")

    answer = browser.get(
        "/grid", params={"network": "kem-net-20", "week": "2027-01-18"},
        headers={"HX-Request": "true"},
    )  # fmt: skip

    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="grid-body"')
    assert "<html" not in answer.text


def test_a_conflict_is_shown_with_alternatives_and_one_click_takes_one(
    as_user: SignIn, client: TestClient, auth: Auth
) -> None:
    book_over_the_api(client, auth, 2, "term-ins-mp")  # the partner's 2nd lesson, 19 January
    browser = as_user("net20")
    form = the_form(browser)

    checked = browser.post("/grid/book", data={**form, "action": "check"})

    assert checked.status_code == 200, checked.text
    assert "Английский язык, 7 класс" in checked.text  # the conflict names the lesson
    assert "занят 19.01.2027, 2-й урок, 08:50–09:30 (UTC+3, Москва)" in checked.text
    takes = re.findall(r'name="take" value="(every_date_lesson\|[^"]*)"', checked.text)
    assert takes, checked.text
    taken = browser.post("/grid/book", data={**form, "take": takes[0]})
    assert "Конфликтов нет: урок можно забронировать." in taken.text
    number = re.search(r'name="lesson_number" min="0" max="20" value="(\d+)"', taken.text)
    assert number and number.group(1) != "7"
    booked = browser.post(
        "/grid/book", data={**form, "lesson_number": number.group(1), "action": "book"},
        follow_redirects=False,
    )  # fmt: skip
    assert booked.status_code == 303
    assert booked.headers["location"].startswith("/bookings/")


def test_a_lesson_before_the_partners_school_day_is_a_warning_in_russian(
    as_user: SignIn,
) -> None:
    browser = as_user("net20")
    form = the_form(browser)  # Kemerovo with a Mordovian partner, 4 hours behind

    checked = browser.post("/grid/book", data={**form, "lesson_number": "1", "action": "check"})

    assert checked.status_code == 200, checked.text
    assert "по местному времени (UTC+3, Москва) — вне учебного дня школы" in checked.text
    assert "outside its school day" not in checked.text


def test_the_week_and_the_date_are_text_fields_written_the_russian_way(
    as_user: SignIn,
) -> None:
    browser = as_user("net20")

    week = browser.get("/grid", params={"week": "13.01.2027"})  # a Wednesday: its Monday
    form = browser.get("/grid/book", params={"t": "term-kem-20", "d": TUESDAY, "n": 7})
    checked = browser.post(
        "/grid/book", data={**the_form(browser), "date": "12.01.2027", "action": "check"}
    )

    assert week.status_code == 200
    assert re.search(r'<input id="grid-week" type="text"[^>]*value="11\.01\.2027"', week.text)
    assert 'placeholder="дд.мм.гггг"' in week.text and 'type="date"' not in week.text
    assert "Кабинет информатики · UTC+3, Москва</span>" in week.text  # a row's zone, named
    assert re.search(r'<input id="date" type="text"[^>]*value="12\.01\.2027"', form.text)
    assert 'type="date"' not in form.text
    assert checked.status_code == 200 and 'id="check-title"' in checked.text  # the dry run ran


def test_another_networks_grid_is_refused(as_user: SignIn) -> None:
    browser = as_user("net5")

    answer = browser.get("/grid", params={"network": "kem-net-20", "week": WEEK})

    assert answer.status_code == 403
    assert "kem-net-20" in answer.text or "СОШ №20" in answer.text


def test_the_form_names_schools_and_terminals_and_finds_a_partner_by_a_part_of_its_name(
    as_user: SignIn,
) -> None:
    browser = as_user("net20")

    form = browser.get("/grid/book", params={"t": "term-kem-20", "d": TUESDAY, "n": 7})
    schools = browser.get("/grid/partners", params={"school_1": "мордов"})
    partner = "МБОУ «Мордовско-Паевская СОШ» · ins-school-mp"
    terminals = browser.get("/grid/partners/terminals", params={"school_1": partner})
    booked = browser.post(
        "/grid/book",
        data={**the_form(browser), "school_0": "МБОУ «СОШ №20» · kem-school-20",
              "school_1": partner, "terminal_1": "Кабинет информатики · term-ins-mp",
              "repeat": "once", "action": "book"},
        follow_redirects=False,
    )  # fmt: skip

    assert 'name="school_0" value="МБОУ «СОШ №20» · kem-school-20"' in form.text
    assert re.search(r'name="terminal_0" value="[^"]+ · term-kem-20"', form.text)
    assert re.search(r'<input id="teacher" name="teacher" value=""', form.text)  # not «net20»
    assert f'<option value="{partner}">' in schools.text  # another municipality's school
    assert "· term-ins-mp" in terminals.text
    assert booked.status_code == 303, booked.text


def test_an_unknown_terminal_is_refused_in_russian_and_the_form_kept(as_user: SignIn) -> None:
    browser = as_user("net20")
    form = the_form(browser)

    checked = browser.post(
        "/grid/book", data={**form, "terminal_1": "Кабинет 9 · term-nowhere", "action": "check"}
    )

    assert checked.status_code == 422
    assert "неизвестный терминал: term-nowhere" in checked.text
    assert 'value="Информатика, 9 класс"' in checked.text  # what was typed is still there
