"""Calendar feeds people subscribe to: a network administrator's feed token points at the
network's feed (every lesson of its schools), a feed asked for without a token says how
to pass one, and `?tz=local` gives events in the school's zone with its VTIMEZONE."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.api.test_scheduler import lesson

Auth = Callable[[str], dict[str, str]]


def summaries(feed: bytes) -> list[str]:
    return [str(e["summary"]) for e in Calendar.from_ical(feed).walk("VEVENT")]


def test_a_network_administrators_feed_token_points_at_the_networks_lessons(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    at_school_20 = client.post("/api/v1/bookings", json=lesson(), headers=net20)
    at_school_12 = client.post("/api/v1/bookings", json=lesson(
        title="Химия, 9 класс", host_school_id="kem-school-12",
        participants=[{"school_id": "kem-school-12", "terminal_id": "term-kem-12"}]),
        headers=net20)  # fmt: skip
    assert at_school_20.status_code == at_school_12.status_code == 201

    answer = client.post("/api/v1/auth/feed-token", json={"name": "Outlook"}, headers=net20)
    feed_url = answer.json()["feed"]
    feed = client.get(feed_url)
    old_url = client.get("/api/v1/calendars/schools/kem-net-20.ics",
                         params={"token": answer.json()["token"]})  # fmt: skip

    assert "/calendars/organisations/kem-net-20.ics?token=" in feed_url
    assert feed.status_code == 200, feed.text
    assert sorted(summaries(feed.content)) == ["Физика, 10 класс (3-й урок)",
                                               "Химия, 9 класс (3-й урок)"]  # fmt: skip
    assert sorted(summaries(old_url.content)) == sorted(summaries(feed.content))


def test_a_schools_feed_token_points_at_the_schools_feed(client: TestClient, auth: Auth) -> None:
    answer = client.post("/api/v1/auth/feed-token", headers=auth("school12"))

    assert "/calendars/schools/kem-school-12.ics?token=" in answer.json()["feed"]


def test_a_feed_without_a_token_says_how_to_pass_one(client: TestClient) -> None:
    answer = client.get("/api/v1/calendars/schools/kem-school-20.ics")

    assert answer.status_code == 401
    assert "?token=" in answer.json()["detail"]
    assert "POST /api/v1/auth/feed-token" in answer.json()["detail"]


def test_a_local_time_feed_carries_the_schools_zone(client: TestClient, auth: Auth) -> None:
    net20 = auth("net20")
    client.post("/api/v1/bookings", json=lesson(), headers=net20)

    utc = client.get("/api/v1/calendars/schools/kem-school-20.ics", headers=net20)
    local = client.get("/api/v1/calendars/schools/kem-school-20.ics", params={"tz": "local"},
                       headers=net20)  # fmt: skip

    assert local.status_code == 200, local.text
    [event] = Calendar.from_ical(local.content).walk("VEVENT")
    [in_utc] = Calendar.from_ical(utc.content).walk("VEVENT")
    assert str(event.decoded("dtstart").tzinfo) == "Asia/Novokuznetsk"
    assert event.decoded("dtstart") == in_utc.decoded("dtstart")  # the same instant
    assert b"DTSTART;TZID=Asia/Novokuznetsk:20260915T094500" in local.content
    assert b"BEGIN:VTIMEZONE" in local.content and b"BEGIN:VTIMEZONE" not in utc.content
    wrong = client.get("/api/v1/calendars/schools/kem-school-20.ics", params={"tz": "moon"},
                       headers=net20)  # fmt: skip
    assert wrong.status_code == 422
