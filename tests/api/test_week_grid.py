"""`GET /api/v1/grid`: one week of a network as lesson numbers by each school's bells in its
local time — a Kemerovo lesson in the Mordovian partner's own numbering — in the one list
shape (`items`, `total`, `links`) with links to the weeks around it; scoped like the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]
URL = "/api/v1/grid"
TUESDAY = "2027-01-12"


def book_the_seventh_lesson(client: TestClient, auth: Auth) -> None:
    body = {
        "title": "Информатика, 9 класс",
        "kind": "full_broadcast",
        "host_school_id": "kem-school-20",
        "teacher": "Соколова Елена Викторовна",
        "participants": [
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
            {"school_id": "ins-school-mp", "terminal_id": "term-ins-mp"},
        ],
        "date": TUESDAY,
        "lesson_number": 7,  # 13:10 in Kemerovo, 09:10 in Moscow
    }
    answer = client.post("/api/v1/bookings", json=body, headers=auth("net20"))
    assert answer.status_code == 201, answer.text


def row_of(grid: dict[str, Any], terminal_id: str) -> dict[str, Any]:
    [found] = [r for r in grid["items"] if r["terminal_ids"] == [terminal_id]]
    return found


def test_a_networks_week_shows_a_kemerovo_lesson_in_the_partners_own_numbering(
    client: TestClient, auth: Auth
) -> None:
    book_the_seventh_lesson(client, auth)

    answer = client.get(
        URL, params={"network": "kem-net-20", "week": TUESDAY, "limit": 100},
        headers=auth("net20"),
    )  # fmt: skip

    assert answer.status_code == 200, answer.text
    grid = answer.json()
    assert (grid["scope"], grid["week"], grid["total"]) == ("network", "2027-01-11", 9)
    assert grid["week_links"]["next"].endswith("week=2027-01-18&offset=0")
    insar = row_of(grid, "term-ins-mp")
    assert insar["time_zone"] == "Europe/Moscow"
    tuesday = insar["days"][1]
    second = tuesday["cells"][1]
    assert (second["lesson_number"], second["local_start"]) == (2, "2027-01-12T08:50:00+03:00")
    assert second["state"] == "busy"
    [lesson] = second["lessons"]
    assert lesson["title"] == "Информатика, 9 класс"
    assert [(s["school_id"], s["lesson_number"], s["local_start"]) for s in lesson["schools"]] == [
        ("kem-school-20", 7, "2027-01-12T13:10:00+07:00"),
        ("ins-school-mp", 2, "2027-01-12T09:10:00+03:00"),
    ]
    kemerovo = row_of(grid, "term-kem-20")
    assert [c["state"] for c in kemerovo["days"][1]["cells"]][6] == "busy"


def test_the_rows_come_in_pages(client: TestClient, auth: Auth) -> None:
    answer = client.get(
        URL, params={"school": "kem-school-20", "week": TUESDAY, "rows": "school", "limit": 1},
        headers=auth("net20"),
    )  # fmt: skip

    assert answer.status_code == 200, answer.text
    grid = answer.json()
    assert (grid["total"], len(grid["items"]), grid["links"]["next"]) == (1, 1, None)
    [school] = grid["items"]
    assert school["terminal_name"] == "" and len(school["terminal_ids"]) == 2


def test_another_networks_grid_is_forbidden(client: TestClient, auth: Auth) -> None:
    answer = client.get(
        URL, params={"network": "kem-net-20", "week": TUESDAY}, headers=auth("net5")
    )
    own_school = client.get(
        URL, params={"school": "kem-school-12", "week": TUESDAY}, headers=auth("school12")
    )
    other_school = client.get(
        URL, params={"school": "kem-school-20", "week": TUESDAY}, headers=auth("school12")
    )

    assert answer.status_code == 403
    assert "outside the scope" in answer.json()["detail"]
    assert own_school.status_code == 200
    assert other_school.status_code == 403


def test_a_grid_without_a_scope_or_with_a_bad_week_is_bad_input(
    client: TestClient, auth: Auth
) -> None:
    without = client.get(URL, params={"week": TUESDAY}, headers=auth("net20"))
    bad_week = client.get(
        URL, params={"network": "kem-net-20", "week": "2027-02-30"}, headers=auth("net20")
    )

    assert without.status_code == 422
    assert "one of a school, a network or terminals" in without.json()["detail"]
    assert bad_week.status_code == 422
