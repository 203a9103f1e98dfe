"""Specification: the request workflow over HTTP with the demo region's people — the
teacher offers, the network administrator publishes and combines, a school's coordinator
requests, the RCC reviews and approves; the lesson reaches the school's iCal feed. Edits
take If-Match; bad input is a 4xx problem, never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from booking.recurring_slots import RecurringAnswer, RecurringFit
from vks.api.schemas.workflow import RecurringOut, recurring_json

API = "/api/v1"
Auth = Callable[[str], dict[str, str]]

OFFER = {
    "teacher": "Иванова Мария Петровна",
    "subject": "Физика",
    "grade": 10,
    "host_school_id": "kem-school-20",
    "host_terminal_id": "term-kem-20",
    "weekly": {
        "weekdays": [2],
        "starts_on": "2026-09-01",
        "ends_on": "2026-10-24",
        "lesson_number": 5,
    },
    "places": 3,
    "platform": "bbb",
}


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def test_offer_to_approved_lesson_in_the_schools_feed(client: TestClient, auth: Auth) -> None:
    offer = client.post(f"{API}/workflow/offers", json=OFFER, headers=auth("teacher"))
    assert offer.headers["etag"] == '"v1"'
    offer_id = ok(offer, 201)["id"]
    ok(
        client.post(
            f"{API}/workflow/networks/kem-net-20/timetable",
            json={"offer_ids": [offer_id], "starts_on": "2026-09-01", "ends_on": "2026-10-24"},
            headers=auth("net20"),
        ),
        201,
    )
    request = ok(
        client.post(
            f"{API}/workflow/requests",
            json={
                "school_id": "kem-school-12",
                "items": [{"offer_id": offer_id, "class_name": "10А", "pupils": 20}],
            },
            headers=auth("school12"),
        ),
        201,
    )
    assert request["state"] == "draft"
    assert request["items"][0]["terminal_id"] == "term-kem-12"  # proposed by the system
    ok(client.post(f"{API}/workflow/requests/{request['id']}/submit", headers=auth("school12")))
    waiting = ok(
        client.get(f"{API}/workflow/requests", params={"state": "submitted"}, headers=auth("net20"))
    )
    assert [r["id"] for r in waiting["items"]] == [request["id"]] and waiting["total"] == 1
    combined = ok(
        client.post(
            f"{API}/workflow/combined",
            json={"network_id": "kem-net-20", "request_ids": [request["id"]]},
            headers=auth("net20"),
        ),
        201,
    )
    ok(client.post(f"{API}/workflow/combined/{combined['id']}/submit", headers=auth("net20")))

    review = ok(client.get(f"{API}/workflow/combined/{combined['id']}/review", headers=auth("rcc")))
    approved = ok(
        client.post(
            f"{API}/workflow/combined/{combined['id']}/approve", json={}, headers=auth("rcc")
        )
    )

    assert [(r["free_every_date"], r["dates"]) for r in review] == [(True, 8)]
    assert approved["combined"]["state"] == "approved"
    item = approved["requests"][0]["items"][0]
    assert approved["bookings"] == {item["id"]: item["booking_id"]}
    feed = client.get(f"{API}/calendars/schools/kem-school-12.ics", headers=auth("school12"))
    assert feed.status_code == 200
    assert feed.text.count("BEGIN:VEVENT") == 8  # the Wednesdays of the first quarter
    assert "X-VKS-SUBJECT:Физика" in feed.text


def test_edits_take_if_match_and_bad_input_is_a_problem(client: TestClient, auth: Auth) -> None:
    offer = ok(client.post(f"{API}/workflow/offers", json=OFFER, headers=auth("net20")), 201)

    stale = client.put(
        f"{API}/workflow/offers/{offer['id']}",
        json={**OFFER, "places": 4},
        headers={**auth("net20"), "If-Match": '"v7"'},
    )
    fresh = client.put(
        f"{API}/workflow/offers/{offer['id']}",
        json={**OFFER, "places": 4},
        headers={**auth("net20"), "If-Match": '"v1"'},
    )
    no_lesson = client.post(
        f"{API}/workflow/offers",
        json={**OFFER, "weekly": {**OFFER["weekly"], "lesson_number": None}},
        headers=auth("net20"),
    )
    not_in_timetable = client.post(
        f"{API}/workflow/requests",
        json={
            "school_id": "kem-school-12",
            "items": [{"offer_id": offer["id"], "class_name": "10А", "pupils": 20}],
        },
        headers=auth("school12"),
    )

    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    assert fresh.status_code == 200 and fresh.headers["etag"] == '"v2"'
    assert no_lesson.status_code == 422
    assert no_lesson.headers["content-type"] == "application/problem+json"
    assert not_in_timetable.status_code == 422
    assert "published no timetable" in not_in_timetable.json()["detail"]


def test_the_recurring_answer_is_written_as_its_declared_model_writes_it() -> None:
    answer = RecurringAnswer(
        free=[RecurringFit("term-kem-20", "kem-school-20", 8)],
        mostly_free=[
            RecurringFit("term-kem-12", "kem-school-12", 8, [date(2026, 9, 15), date(2026, 10, 6)])
        ],
    )

    body = recurring_json(answer)

    declared = RecurringOut.model_validate(answer, from_attributes=True).model_dump_json()
    assert body == declared.encode()
    assert json.loads(body)["mostly_free"][0]["clashes"] == ["2026-09-15", "2026-10-06"]


def test_recurring_slot_search_in_one_call(client: TestClient, auth: Auth) -> None:
    answer = ok(
        client.get(
            f"{API}/availability/recurring",
            params={"weekday": 1, "lesson_number": 3, "from": "2026-09-01", "to": "2026-10-24"},
            headers=auth("net20"),
        )
    )
    both = client.get(
        f"{API}/availability/recurring",
        params={"weekday": 1, "lesson_number": 3, "start_time": "09:00", "end_time": "09:40",
                "from": "2026-09-01", "to": "2026-10-24"},
        headers=auth("net20"),
    )  # fmt: skip

    free = {f["terminal_id"]: f for f in answer["free"]}
    assert "term-kem-20" in free and free["term-kem-20"]["dates"] == 8
    assert all(f["clashes"] for f in answer["mostly_free"])
    assert both.status_code == 422
