"""The web interface as HTTP: who is let in, what each role sees, how forms are
protected, what errors look like — on the demo region (SQLite and PostgreSQL), with the
session cookie a browser would keep. The browser journeys are in test_journeys.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from adapters.storage.automation.transitions import SqlTransitions
from booking.automation_store import TransitionWrite
from booking.bookings import OccurrenceState
from booking.health import DeviceKind, HealthState
from tests.api.conftest import FrozenClock
from tests.web.conftest import csrf_of
from vks.bootstrap import Container, health_store
from vks.web.session import SESSION_COOKIE

LESSON_DAY = datetime(2026, 9, 15, 1, 0, tzinfo=UTC)  # 08:00 in Kemerovo, a Tuesday

PHYSICS = {
    "title": "Физика, 10 класс",
    "host_school_id": "kem-school-20",
    "teacher": "Иванова Мария Петровна",
    "participants": [
        {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
        {"school_id": "kem-school-12", "terminal_id": "term-kem-12"},
    ],
    "date": "2026-09-15",
    "lesson_number": 3,
}
CHEMISTRY = {
    "title": "Химия, 9 класс",
    "host_school_id": "nvk-school-5",
    "teacher": "Кузнецов Андрей Павлович",
    "participants": [{"school_id": "nvk-school-5", "terminal_id": "term-nvk-5"}],
    "date": "2026-09-15",
    "lesson_number": 4,
}

Auth = Callable[[str], dict[str, str]]
Token = Callable[[str], str]


@pytest.fixture
def lessons(client: TestClient, auth: Auth, clock: FrozenClock) -> dict[str, str]:
    """Two lessons on 15 September: one of network kem-net-20, one of nvk-net-5."""
    made: dict[str, str] = {}
    for owner, body in (("net20", PHYSICS), ("net5", CHEMISTRY)):
        answer = client.post("/api/v1/bookings", json=body, headers=auth(owner))
        assert answer.status_code == 201, answer.text
        made[body["title"]] = answer.json()["booking"]["id"]
    clock.at = LESSON_DAY
    return made


def as_session(client: TestClient, token_for: Token, username: str) -> TestClient:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token_for(username))
    return client


def test_a_page_without_a_session_leads_to_the_login_form(client: TestClient) -> None:
    answer = client.get("/today?state=live", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Ftoday%3Fstate%3Dlive"


def test_signing_in_sets_a_protected_session_cookie_and_signing_out_clears_it(
    client: TestClient,
) -> None:
    form = client.get("/login?next=/bookings")
    signed = client.post(
        "/login",
        data={"username": "net20", "password": "vks-demo-2026", "next": "/bookings",
              "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )  # fmt: skip

    assert signed.status_code == 303 and signed.headers["location"] == "/bookings"
    cookie = next(v for k, v in signed.headers.multi_items() if k == "set-cookie")
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/bookings").status_code == 200

    page = client.get("/today")
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)

    assert out.status_code == 303
    assert client.get("/today", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused_in_russian_without_a_session(client: TestClient) -> None:
    form = client.get("/login")

    refused = client.post(
        "/login",
        data={"username": "net20", "password": "wrong", "csrf_token": csrf_of(form.text)},
    )

    assert refused.status_code == 401
    assert "Неизвестное имя пользователя или неверный пароль." in refused.text
    assert SESSION_COOKIE not in client.cookies


def test_a_form_without_the_pages_token_is_refused_with_a_403_page(
    client: TestClient, token_for: Token
) -> None:
    client.get("/login")  # the browser has the CSRF cookie, but the attacker's form no token

    forged = client.post("/login", data={"username": "net20", "password": "vks-demo-2026"})
    wrong = client.post(
        "/login", data={"username": "net20", "password": "vks-demo-2026", "csrf_token": "0" * 64}
    )
    as_session(client, token_for, "net20")
    logout = client.post("/logout", data={"csrf_token": "f" * 64})

    for answer in (forged, wrong, logout):
        assert answer.status_code == 403
        assert "Форма устарела" in answer.text
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")


def test_no_redirect_after_login_leaves_the_site(client: TestClient) -> None:
    form = client.get("/login")

    signed = client.post(
        "/login",
        data={"username": "net20", "password": "vks-demo-2026",
              "next": "//evil.example.com/", "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )  # fmt: skip

    assert signed.headers["location"] == "/today"


def test_the_today_board_shows_the_lessons_of_the_scope_only(
    client: TestClient, token_for: Token, lessons: dict[str, str]
) -> None:
    rcc = as_session(client, token_for, "rcc").get("/today").text
    assert "Физика, 10 класс" in rcc and "Химия, 9 класс" in rcc

    school12 = as_session(client, token_for, "school12").get("/today").text
    assert "Физика, 10 класс" in school12  # its school takes part
    assert "Химия, 9 класс" not in school12  # another network's lesson


def test_the_today_board_counts_the_day_and_puts_a_failed_lesson_under_attention(
    client: TestClient, token_for: Token, auth: Auth, container: Container,
    lessons: dict[str, str],
) -> None:  # fmt: skip
    chemistry = client.get(
        f"/api/v1/bookings/{lessons['Химия, 9 класс']}/occurrences", headers=auth("net5")
    ).json()["items"][0]["id"]
    assert container.engine is not None
    SqlTransitions(container.engine).transition(  # as the automation stores a failed start
        [TransitionWrite(chemistry, OccurrenceState.FAILED,
                         frozenset({OccurrenceState.SCHEDULED}), "automation",
                         reason="no terminal answered the call")],
        LESSON_DAY,
    )  # fmt: skip

    page = as_session(client, token_for, "rcc").get("/today").text

    summary = page.split('id="board-summary"', 1)[1].split("</section>", 1)[0]
    attention = page.split('id="board-attention"', 1)[1].split("</section>", 1)[0]
    assert "Химия, 9 класс" in attention and "no terminal answered the call" in attention
    assert "Физика, 10 класс" not in attention
    assert 'href="/today?state=failed"' in summary  # the one failed lesson, a link to it
    assert 'href="/today?state=failed&amp;area=novokuznetsk"' in summary
    assert "Кемеровский городской округ" in summary and "Новокузнецкий" in summary


def test_a_page_of_the_lessons_needing_attention_counts_them_all(
    client: TestClient, token_for: Token, auth: Auth, container: Container,
    lessons: dict[str, str],
) -> None:  # fmt: skip
    assert container.engine is not None
    for title in ("Химия, 9 класс", "Физика, 10 класс"):
        occurrence = client.get(
            f"/api/v1/bookings/{lessons[title]}/occurrences", headers=auth("rcc")
        ).json()["items"][0]["id"]
        SqlTransitions(container.engine).transition(
            [TransitionWrite(occurrence, OccurrenceState.FAILED,
                             frozenset({OccurrenceState.SCHEDULED}), "automation",
                             reason="no terminal answered the call")],
            LESSON_DAY,
        )  # fmt: skip

    page = as_session(client, token_for, "rcc").get("/today?attention=true&rows=1").text

    attention = page.split('id="board-attention"', 1)[1].split("</section>", 1)[0]
    lessons_shown = page.split('id="board"', 1)[1]
    assert "Требуют внимания: 2" in attention
    assert lessons_shown.count('<tr id="occ-') == 1
    assert "Показано уроков: 1 из 2" in page


def test_the_today_board_filters_by_municipality_and_shows_its_rows_a_page_at_a_time(
    client: TestClient, token_for: Token, lessons: dict[str, str]
) -> None:
    rcc = as_session(client, token_for, "rcc")

    kemerovo = rcc.get("/today?area=kemerovo").text.split('id="board"', 1)[1]
    first = rcc.get("/today?rows=1").text.split('id="board"', 1)[1]

    assert "Физика, 10 класс" in kemerovo and "Химия, 9 класс" not in kemerovo
    assert first.count('<tr id="occ-') == 1
    assert "Показать ещё 1" in first and 'href="/today?rows=51"' in first


def test_a_school_coordinator_cannot_see_another_networks_bookings(
    client: TestClient, token_for: Token, lessons: dict[str, str]
) -> None:
    browser = as_session(client, token_for, "school12")

    listing = browser.get("/bookings?from=2026-09-01&to=2026-09-30")
    foreign = browser.get(f"/bookings/{lessons['Химия, 9 класс']}")

    assert listing.status_code == 200
    assert "Химия, 9 класс" not in listing.text
    assert foreign.status_code == 403  # as the API answers: outside the scope
    assert "Химия" not in foreign.text and "Traceback" not in foreign.text


def test_bookings_name_their_schools_not_their_ids(
    client: TestClient, token_for: Token, lessons: dict[str, str]
) -> None:
    browser = as_session(client, token_for, "net20")

    listing = browser.get("/bookings?from=2026-09-01&to=2026-09-30").text
    booking = browser.get(f"/bookings/{lessons['Физика, 10 класс']}").text

    assert "<td>МБОУ «СОШ №20»</td>" in listing and "МБОУ «СОШ №12»" in listing
    assert "kem-school-12" not in listing
    assert "МБОУ «СОШ №12» (term-kem-12)" in booking and "kem-school-12" not in booking
    assert "(UTC+7, Новокузнецк)" in booking and "Asia/Novokuznetsk" not in booking


def test_operators_get_action_buttons_and_viewers_none(
    client: TestClient, token_for: Token, lessons: dict[str, str]
) -> None:
    operator = as_session(client, token_for, "rcc").get("/today").text
    viewer = as_session(client, token_for, "viewer").get("/today").text

    assert "Начать сейчас" in operator
    assert "Физика, 10 класс" in viewer
    assert "Начать сейчас" not in viewer and "/start" not in viewer


def test_a_viewers_forged_operator_action_is_refused_naming_the_roles_needed(
    client: TestClient, token_for: Token, lessons: dict[str, str]
) -> None:
    browser = as_session(client, token_for, "viewer")
    page = browser.get("/today")
    occurrence = page.text.split('id="occ-', 1)[1].split('"', 1)[0]

    refused = browser.post(f"/today/{occurrence}/start", data={"csrf_token": csrf_of(page.text)})

    assert refused.status_code == 403
    assert "оператор РКЦ" in refused.text and "муниципальный координатор" in refused.text


def test_the_series_is_cancelled_from_its_page_and_a_stale_form_is_explained(
    client: TestClient, token_for: Token, auth: Auth, lessons: dict[str, str]
) -> None:
    booking = lessons["Физика, 10 класс"]
    browser = as_session(client, token_for, "net20")
    page = browser.get(f"/bookings/{booking}")
    # meanwhile someone moves the lesson through the API (a new version of the booking)
    occurrence = client.get(f"/api/v1/bookings/{booking}/occurrences", headers=auth("net20"))
    moved = client.post(
        f"/api/v1/occurrences/{occurrence.json()['items'][0]['id']}/cancel",
        json={"reason": "карантин"}, headers=auth("net20"),
    )  # fmt: skip
    assert moved.status_code == 200
    stale = browser.post(
        f"/occurrences/{occurrence.json()['items'][0]['id']}/cancel",
        data={"csrf_token": csrf_of(page.text), "version": "1"},
    )

    cancelled = browser.post(
        f"/bookings/{booking}/cancel", data={"csrf_token": csrf_of(page.text), "version": "1"}
    )

    assert stale.status_code == 412
    assert "Изменено другим пользователем" in stale.text
    assert cancelled.status_code == 200 and "Серия отменена" in cancelled.text


def test_english_is_one_click_away_and_kept(client: TestClient, token_for: Token) -> None:
    browser = as_session(client, token_for, "net20")
    page = browser.get("/bookings")

    switched = browser.post(
        "/language", data={"lang": "en", "next": "/bookings", "csrf_token": csrf_of(page.text)}
    )

    assert switched.status_code == 200
    assert "<h1>Bookings</h1>" in switched.text and 'lang="en"' in switched.text
    assert "<h1>Bookings</h1>" in browser.get("/bookings").text


def test_errors_are_pages_and_the_api_keeps_problem_json(
    client: TestClient, token_for: Token
) -> None:
    browser = as_session(client, token_for, "net20")

    page = browser.get("/equipment/terminals/no-such-terminal")
    api = browser.get("/api/v1/nothing-here")

    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_equipment_shows_the_scopes_devices_with_a_30_day_chart(
    client: TestClient, token_for: Token
) -> None:
    browser = as_session(client, token_for, "school12")

    listing = browser.get("/equipment")
    terminal = browser.get("/equipment/terminals/term-kem-12")
    foreign = browser.get("/equipment/terminals/term-nvk-5")

    assert "term-kem-12" in listing.text and "term-nvk-5" not in listing.text
    assert terminal.status_code == 200 and terminal.text.count("<rect") == 30
    assert foreign.status_code == 404


def test_an_alert_names_its_device_and_school_and_says_its_cause_in_russian(
    client: TestClient, token_for: Token, container: Container
) -> None:
    assert container.engine is not None
    store = health_store(container.engine)
    store.open_new_alert(
        DeviceKind.TERMINAL, "term-kem-12", HealthState.DOWN, "connection refused",
        store.org_path("kem-school-12") or "", datetime(2026, 10, 2, 1, 0, tzinfo=UTC),
    )  # fmt: skip
    browser = as_session(client, token_for, "school12")

    listing = browser.get("/equipment", params={"kind": "camera"})  # the terminal not listed

    alerts = listing.text.split('id="alerts-h"', 1)[1].split("</table>", 1)[0]
    assert (
        '>Кабинет информатики</a><br><span class="muted">терминал term-kem-12 · МБОУ «СОШ №12»'
        in alerts
    )
    assert "соединение отклонено" in alerts and "connection refused" not in alerts


def test_administration_is_the_rccs_and_says_so_to_others(
    client: TestClient, token_for: Token
) -> None:
    rcc = as_session(client, token_for, "rcc").get("/admin")
    assert rcc.status_code == 200 and "school12" in rcc.text

    network = as_session(client, token_for, "teacher").get("/admin")

    assert network.status_code == 403
    assert "Нужна одна из ролей:" in network.text and "оператор РКЦ" in network.text
    assert "роль «учитель» не позволяет управлять данными региона" in network.text
    assert "may not" not in network.text  # the domain's refusal in Russian too


def test_a_timetable_import_reports_each_bad_line_and_writes_nothing(
    client: TestClient, token_for: Token
) -> None:
    browser = as_session(client, token_for, "rcc")
    page = browser.get("/admin")
    timetable = (
        "external_ref,title,host_school,teacher,owner,participants,weekdays,lesson,quarter\n"
        'phys-10,"Физика, 10 класс",kem-school-20,Иванова Мария Петровна,kem-net-20,'
        "kem-school-20:term-kem-20:teacher:10А,tue,3,1\n"
        'chem-9,"Химия, 9 класс",kem-school-999,Петров Пётр,kem-net-20,'
        "kem-school-999:term-kem-999:teacher:9А,wed,2,1\n"
    )

    checked = browser.post(
        "/admin/import",
        data={"csrf_token": csrf_of(page.text)},
        files={"upload": ("timetable.csv", timetable.encode(), "text/csv")},
    )

    assert checked.status_code == 422
    assert "ничего не импортировано" in checked.text
    assert "timetable.csv, строка 3" in checked.text and "kem-school-999" in checked.text
    assert "line 3" not in checked.text  # the per-line report in Russian
    assert browser.get("/bookings?from=2026-09-01&to=2026-11-01").text.count("Физика") == 0


def test_the_camera_page_has_preset_buttons_for_operators_only(
    client: TestClient, token_for: Token
) -> None:
    operator = as_session(client, token_for, "rcc").get("/equipment/cameras/cam-kem-12")
    assert operator.status_code == 200
    button = r'<button type="submit" name="preset" value="(\w+)">([^<]+)<'
    buttons = re.findall(button, operator.text)
    assert buttons == [("teacher", "учитель"), ("board", "доска"), ("class", "класс")]

    viewer = as_session(client, token_for, "viewer")
    page = viewer.get("/equipment/cameras/cam-kem-12")
    sent = viewer.post("/equipment/cameras/cam-kem-12/preset",
                       data={"preset": "board", "csrf_token": csrf_of(page.text)})  # fmt: skip

    assert page.status_code == 200 and 'name="preset"' not in page.text
    assert sent.status_code == 403 and "Нужна одна из ролей:" in sent.text


def test_the_bookings_dates_are_written_and_read_the_russian_way(
    client: TestClient, token_for: Token, lessons: dict[str, str]
) -> None:
    browser = as_session(client, token_for, "rcc")

    russian = browser.get("/bookings?from=01.09.2026&to=30.09.2026")
    iso = browser.get("/bookings?from=2026-09-01&to=2026-09-30")

    assert russian.status_code == 200
    assert 'value="01.09.2026"' in russian.text and 'value="30.09.2026"' in russian.text
    assert 'type="date"' not in russian.text  # the browser's locale would choose the format
    assert russian.text.count("Физика") == iso.text.count("Физика") > 0
