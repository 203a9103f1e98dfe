"""Pages count what the caller may see with one query, and say so in `total` and `links`;
out-of-range paging and feed dates are refused with a reason; a calendar feed holds
exactly the lessons of its dates. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from icalendar import Calendar

Auth = Callable[[str], dict[str, str]]


def lesson(on: str, number: int = 3, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Физика, 10 класс",
        "host_school_id": "kem-school-20",
        "teacher": "Иванова Мария Петровна",
        "participants": [{"school_id": "kem-school-20", "terminal_id": "term-kem-20"}],
        "date": on,
        "lesson_number": number,
    }
    body.update(changes)
    return body


def novokuznetsk_lesson(on: str) -> dict[str, Any]:
    return lesson(
        on,
        title="Химия, 11 класс",
        host_school_id="nvk-school-5",
        teacher="Кузнецова Ирина Львовна",
        participants=[{"school_id": "nvk-school-5", "terminal_id": "term-nvk-5"}],
    )


def every(client: TestClient, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get(path, params={"limit": 1000}, headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def lesson_dates(feed: bytes) -> list[str]:
    calendar = Calendar.from_ical(feed)
    return sorted(e.decoded("dtstart").date().isoformat() for e in calendar.walk("VEVENT"))


# --- totals -----------------------------------------------------------------------------------
def test_a_page_of_bookings_counts_only_the_bookings_the_caller_may_see(
    client: TestClient, auth: Auth
) -> None:
    net20, net5, rcc = auth("net20"), auth("net5"), auth("rcc")
    for day in ("2026-09-08", "2026-09-15", "2026-09-22"):
        assert client.post("/api/v1/bookings", json=lesson(day), headers=net20).status_code == 201
    created = client.post("/api/v1/bookings", json=novokuznetsk_lesson("2026-09-08"), headers=net5)
    assert created.status_code == 201, created.text

    kemerovo = client.get("/api/v1/bookings", params={"limit": 1}, headers=net20).json()
    novokuznetsk = client.get("/api/v1/bookings", params={"limit": 1}, headers=net5).json()
    region = client.get("/api/v1/bookings", params={"limit": 1}, headers=rcc).json()
    september_15_on = client.get(
        "/api/v1/bookings",
        params={"start": "2026-09-15T00:00:00+07:00", "end": "2026-10-01T00:00:00+07:00"},
        headers=net20,
    ).json()

    assert (kemerovo["total"], novokuznetsk["total"], region["total"]) == (3, 1, 4)
    assert len(kemerovo["items"]) == 1
    assert kemerovo["links"]["next"] is not None
    assert novokuznetsk["links"]["next"] is None
    assert september_15_on["total"] == 2
    assert len(september_15_on["items"]) == 2


def test_a_page_of_all_visible_occurrences_counts_only_what_the_caller_may_see(
    client: TestClient, auth: Auth
) -> None:
    net20, net5, rcc = auth("net20"), auth("net5"), auth("rcc")
    for day in ("2026-09-08", "2026-09-15", "2026-09-22"):
        assert client.post("/api/v1/bookings", json=lesson(day), headers=net20).status_code == 201
    created = client.post("/api/v1/bookings", json=novokuznetsk_lesson("2026-09-15"), headers=net5)
    assert created.status_code == 201, created.text
    september = {
        "start": "2026-09-01T00:00:00+07:00",
        "end": "2026-10-01T00:00:00+07:00",
        "limit": 2,
    }

    kemerovo = client.get("/api/v1/occurrences", params=september, headers=net20).json()
    novokuznetsk = client.get("/api/v1/occurrences", params=september, headers=net5).json()
    region = client.get("/api/v1/occurrences", params=september, headers=rcc).json()

    assert (kemerovo["total"], novokuznetsk["total"], region["total"]) == (3, 1, 4)
    assert [o["local_date"] for o in kemerovo["items"]] == ["2026-09-08", "2026-09-15"]
    assert "offset=2" in kemerovo["links"]["next"]
    assert novokuznetsk["items"][0]["title"] == "Химия, 11 класс"


def test_a_network_admin_counts_the_organisations_sites_and_terminals_of_the_network(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")

    organisations = client.get("/api/v1/organisations", params={"limit": 2}, headers=net20).json()
    sites = client.get("/api/v1/sites", params={"limit": 2}, headers=net20).json()
    terminals = client.get("/api/v1/terminals", params={"limit": 2}, headers=net20).json()

    schools = [o for o in every(client, "/api/v1/organisations", net20) if o["kind"] == "school"]
    assert len(schools) == 8  # the schools of the network of СОШ №20
    assert organisations["total"] == 9  # and the network itself
    assert sites["total"] == 8
    assert [s["id"] for s in sites["items"]] == [s["id"] for s in schools[:2]]  # by path
    network_terminals = every(client, "/api/v1/terminals", net20)
    assert terminals["total"] == len(network_terminals) > 2
    assert {t["site_id"] for t in network_terminals} <= {s["id"] for s in schools}


def test_the_rccs_sites_are_the_schools_and_the_rcc_itself_by_path(
    client: TestClient, auth: Auth
) -> None:
    rcc = auth("rcc")

    sites = every(client, "/api/v1/sites", rcc)
    first_page = client.get("/api/v1/sites", params={"limit": 5}, headers=rcc).json()

    organisations = every(client, "/api/v1/organisations", rcc)
    expected = [o for o in organisations if o["kind"] in ("school", "region")]
    assert [s["id"] for s in sites] == [o["id"] for o in expected]
    assert first_page["total"] == len(expected)
    assert [s["id"] for s in first_page["items"]] == [o["id"] for o in expected[:5]]
    assert [o["path"] for o in organisations] == sorted(o["path"] for o in organisations)


def test_active_only_counts_only_active_terminals(client: TestClient, auth: Auth) -> None:
    rcc = auth("rcc")
    terminals = every(client, "/api/v1/terminals", rcc)

    active = client.get(
        "/api/v1/terminals", params={"active_only": "true", "limit": 1}, headers=rcc
    ).json()
    of_one_site = client.get(
        "/api/v1/terminals", params={"site_id": "kem-school-20"}, headers=rcc
    ).json()

    assert active["total"] == sum(1 for t in terminals if t["active"])
    assert of_one_site["total"] == sum(1 for t in terminals if t["site_id"] == "kem-school-20")
    assert of_one_site["total"] >= 1


# --- links at the edges -----------------------------------------------------------------------
def test_the_links_are_right_at_the_edges(client: TestClient, auth: Auth) -> None:
    rcc = auth("rcc")
    total = len(every(client, "/api/v1/terminals", rcc))

    def at(offset: int) -> dict[str, Any]:
        answer = client.get(
            "/api/v1/terminals", params={"offset": offset, "limit": 10}, headers=rcc
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    last_full, one_short, past_the_end, near_start = (
        at(total - 10), at(total - 11), at(total), at(5),
    )  # fmt: skip

    assert total == 36
    assert len(last_full["items"]) == 10
    assert last_full["links"]["next"] is None
    assert f"offset={total - 20}" in last_full["links"]["prev"]
    assert f"offset={total - 1}" in one_short["links"]["next"]
    assert past_the_end["items"] == []
    assert past_the_end["total"] == total
    assert past_the_end["links"]["next"] is None
    assert f"offset={total - 10}" in past_the_end["links"]["prev"]
    assert "offset=0" in near_start["links"]["prev"]
    assert "limit=10" in near_start["links"]["self"]


# --- out of range -----------------------------------------------------------------------------
def test_an_offset_beyond_any_list_is_refused_with_a_reason(client: TestClient, auth: Auth) -> None:
    for path in ("/api/v1/bookings", "/api/v1/terminals", "/api/v1/sites", "/api/v1/organisations"):
        answer = client.get(path, params={"offset": "99999999999999999999"}, headers=auth("rcc"))

        assert answer.status_code == 422, (path, answer.status_code, answer.text)
        assert "offset" in answer.text


def test_a_feed_from_the_first_day_of_the_calendar_is_refused_with_a_reason(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    feed = "/api/v1/calendars/schools/kem-school-20.ics"

    from_year_one = client.get(feed, params={"from": "0001-01-01"}, headers=net20)
    to_year_9999 = client.get(
        feed, params={"from": "9999-12-01", "to": "9999-12-31"}, headers=net20
    )
    backwards = client.get(feed, params={"from": "2026-10-01", "to": "2026-09-01"}, headers=net20)

    assert from_year_one.status_code == 422, from_year_one.text
    assert "from must lie between" in from_year_one.json()["detail"]
    assert to_year_9999.status_code == 422, to_year_9999.text
    assert "to must lie between" in to_year_9999.json()["detail"]
    assert backwards.status_code == 422, backwards.text


# --- feeds ------------------------------------------------------------------------------------
def test_a_feed_contains_exactly_the_lessons_of_its_dates(client: TestClient, auth: Auth) -> None:
    net20 = auth("net20")
    for day in ("2026-09-08", "2026-09-15", "2026-09-22"):  # Tuesdays, 09:45 at UTC+7
        assert client.post("/api/v1/bookings", json=lesson(day), headers=net20).status_code == 201

    wednesday_to_monday = client.get(
        "/api/v1/calendars/schools/kem-school-20.ics",
        params={"from": "2026-09-09", "to": "2026-09-21"},
        headers=net20,
    )
    tuesday_to_tuesday = client.get(
        "/api/v1/calendars/terminals/term-kem-20.ics",
        params={"from": "2026-09-08", "to": "2026-09-22"},
        headers=net20,
    )

    assert wednesday_to_monday.status_code == 200, wednesday_to_monday.text
    assert lesson_dates(wednesday_to_monday.content) == ["2026-09-15"]
    assert lesson_dates(tuesday_to_tuesday.content) == ["2026-09-08", "2026-09-15", "2026-09-22"]


# --- one list shape everywhere ------------------------------------------------------------------
LISTS = ["cameras", "users", "servers", "academic-years", "bell-schedules", "auth/feed-tokens"]


def test_every_list_answers_items_total_and_links(client: TestClient, auth: Auth) -> None:
    rcc = auth("rcc")
    client.post("/api/v1/auth/feed-token", json={"name": "Outlook"}, headers=rcc)

    for path in LISTS:
        answer = client.get(f"/api/v1/{path}", params={"limit": 1}, headers=rcc)

        assert answer.status_code == 200, (path, answer.text)
        body = answer.json()
        assert isinstance(body, dict), path
        assert len(body["items"]) == 1, path
        assert body["total"] >= 1, path
        assert body["links"]["prev"] is None, path
        assert (body["links"]["next"] is not None) == (body["total"] > 1), path


def test_cameras_and_users_are_counted_from_storage(client: TestClient, auth: Auth) -> None:
    rcc = auth("rcc")

    cameras = client.get("/api/v1/cameras", params={"limit": 10}, headers=rcc).json()
    of_network = client.get("/api/v1/cameras", params={"limit": 1000}, headers=auth("net20"))
    users = client.get("/api/v1/users", params={"limit": 5, "offset": 5}, headers=rcc).json()

    assert cameras["total"] == 31  # the demo region's cameras
    assert len(cameras["items"]) == 10
    assert 0 < of_network.json()["total"] < 31  # the network's own
    assert {c["id"] for c in of_network.json()["items"]} < {
        c["id"] for c in every(client, "/api/v1/cameras", rcc)
    }
    assert users["total"] == 8  # the demo users
    assert len(users["items"]) == 3
    assert "password_hash" not in users["items"][0]
    assert client.get("/api/v1/users", headers=auth("net20")).status_code == 403


MONITOR_LISTS = [
    "monitor/devices",
    "monitor/devices/terminal/term-kem-20/history",
    "monitor/lessons/at-risk",
    "monitor/alerts",
]


def test_the_monitors_lists_answer_pages_too(client: TestClient, auth: Auth) -> None:
    rcc = auth("rcc")

    for path in MONITOR_LISTS:
        answer = client.get(f"/api/v1/{path}", params={"limit": 2}, headers=rcc)

        assert answer.status_code == 200, (path, answer.text)
        body = answer.json()
        assert isinstance(body, dict), path
        assert set(body) >= {"items", "total", "links"}, path
        assert len(body["items"]) == min(2, body["total"]), path
    devices = client.get("/api/v1/monitor/devices", params={"limit": 2}, headers=rcc).json()
    assert devices["total"] > 2 and devices["links"]["next"] is not None


def test_a_monitor_filter_with_a_nul_character_is_refused_with_a_reason(
    client: TestClient, auth: Auth
) -> None:
    answer = client.get("/api/v1/monitor/devices", params={"site": "kem\x00school"},
                        headers=auth("rcc"))  # fmt: skip

    assert answer.status_code == 422
    assert "NUL" in answer.text
