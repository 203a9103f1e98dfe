"""Lessons across networks through the API: a network administrator books a lesson with a
school of another network (it used to answer 403); the partner school is invited, its
terminal reserved, and only its own people accept or decline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]


def with_nvk_school_5() -> dict[str, Any]:
    return {
        "title": "Астрономия, 11 класс",
        "kind": "full_broadcast",
        "host_school_id": "kem-school-20",
        "teacher": "Соколова Елена Викторовна",
        "participants": [
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
            {"school_id": "nvk-school-5", "terminal_id": "term-nvk-5", "class_name": "11"},
        ],
        "date": "2026-09-16",
        "lesson_number": 4,
    }


def test_a_school_of_another_network_is_invited_and_its_own_admin_answers(
    client: TestClient, auth: Auth
) -> None:
    created = client.post("/api/v1/bookings", json=with_nvk_school_5(), headers=auth("net20"))

    assert created.status_code == 201, created.text
    booking = created.json()["booking"]
    assert [p["state"] for p in booking["participants"]] == ["confirmed", "invited"]
    at = f"/api/v1/bookings/{booking['id']}/invitations/nvk-school-5"
    by_host = client.post(f"{at}/accept", headers=auth("net20"))
    by_partner = client.post(f"{at}/accept", headers=auth("net5"))
    again = client.post(f"{at}/decline", headers=auth("net5"))

    assert by_host.status_code == 403
    assert by_partner.status_code == 200, by_partner.text
    assert [p["state"] for p in by_partner.json()["participants"]] == ["confirmed", "confirmed"]
    assert again.status_code == 409
