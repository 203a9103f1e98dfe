"""Single-date exceptions (move, cancel, substitute teacher) and availability answers
(free terminals for a slot, free lessons in local time and UTC, free intervals)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from icalendar import Calendar

Auth = Callable[[str], dict[str, str]]

SERIES = {
    "title": "Физика, 10 класс",
    "host_school_id": "kem-school-20",
    "teacher": "Иванова Мария Петровна",
    "participants": [
        {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
        {"school_id": "kem-school-12", "terminal_id": "term-kem-12"},
    ],
    "weekly": {"weekdays": ["tue"], "lesson_number": 3, "quarter": 1},
}


def book(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/api/v1/bookings", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def statuses(feed: bytes) -> dict[str, str]:
    return {
        e.decoded("dtstart").date().isoformat(): str(e["status"])
        for e in Calendar.from_ical(feed).walk("VEVENT")
    }


def test_one_date_is_moved_to_another_lesson_and_keeps_where_it_came_from(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    occurrence = book(client, net20, SERIES)["occurrences"][1]  # 2026-09-08
    url = f"/api/v1/occurrences/{occurrence['id']}"

    moved = client.post(f"{url}/move", json={"lesson_number": 5}, headers=net20)

    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["lesson_number"] == 5
    assert body["start"] == "2026-09-08T04:30:00Z"  # 11:30 in Kemerovo
    assert body["moved_from"] == "2026-09-08T02:45:00Z"
    assert moved.headers["ETag"] == '"v2"'
    stale = client.post(
        f"{url}/move", json={"lesson_number": 6}, headers={**net20, "If-Match": '"v1"'}
    )
    assert stale.status_code == 412


def test_a_move_onto_a_busy_lesson_is_409_with_alternatives(client: TestClient, auth: Auth) -> None:
    net20 = auth("net20")
    occurrence = book(client, net20, SERIES)["occurrences"][0]  # 2026-09-01, 3rd lesson
    book(client, net20, {**SERIES, "weekly": None, "date": "2026-09-01", "lesson_number": 4})

    refused = client.post(
        f"/api/v1/occurrences/{occurrence['id']}/move", json={"lesson_number": 4}, headers=net20
    )

    assert refused.status_code == 409
    problem = refused.json()
    assert {c["terminal_id"] for c in problem["conflicts"]} == {"term-kem-20", "term-kem-12"}
    assert problem["alternatives"]
    current = client.get(f"/api/v1/occurrences/{occurrence['id']}", headers=net20).json()
    assert current["lesson_number"] == 3  # unchanged


def test_a_cancelled_date_frees_the_terminals_and_shows_as_cancelled_in_the_feed(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    occurrence = book(client, net20, SERIES)["occurrences"][2]  # 2026-09-15

    cancelled = client.post(
        f"/api/v1/occurrences/{occurrence['id']}/cancel", json={"reason": "карантин"}, headers=net20
    )
    free = client.get(
        "/api/v1/availability/terminals",
        params={"start": "2026-09-15T09:45:00+07:00", "end": "2026-09-15T10:25:00+07:00",
                "org_id": "kem-school-20"},
        headers=net20,
    ).json()  # fmt: skip
    feed = client.get(
        "/api/v1/calendars/terminals/term-kem-20.ics",
        params={"from": "2026-09-01", "to": "2026-09-30"},
        headers=net20,
    )

    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled"] is True
    assert cancelled.json()["state_reason"] == "карантин"
    assert {t["id"] for t in free["terminals"]} == {"term-kem-20", "term-kem-20-b"}
    assert statuses(feed.content)["2026-09-15"] == "CANCELLED"
    assert statuses(feed.content)["2026-09-08"] == "CONFIRMED"


def test_free_terminals_are_named_by_id_site_name_and_vendor_only(
    client: TestClient, auth: Auth
) -> None:
    free = client.get(
        "/api/v1/availability/terminals",
        params={"start": "2026-09-15T09:45:00+07:00", "end": "2026-09-15T10:25:00+07:00",
                "org_id": "kem-school-20"},
        headers=auth("net20"),
    )  # fmt: skip

    assert free.status_code == 200
    first = free.json()["terminals"][0]
    assert set(first) == {"id", "site_id", "name", "vendor"}  # no credentials, no endpoints
    assert (first["id"], first["site_id"]) == ("term-kem-20", "kem-school-20")


def test_a_substitute_teacher_takes_one_lesson_into_their_own_feed(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    occurrence = book(client, net20, SERIES)["occurrences"][3]  # 2026-09-22

    substituted = client.post(
        f"/api/v1/occurrences/{occurrence['id']}/substitute",
        json={"teacher": "Петров Иван Сергеевич"},
        headers=net20,
    )
    substitute_feed = client.get(
        "/api/v1/calendars/teachers/Петров Иван Сергеевич.ics",
        params={"from": "2026-09-01", "to": "2026-10-31"},
        headers=net20,
    )
    own_feed = client.get(
        "/api/v1/calendars/teachers/Иванова Мария Петровна.ics",
        params={"from": "2026-09-01", "to": "2026-10-31"},
        headers=net20,
    )

    assert substituted.json()["teacher"] == "Петров Иван Сергеевич"
    assert list(statuses(substitute_feed.content)) == ["2026-09-22"]
    assert "2026-09-22" not in statuses(own_feed.content)
    assert len(statuses(own_feed.content)) == 7


def test_free_lessons_are_answered_in_the_schools_local_time_and_in_utc(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    book(client, net20, SERIES)

    kemerovo = client.get(
        "/api/v1/availability/lessons",
        params={"terminal_id": "term-kem-20", "from": "2026-09-08", "to": "2026-09-08"},
        headers=net20,
    ).json()
    insar = client.get(
        "/api/v1/availability/lessons",
        params={"site_id": "ins-school-mp", "from": "2026-09-08", "to": "2026-09-08"},
        headers=net20,
    ).json()

    assert kemerovo["time_zone"] == "Asia/Novokuznetsk"
    assert [lesson["lesson_number"] for lesson in kemerovo["lessons"]] == [1, 2, 4, 5, 6, 7, 8]
    first = kemerovo["lessons"][0]
    assert (first["local_start"], first["start"]) == (
        "2026-09-08T08:00:00+07:00",
        "2026-09-08T01:00:00Z",
    )
    assert insar["time_zone"] == "Europe/Moscow"
    first_insar = insar["lessons"][0]
    assert (first_insar["local_start"], first_insar["start"]) == (
        "2026-09-08T08:00:00+03:00",
        "2026-09-08T05:00:00Z",
    )
    holiday = client.get(
        "/api/v1/availability/lessons",
        params={"site_id": "kem-school-20", "from": "2026-11-04", "to": "2026-11-04"},
        headers=net20,
    ).json()
    assert holiday["lessons"] == []  # a public holiday has no lessons


def test_free_intervals_of_a_terminal_leave_out_its_bookings(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    book(client, net20, SERIES)

    answer = client.get(
        "/api/v1/availability/intervals",
        params={"terminal_id": "term-kem-20", "from": "2026-09-08", "to": "2026-09-08",
                "day_start": "08:00", "day_end": "12:00"},
        headers=net20,
    ).json()  # fmt: skip

    spans = [(i["local_start"][11:16], i["local_end"][11:16]) for i in answer["intervals"]]
    assert spans == [("08:00", "09:35"), ("10:25", "12:00")]  # 10 min set-up before 09:45


def test_a_school_day_resolves_lesson_numbers_to_local_and_utc(
    client: TestClient, auth: Auth
) -> None:
    day = client.get(
        "/api/v1/sites/ins-school-1/day", params={"date": "2027-03-05"}, headers=auth("netins")
    ).json()
    lesson = client.get(
        "/api/v1/sites/kem-school-20/lessons/3",
        params={"date": "2026-09-08"},
        headers=auth("net20"),
    ).json()

    assert day["shortened"] is True  # the day before 8 March
    assert day["lessons"][0]["local_end"] == "2027-03-05T08:30:00+03:00"
    assert (lesson["local_start"], lesson["start"]) == (
        "2026-09-08T09:45:00+07:00",
        "2026-09-08T02:45:00Z",
    )
