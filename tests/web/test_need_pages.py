"""The search "from need" as pages, on the demo region (SQLite and PostgreSQL): a school's
coordinator states a need its network's timetable does not meet; the RCC searches the
other networks' offers — each result explained in Russian — and asks the offering network
to take the school in; that network's administrator accepts on the requests page and the
school's request is filed there, submitted. Another network cannot answer for it; a viewer
cannot search."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.test_request_pages import API, OFFER, As, Auth, ok, post

WEDNESDAY = 2


@pytest.fixture
def offer_id(client: TestClient, auth: Auth) -> str:
    """Physics for the 10th grade, Wednesdays' 5th lesson at nvk-school-5, in nvk-net-5's
    published timetable — another network than kem-school-12's."""
    made = ok(client.post(f"{API}/workflow/offers", headers=auth("rcc"), json={
        **OFFER, "teacher": "Орлова Светлана Игоревна", "host_school_id": "nvk-school-5",
        "host_terminal_id": "term-nvk-5",
    }), 201)  # fmt: skip
    ok(client.post(f"{API}/workflow/networks/nvk-net-5/timetable", headers=auth("net5"), json={
        "offer_ids": [made["id"]], "starts_on": "2026-09-01", "ends_on": "2026-10-24",
    }), 201)  # fmt: skip
    return str(made["id"])


def state_need(as_user: As) -> str:
    school = as_user("school12")
    answer = post(school, "/requests", "/needs/new", {
        "subject": "Физика", "grade": "10", "hours": "1", "weekday": str(WEDNESDAY),
        "submit": "yes",
    })  # fmt: skip
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"].rsplit("/", 1)[1])


def test_a_need_is_searched_explained_invited_and_accepted_by_the_offering_network(
    as_user: As, offer_id: str
) -> None:
    request_id = state_need(as_user)
    stated = as_user("school12").get(f"/requests/{request_id}")
    assert "Физика, 10 класс, 1 ч в неделю" in stated.text and "среда" in stated.text

    rcc = as_user("rcc")
    found = rcc.get(f"/requests/{request_id}/needs/1")
    assert found.status_code == 200
    assert "Физика, 10 класс (Орлова Светлана Игоревна)" in found.text
    assert "урок 5 в школе" in found.text  # the service's Russian reasons
    assert "Сеть МБОУ «СОШ №5»" in found.text
    invited = post(rcc, f"/requests/{request_id}/needs/1", "/needs/invite", {
        "request": request_id, "need": "1", "offer": offer_id, "class_name": "10А",
        "pupils": "14",
    })  # fmt: skip
    assert invited.status_code == 303

    network = as_user("net5")
    inbox = network.get("/requests")
    assert "Принять школу" in inbox.text and "МБОУ «СОШ №12»" in inbox.text
    invitation = re.search(r'action="/invitations/([^/]+)/accept"', inbox.text)
    assert invitation
    accepted = post(network, "/requests", f"/invitations/{invitation.group(1)}/accept", {})

    assert accepted.status_code == 303
    filed = network.get(accepted.headers["location"])
    assert "МБОУ «СОШ №12»" in filed.text and "Сеть МБОУ «СОШ №5»" in filed.text
    assert "подана" in filed.text and "10А" in filed.text
    assert "принято" in network.get("/requests").text


def test_the_search_names_the_request_as_the_school_knows_it_not_by_its_id(
    as_user: As, offer_id: str
) -> None:
    request_id = state_need(as_user)

    found = as_user("rcc").get(f"/requests/{request_id}/needs/1")

    shown = re.sub(r"<[^>]+>", " ", found.text.split('<main id="main">', 1)[1])
    assert "Заявка школы МБОУ «СОШ №12» (подана)" in shown
    assert request_id not in shown and offer_id not in shown  # in links and hidden fields only
    own = as_user("school12")
    assert "<h1>Заявка школы МБОУ «СОШ №12»</h1>" in own.get(f"/requests/{request_id}").text
    listed = re.sub(r"<[^>]+>", " ", own.get("/requests").text)
    assert "Заявка школы МБОУ «СОШ №12»" in listed and request_id not in listed


def test_another_network_cannot_answer_and_a_viewer_cannot_search(
    as_user: As, client: TestClient, auth: Auth, offer_id: str
) -> None:
    request_id = state_need(as_user)
    need = {"subject": "Физика", "grade": 10, "weekdays": [WEDNESDAY]}
    invitation = ok(client.post(f"{API}/workflow/invitations", headers=auth("rcc"), json={
        "offer_id": offer_id, "school_id": "kem-school-12", "need": need,
        "class_name": "10А", "pupils": 14,
    }), 201)["id"]  # fmt: skip

    stranger = post(as_user("net20"), "/inbox", f"/invitations/{invitation}/accept", {})
    viewer = as_user("viewer").get(f"/requests/{request_id}/needs/1")
    bad = post(as_user("school12"), "/requests", "/needs/new", {"subject": "", "grade": "10"})
    no_pupils = post(as_user("rcc"), "/requests", "/needs/invite", {
        "request": request_id, "need": "1", "offer": offer_id, "class_name": "10А",
        "pupils": "0",
    })  # fmt: skip

    assert stranger.status_code == 403
    assert viewer.status_code in (403, 404)
    assert bad.status_code == 422
    assert bad.status_code == 422 and "укажите предмет (до 100 символов)" in bad.text
    assert no_pupils.status_code == 422 and "«число учеников» — не меньше 1" in no_pupils.text
