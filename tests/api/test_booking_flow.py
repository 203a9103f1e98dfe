"""The demo region end to end over HTTP: a network administrator books a weekly lesson by
lesson number for two schools in two time zones and finds it in the calendar feeds; a
clashing booking is refused with the conflicts and alternatives; another network's
administrator is kept out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

Auth = Callable[[str], dict[str, str]]

MOSCOW = ZoneInfo("Europe/Moscow")
NOVOKUZNETSK = ZoneInfo("Asia/Novokuznetsk")
TUESDAYS_OF_Q1 = ["2026-09-01", "2026-09-08", "2026-09-15", "2026-09-22", "2026-09-29",
                  "2026-10-06", "2026-10-13", "2026-10-20"]  # fmt: skip


def weekly_informatics(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Информатика, 9 класс (межрегиональный курс)",
        "kind": "full_broadcast",
        "host_school_id": "kem-school-20",
        "teacher": "Соколова Елена Викторовна",
        "subject": "Информатика",
        "participants": [
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20",
             "camera_preset": "teacher", "class_name": "9А"},
            {"school_id": "ins-school-mp", "terminal_id": "term-ins-mp",
             "camera_preset": "class", "class_name": "9"},
        ],
        "weekly": {"weekdays": ["tue"], "lesson_number": 3, "quarter": 1},
    }  # fmt: skip
    body.update(changes)
    return body


def events(feed: bytes) -> list[Any]:
    return [c for c in Calendar.from_ical(feed).walk("VEVENT")]


def test_the_demo_region_is_loaded(client: TestClient, auth: Auth) -> None:
    rcc = auth("rcc")

    orgs = client.get("/api/v1/organisations", params={"limit": 1}, headers=rcc).json()
    terminals = client.get("/api/v1/terminals", params={"limit": 1}, headers=rcc).json()
    sites = client.get("/api/v1/sites", params={"limit": 100}, headers=rcc).json()
    servers = client.get("/api/v1/servers", headers=rcc).json()

    assert orgs["total"] == 1 + 4 + 4 + 30  # region, municipalities, networks, schools
    assert terminals["total"] == 36
    assert sites["total"] == 31  # 30 schools and the RCC itself
    assert {s["kind"] for s in servers["items"]} == {"bbb", "jitsi"}
    insar = client.get("/api/v1/organisations/ins-school-1", headers=rcc).json()
    assert insar["name"] == "МБОУ «Инсарская СОШ №1»"
    assert insar["time_zone"] == "Europe/Moscow"


def test_a_network_admin_books_a_weekly_lesson_across_two_time_zones_and_sees_it_in_the_feeds(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")

    created = client.post("/api/v1/bookings", json=weekly_informatics(), headers=net20)

    assert created.status_code == 201, created.text
    result = created.json()
    booking = result["booking"]
    assert created.headers["Location"] == f"/api/v1/bookings/{booking['id']}"
    assert created.headers["ETag"] == '"v1"'
    assert booking["owner_org_id"] == "kem-net-20"
    assert booking["weekly"]["starts_on"] == "2026-09-01"
    assert booking["weekly"]["ends_on"] == "2026-10-24"
    assert [o["local_date"] for o in result["occurrences"]] == TUESDAYS_OF_Q1
    first = result["report"][0]
    assert first["status"] == "booked"
    assert first["local_start"] == "2026-09-01T09:45:00+07:00"  # the host school's 3rd lesson
    assert first["start"] == "2026-09-01T02:45:00Z"

    feed = client.get(
        "/api/v1/calendars/schools/ins-school-mp.ics",
        params={"from": "2026-09-01", "to": "2026-10-31"},
        headers=net20,
    )
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    lessons = events(feed.content)
    assert len(lessons) == 8
    sep_8 = next(e for e in lessons if e.decoded("dtstart").date().isoformat() == "2026-09-08")
    start: datetime = sep_8.decoded("dtstart")
    assert start.astimezone(MOSCOW).strftime("%H:%M") == "05:45"  # Moscow time in Insar
    assert start.astimezone(NOVOKUZNETSK).strftime("%H:%M") == "09:45"
    assert "Информатика" in str(sep_8["summary"])
    assert str(sep_8["status"]) == "CONFIRMED"

    token = client.post("/api/v1/auth/feed-token", headers=net20).json()["token"]
    terminal_feed = client.get(
        "/api/v1/calendars/terminals/term-kem-20.ics",
        params={"token": token, "from": "2026-09-01", "to": "2026-09-30"},
    )
    teacher_feed = client.get(
        "/api/v1/calendars/teachers/Соколова Елена Викторовна.ics",
        params={"token": token, "from": "2026-09-01", "to": "2026-09-30"},
    )
    assert terminal_feed.status_code == 200
    assert len(events(terminal_feed.content)) == 5  # the Tuesdays of September
    assert len(events(teacher_feed.content)) == 5


def test_a_conflicting_booking_gets_409_with_the_conflicts_and_alternatives(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    first = client.post("/api/v1/bookings", json=weekly_informatics(), headers=net20).json()
    physics = {
        "title": "Физика, 10 класс",
        "host_school_id": "kem-school-20",
        "teacher": "Иванова Мария Петровна",
        "participants": [{"school_id": "kem-school-20", "terminal_id": "term-kem-20"}],
        "date": "2026-09-15",
        "lesson_number": 3,
    }

    refused = client.post("/api/v1/bookings", json=physics, headers=net20)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "booking_conflict"
    assert problem["type"] == "urn:vks:problem:booking_conflict"
    assert problem["instance"] == "/api/v1/bookings"
    assert "2026-09-15" in problem["detail"]
    [conflict] = problem["conflicts"]
    assert conflict["kind"] == "terminal_busy"
    assert conflict["terminal_id"] == "term-kem-20"
    assert conflict["other_booking_id"] == first["booking"]["id"]
    kinds = {a["kind"] for a in problem["alternatives"]}
    assert kinds == {"other_terminal", "other_lesson"}
    other_terminal = next(a for a in problem["alternatives"] if a["kind"] == "other_terminal")
    assert other_terminal["terminal_id"] == "term-kem-20-b"  # the base school's second room
    other_lesson = next(a for a in problem["alternatives"] if a["kind"] == "other_lesson")
    assert other_lesson["local_date"] == "2026-09-15" and other_lesson["lesson_number"] != 3
    assert problem["report"][0]["status"] == "conflict"
    listed = client.get("/api/v1/bookings", headers=net20).json()
    assert listed["total"] == 1  # nothing written

    moved = client.post(
        "/api/v1/bookings",
        json={**physics, "lesson_number": other_lesson["lesson_number"]},
        headers=net20,
    )
    assert moved.status_code == 201


def test_a_network_admin_of_another_network_gets_403_with_the_reason(
    client: TestClient, auth: Auth
) -> None:
    booked = client.post("/api/v1/bookings", json=weekly_informatics(), headers=auth("net20"))
    booking_id = booked.json()["booking"]["id"]
    net5 = auth("net5")

    refused = client.post("/api/v1/bookings", json=weekly_informatics(), headers=net5)
    peek = client.get(f"/api/v1/bookings/{booking_id}", headers=net5)
    cancel = client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=net5)

    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert "outside the scope of this network_admin" in refused.json()["detail"]
    assert peek.status_code == 403
    assert cancel.status_code == 403
    listed = client.get("/api/v1/bookings", headers=auth("rcc")).json()
    assert listed["total"] == 1


@pytest.mark.parametrize("username", ["net20", "rcc", "kem-coord"])
def test_those_in_scope_read_the_booking(client: TestClient, auth: Auth, username: str) -> None:
    booked = client.post("/api/v1/bookings", json=weekly_informatics(), headers=auth("net20"))
    booking_id = booked.json()["booking"]["id"]

    read = client.get(f"/api/v1/bookings/{booking_id}", headers=auth(username))
    occurrences = client.get(f"/api/v1/bookings/{booking_id}/occurrences", headers=auth(username))

    assert read.status_code == 200
    assert read.headers["ETag"] == '"v1"'
    assert occurrences.json()["total"] == 8


def test_a_series_can_be_checked_first_and_booked_on_its_free_dates_only(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    blocker = {
        "title": "Совещание сети",
        "kind": "event",
        "host_school_id": "kem-school-20",
        "teacher": "Соколова Елена Викторовна",
        "participants": [{"school_id": "kem-school-20", "terminal_id": "term-kem-20"}],
        "date": "2026-09-15",
        "lesson_number": 3,
    }
    assert client.post("/api/v1/bookings", json=blocker, headers=net20).status_code == 201

    checked = client.post(
        "/api/v1/bookings", params={"dry_run": "true"}, json=weekly_informatics(), headers=net20
    )
    booked = client.post(
        "/api/v1/bookings",
        params={"skip_conflicts": "true"},
        json=weekly_informatics(),
        headers=net20,
    )

    assert checked.status_code == 200
    assert checked.json()["written"] is False
    report = {row["local_date"]: row["status"] for row in checked.json()["report"]}
    assert report["2026-09-15"] == "conflict"
    assert report["2026-09-08"] == "free"
    assert booked.status_code == 201
    result = booked.json()
    assert len(result["occurrences"]) == 7
    assert "2026-09-15" not in [o["local_date"] for o in result["occurrences"]]
    left_out = next(r for r in result["report"] if r["local_date"] == "2026-09-15")
    assert left_out["status"] == "conflict"
    assert left_out["reason"].startswith("left out:")
