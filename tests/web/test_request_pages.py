"""The request workflow's pages and the inbox as HTTP, on the demo region (SQLite and
PostgreSQL): the school's coordinator files a request from the network's published
timetable, the network administrator returns or combines it after the cross-check, the
RCC reviews each lesson and approves or rejects — each through the same services as the
API; people are told in their inbox (unread count in the navigation bar). A coordinator
sees only their school's requests; every form needs the page's token."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of

API = "/api/v1"
Auth = Callable[[str], dict[str, str]]
As = Callable[[str], TestClient]

OFFER = {
    "teacher": "Иванова Мария Петровна",
    "subject": "Физика",
    "grade": 10,
    "host_school_id": "kem-school-20",
    "host_terminal_id": "term-kem-20",
    "weekly": {"weekdays": [2], "starts_on": "2026-09-01", "ends_on": "2026-10-24",
               "lesson_number": 5},
    "places": 3,
}  # fmt: skip


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


@pytest.fixture
def offer_id(client: TestClient, auth: Auth) -> str:
    """Physics for the 10th grade, Wednesdays of the first quarter, in kem-net-20's timetable."""
    made = ok(client.post(f"{API}/workflow/offers", json=OFFER, headers=auth("teacher")), 201)
    ok(
        client.post(
            f"{API}/workflow/networks/kem-net-20/timetable",
            json={"offer_ids": [made["id"]], "starts_on": "2026-09-01", "ends_on": "2026-10-24"},
            headers=auth("net20"),
        ),
        201,
    )
    return str(made["id"])


def post(browser: TestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """Send a form of `page` as a browser does (with the page's token), not following."""
    token = csrf_of(browser.get(page).text)
    return browser.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def file_request(as_user: As, offer_id: str, submit: str = "yes") -> tuple[TestClient, str]:
    school = as_user("school12")
    answer = post(school, "/requests", "/requests/new", {
        "offer": offer_id, f"class-{offer_id}": "10А", f"pupils-{offer_id}": "20",
        "submit": submit,
    })  # fmt: skip
    assert answer.status_code == 303, answer.text
    return school, answer.headers["location"].rsplit("/", 1)[1]


def combine(network: TestClient, request_id: str, step: str) -> Any:
    """The network administrator's combine form on the requests page, for kem-net-20."""
    data = {"request": request_id, "step": step, "network": "kem-net-20"}
    return post(network, "/requests", "/requests/combine", data)


def test_a_coordinator_files_a_request_from_the_published_timetable(
    as_user: As, offer_id: str
) -> None:
    school = as_user("school12")
    form = school.get("/requests")

    assert form.status_code == 200
    assert "Физика, 10 класс (Иванова Мария Петровна)" in form.text

    _, request_id = file_request(as_user, offer_id)
    page = school.get(f"/requests/{request_id}")

    assert page.status_code == 200
    assert "10А" in page.text and "term-kem-12" in page.text  # the terminal proposed
    assert "подана" in page.text
    assert f"/requests/{request_id}/withdraw" in page.text


def test_a_coordinator_does_not_see_another_schools_request(
    as_user: As, client: TestClient, auth: Auth, offer_id: str
) -> None:
    others = ok(
        client.post(
            f"{API}/workflow/requests",
            json={
                "school_id": "kem-school-20",
                "items": [{"offer_id": offer_id, "class_name": "10Б", "pupils": 15}],
            },
            headers=auth("rcc"),
        ),
        201,
    )["id"]
    school = as_user("school12")

    listing = school.get("/requests")
    detail = school.get(f"/requests/{others}")

    assert others not in listing.text
    assert detail.status_code in (403, 404)


def test_the_network_returns_a_request_with_a_comment_and_the_school_reads_it(
    as_user: As, offer_id: str
) -> None:
    _, request_id = file_request(as_user, offer_id)
    network = as_user("net20")

    answer = post(network, f"/requests/{request_id}", f"/requests/{request_id}/return", {
        "version": "2", "comment": "Уточните число учеников",
    })  # fmt: skip

    assert answer.status_code == 303
    school = as_user("school12")
    page = school.get(f"/requests/{request_id}")
    assert "Уточните число учеников" in page.text and "возвращена" in page.text
    inbox = school.get("/inbox")
    assert inbox.status_code == 200
    assert re.search(r'class="badge"[^>]*>\s*\d+', inbox.text)  # unread in the navigation


def test_combined_request_cross_checked_submitted_reviewed_and_approved(
    as_user: As, offer_id: str
) -> None:
    _, request_id = file_request(as_user, offer_id)
    network = as_user("net20")

    checked = combine(network, request_id, "check")
    assembled = combine(network, request_id, "assemble")

    assert checked.status_code == 200 and "Конфликтов между этими заявками нет." in checked.text
    assert assembled.status_code == 303
    combined = assembled.headers["location"]
    sent = post(network, combined, f"{combined}/submit", {"version": "1"})
    assert sent.status_code == 303

    rcc = as_user("rcc")
    review = rcc.get(combined)
    assert review.status_code == 200
    assert "Свободно на все даты?" in review.text
    assert "Физика, 10 класс (Иванова Мария Петровна)" in review.text
    item_id = re.search(r'name="item" value="([^"]+)"', review.text)
    assert item_id
    approved = post(rcc, combined, f"{combined}/approve", {
        "version": "2", "item": item_id.group(1), "approve": item_id.group(1),
    })  # fmt: skip

    assert approved.status_code == 303
    assert "одобрена" in rcc.get(combined).text
    school = as_user("school12")
    assert "/bookings/" in school.get(f"/requests/{request_id}").text


def test_the_rcc_rejects_a_combined_request_with_a_reason(as_user: As, offer_id: str) -> None:
    _, request_id = file_request(as_user, offer_id)
    network = as_user("net20")
    combined = combine(network, request_id, "assemble").headers["location"]
    post(network, combined, f"{combined}/submit", {"version": "1"})
    rcc = as_user("rcc")

    rejected = post(rcc, combined, f"{combined}/reject",
                    {"version": "2", "reason": "Нет свободных терминалов"})  # fmt: skip

    assert rejected.status_code == 303
    page = as_user("school12").get(f"/requests/{request_id}")
    assert "отклонена" in page.text and "Нет свободных терминалов" in page.text


def test_the_inbox_marks_read_and_keeps_the_channels(
    as_user: As, client: TestClient, auth: Auth, offer_id: str
) -> None:
    file_request(as_user, offer_id)  # the network is told of the submitted request
    network = as_user("net20")
    before = network.get("/inbox")
    assert 'class="badge"' in before.text and "/inbox/read-all" in before.text

    read = post(network, "/inbox", "/inbox/read-all", {})
    saved = post(network, "/inbox", "/inbox/preferences",
                 {"email": "sokolova@net20.example", "channel": "email"})  # fmt: skip

    assert read.status_code == 303 and saved.status_code == 303
    after = network.get("/inbox")
    assert 'class="badge"' not in after.text
    assert "Непрочитанных уведомлений нет." in after.text
    prefs = ok(client.get(f"{API}/notifications/preferences", headers=auth("net20")))
    assert prefs["email"] == "sokolova@net20.example"
    assert prefs["channels"]["*"] == ["email", "inbox"]


def test_forms_without_the_pages_token_are_refused(as_user: As, offer_id: str) -> None:
    school = as_user("school12")
    school.get("/requests")

    forged = school.post("/requests/new", data={"offer": offer_id, "submit": "yes"})
    read = school.post("/inbox/read-all", data={"csrf_token": "0" * 64})

    assert forged.status_code == 403 and read.status_code == 403
    assert "Форма устарела" in forged.text


def test_a_viewer_has_no_requests_page_and_bad_input_is_a_4xx(as_user: As, offer_id: str) -> None:
    viewer = as_user("viewer")
    assert viewer.get("/requests").status_code == 403
    assert "/requests" not in viewer.get("/inbox").text.split("<main")[0]

    school = as_user("school12")
    bad = post(
        school,
        "/requests",
        "/requests/new",
        {"offer": offer_id, f"class-{offer_id}": "10А", f"pupils-{offer_id}": "many"},
    )

    nothing = post(school, "/requests", "/requests/new", {"submit": "yes"})

    assert bad.status_code == 422 and nothing.status_code == 422
    assert "/requests/" not in school.get("/requests").text.split("<tbody>")[1].split("</tbody>")[0]


def test_the_cross_check_shows_conflicts_and_another_network_may_not_combine(
    as_user: As, client: TestClient, auth: Auth
) -> None:
    one_place = ok(
        client.post(f"{API}/workflow/offers", json={**OFFER, "places": 1}, headers=auth("teacher")),
        201,
    )["id"]
    ok(client.post(f"{API}/workflow/networks/kem-net-20/timetable", headers=auth("net20"),
                   json={"offer_ids": [one_place], "starts_on": "2026-09-01",
                         "ends_on": "2026-10-24"}), 201)  # fmt: skip
    _, first = file_request(as_user, one_place)
    second = ok(client.post(f"{API}/workflow/requests", headers=auth("rcc"), json={
        "school_id": "kem-school-20",
        "items": [{"offer_id": one_place, "class_name": "10Б", "pupils": 15}],
    }), 201)["id"]  # fmt: skip
    ok(client.post(f"{API}/workflow/requests/{second}/submit", headers=auth("rcc")))
    network = as_user("net20")

    data = {"request": [first, second], "step": "check", "network": "kem-net-20"}
    checked = post(network, "/requests", "/requests/combine", data)

    assert checked.status_code == 200
    assert "Проверка нашла конфликтов: 1" in checked.text
    assert "2 школ(ы) просят «Физика, 10 класс (Иванова Мария Петровна)», а мест в нём: 1" in (
        checked.text
    )  # the service's words, in Russian on the page
    assert "schools ask for" not in checked.text
    stranger = as_user("net5")
    refused = post(stranger, "/requests", "/requests/combine", {**data, "step": "assemble"})
    assert refused.status_code == 403
    assert first not in stranger.get("/requests").text


def test_a_returned_request_is_edited_and_resubmitted_with_the_comment_in_sight(
    as_user: As, offer_id: str
) -> None:
    _, request_id = file_request(as_user, offer_id)
    network = as_user("net20")
    post(network, f"/requests/{request_id}", f"/requests/{request_id}/return", {
        "version": "2", "comment": "В 10А только 12 учеников",
    })  # fmt: skip
    school = as_user("school12")
    page = school.get(f"/requests/{request_id}")
    assert "Изменить заявку" in page.text and "В 10А только 12 учеников" in page.text
    assert 'value="20"' in page.text  # the item as it was, to be corrected

    sent = post(school, f"/requests/{request_id}", f"/requests/{request_id}/edit", {
        "version": "3", "offer": offer_id, f"class-{offer_id}": "10А",
        f"pupils-{offer_id}": "12", "submit": "yes",
    })  # fmt: skip

    assert sent.status_code == 303
    after = school.get(f"/requests/{request_id}")
    assert "подана повторно" in after.text
    assert "<td>12</td>" in after.text
    assert "Изменить заявку" not in after.text  # no longer editable once resubmitted
    waiting = as_user("net20").get("/requests")
    assert waiting.status_code == 200 and f'id="combine-{request_id}"' in waiting.text


def test_an_edit_from_a_stale_page_or_by_another_school_is_refused(
    as_user: As, offer_id: str
) -> None:
    _, request_id = file_request(as_user, offer_id, submit="no")
    school = as_user("school12")
    fields = {"offer": offer_id, f"class-{offer_id}": "10А", f"pupils-{offer_id}": "15"}
    post(school, f"/requests/{request_id}", f"/requests/{request_id}/edit",
         {**fields, "version": "1", "submit": "no"})  # fmt: skip

    stale = post(school, f"/requests/{request_id}", f"/requests/{request_id}/edit",
                 {**fields, "version": "1", "submit": "yes"})  # fmt: skip
    stranger = post(as_user("net5"), "/inbox", f"/requests/{request_id}/edit",
                    {**fields, "version": "2", "submit": "yes"})  # fmt: skip

    assert stale.status_code == 412 and "Изменено другим пользователем" in stale.text
    assert stranger.status_code in (403, 404)
    assert "черновик" in as_user("school12").get(f"/requests/{request_id}").text


def test_a_refused_step_reads_in_russian_on_the_page_and_in_english_in_the_api(
    as_user: As, client: TestClient, auth: Auth, offer_id: str
) -> None:
    school, request_id = file_request(as_user, offer_id)
    post(school, f"/requests/{request_id}", f"/requests/{request_id}/withdraw", {"version": "2"})

    again = post(school, "/requests", f"/requests/{request_id}/withdraw", {"version": "3"})
    empty = post(school, "/requests", "/requests/new", {"submit": "yes"})
    api = client.post(f"{API}/workflow/requests/{request_id}/withdraw", headers=auth("rcc"))

    assert again.status_code == 409
    assert (f"заявка {request_id} в состоянии «отозвана»: действие «отозвать» невозможно"
            " (доступно: ничего)") in again.text  # fmt: skip
    assert empty.status_code == 422 and "отметьте хотя бы один урок расписания" in empty.text
    assert api.status_code == 409
    assert api.json()["detail"] == (
        f"request {request_id} is withdrawn: it cannot withdraw (allowed: none)"
    )
