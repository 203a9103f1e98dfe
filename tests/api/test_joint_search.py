"""`GET /api/v1/availability/joint-lessons`: lessons free for a Kuzbass school and its
Mordovian partner at once, each in both schools' local time and own lesson numbers —
never the host's early lessons that fall before the partner's day begins."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
URL = "/api/v1/availability/joint-lessons"


def test_joint_lessons_of_two_schools_in_both_local_times(client: TestClient, auth: Auth) -> None:
    params = {
        "site_id": ["kem-school-20", "ins-school-mp"],
        "from": "2026-09-15",
        "to": "2026-09-15",
    }

    answer = client.get(URL, params=params, headers=auth("net20"))

    assert answer.status_code == 200, answer.text
    slots = answer.json()["slots"]
    assert [s["host_lesson_number"] for s in slots] == [6, 7, 8]
    kemerovo, insar = slots[0]["schools"]
    assert (kemerovo["local_start"], kemerovo["lesson_number"]) == ("2026-09-15T12:20:00+07:00", 6)
    assert (insar["local_start"], insar["lesson_number"]) == ("2026-09-15T08:20:00+03:00", 1)


def test_a_joint_search_of_one_school_is_bad_input(client: TestClient, auth: Auth) -> None:
    params = {"site_id": ["kem-school-20"], "from": "2026-09-15", "to": "2026-09-15"}

    answer = client.get(URL, params=params, headers=auth("net20"))

    assert answer.status_code == 422
    assert "2 to 20 different schools" in answer.json()["detail"]


def test_a_booking_outside_the_partners_day_is_warned_and_refused_when_strict(
    client: TestClient, auth: Auth
) -> None:
    body = {
        "title": "Информатика, 9 класс",
        "kind": "full_broadcast",
        "host_school_id": "kem-school-20",
        "teacher": "Соколова Елена Викторовна",
        "participants": [
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
            {"school_id": "ins-school-mp", "terminal_id": "term-ins-mp"},
        ],
        "date": "2026-09-15",
        "lesson_number": 3,  # 09:45 in Kemerovo, 05:45 in Moscow
    }

    dry_run = client.post(
        "/api/v1/bookings", json=body, params={"dry_run": "true"}, headers=auth("net20")
    )
    strict = client.post(
        "/api/v1/bookings", json=body, params={"strict": "true"}, headers=auth("net20")
    )

    assert dry_run.status_code == 200, dry_run.text
    [warning] = dry_run.json()["warnings"]
    assert "05:45" in warning and "outside its school day (08:00–14:40)" in warning
    assert strict.status_code == 422
    assert strict.json()["detail"] == warning
