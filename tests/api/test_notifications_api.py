"""Notifications, deadlines and the audit trail through the API (SQLite and PostgreSQL):
a school's coordinator reads and marks the notice of a cancelled lesson, chooses channels;
the RCC sets deadlines; the RCC and the municipal coordinator read the audit trail of
their scope, as JSON and as CSV with Russian headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import FrozenClock

Auth = Callable[[str], dict[str, str]]


def lesson(host: str, terminal: str, teacher: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Информатика, 9 класс",
        "kind": "full_broadcast",
        "host_school_id": host,
        "teacher": teacher,
        "participants": [{"school_id": host, "terminal_id": terminal}],
        "date": "2026-09-16",
        "lesson_number": 3,
        **extra,
    }


KEM_12 = lesson("kem-school-12", "term-kem-12", "Морозова Анна Сергеевна")
NVK_5 = lesson("nvk-school-5", "term-nvk-5", "Кузнецов Андрей Павлович")


def book_and_cancel(client: TestClient, auth: Auth, clock: FrozenClock) -> str:
    created = client.post("/api/v1/bookings", json=KEM_12, headers=auth("net20"))
    assert created.status_code == 201, created.text
    booking_id: str = created.json()["booking"]["id"]
    clock.advance(minutes=5)
    cancelled = client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=auth("net20"))
    assert cancelled.status_code == 200, cancelled.text
    return booking_id


def test_a_coordinator_reads_and_marks_the_notice_of_a_cancelled_lesson(
    client: TestClient, auth: Auth, clock: FrozenClock
) -> None:
    booking_id = book_and_cancel(client, auth, clock)
    school12 = auth("school12")

    unread = client.get("/api/v1/notifications?unread=true", headers=school12)
    count = client.get("/api/v1/notifications/unread-count", headers=school12)

    assert unread.status_code == 200
    page = unread.json()
    assert (page["total"], page["offset"], set(page["links"])) == (1, 0, {"self", "next", "prev"})
    [notice] = page["items"]
    assert notice["kind"] == "booking.cancelled"
    assert notice["title_ru"].startswith("Отменено: «Информатика, 9 класс»")
    assert notice["link"] == f"/api/v1/bookings/{booking_id}"
    assert count.json() == {"unread": 1}
    assert client.get("/api/v1/notifications", headers=auth("net5")).json()["total"] == 0
    other = client.post(f"/api/v1/notifications/{notice['id']}/read", headers=auth("net5"))
    assert other.status_code == 404  # not theirs

    read = client.post(f"/api/v1/notifications/{notice['id']}/read", headers=school12)

    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.get("/api/v1/notifications/unread-count", headers=school12).json() == {
        "unread": 0
    }
    assert client.post("/api/v1/notifications/read-all", headers=school12).json() == {
        "marked_read": 0
    }


def test_a_person_chooses_channels_and_an_address(client: TestClient, auth: Auth) -> None:
    school12 = auth("school12")
    body = {
        "email": "morozova@school12.kemerovo.example.ru",
        "channels": {"*": ["email"], "lesson.degraded": ["inbox", "webhook"]},
    }

    stored = client.put("/api/v1/notifications/preferences", json=body, headers=school12)
    bad = client.put(
        "/api/v1/notifications/preferences", json={"channels": {"*": ["sms"]}}, headers=school12
    )

    assert stored.status_code == 200, stored.text
    read = client.get("/api/v1/notifications/preferences", headers=school12).json()
    assert read == {
        "email": "morozova@school12.kemerovo.example.ru",
        "channels": {"*": ["email", "inbox"], "lesson.degraded": ["inbox", "webhook"]},
    }
    assert bad.status_code == 422


def test_the_rcc_sets_deadlines_that_others_read_but_cannot_set(
    client: TestClient, auth: Auth
) -> None:
    deadline = {
        "kind": "combined_request",
        "period": "2026/27, 3 четверть",
        "due_on": "2027-01-10",
        "scope_org_id": "kuzbass",
        "roles": ["network_admin"],
        "remind_days": 3,
        "title": "Сводные заявки на 3 четверть",
    }

    refused = client.post("/api/v1/deadlines", json=deadline, headers=auth("net20"))
    created = client.post("/api/v1/deadlines", json=deadline, headers=auth("rcc"))
    unknown = client.post(
        "/api/v1/deadlines", json={**deadline, "scope_org_id": "nowhere"}, headers=auth("rcc")
    )

    assert refused.status_code == 403
    assert created.status_code == 201, created.text
    assert created.headers["Location"].endswith(created.json()["id"])
    assert unknown.status_code == 422
    listed = client.get("/api/v1/deadlines", headers=auth("net20")).json()
    assert [d["period"] for d in listed["items"]] == ["2026/27, 3 четверть"]
    gone = client.delete(f"/api/v1/deadlines/{created.json()['id']}", headers=auth("rcc"))
    assert gone.status_code == 204
    assert client.get("/api/v1/deadlines", headers=auth("rcc")).json()["total"] == 0


def test_the_audit_trail_is_read_by_scope_and_exported_as_csv(
    client: TestClient, auth: Auth, clock: FrozenClock
) -> None:
    booking_id = book_and_cancel(client, auth, clock)
    clock.advance(minutes=5)
    assert client.post("/api/v1/bookings", json=NVK_5, headers=auth("net5")).status_code == 201

    everything = client.get("/api/v1/audit", headers=auth("rcc"))
    kemerovo = client.get("/api/v1/audit", headers=auth("kem-coord"))
    cancelled = client.get(
        "/api/v1/audit?kind=booking.cancelled&actor=net20-user", headers=auth("rcc")
    )
    refused = client.get("/api/v1/audit", headers=auth("net20"))
    naive = client.get("/api/v1/audit?since=2026-08-25T00:00:00", headers=auth("rcc"))

    assert everything.status_code == 200
    assert [e["action"] for e in everything.json()["items"]] == [
        "booking.created",
        "booking.cancelled",
        "booking.created",
    ]
    # the municipal coordinator of Kemerovo sees Kemerovo's, not Novokuznetsk's
    assert {e["object_id"] for e in kemerovo.json()["items"]} == {booking_id}
    assert cancelled.json()["total"] == 0  # no such actor
    assert refused.status_code == 403
    assert naive.status_code == 422

    exported = client.get("/api/v1/audit.csv?kind=booking.cancelled", headers=auth("kem-coord"))

    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    text = exported.content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:4] == ["Время (UTC)", "Пользователь", "Роль", "Действие"]
    [row] = rows
    assert row[3] == "отменено бронирование" and row[4] == "booking.cancelled"
    assert row[6] == booking_id and row[8] == "«Информатика, 9 класс»"
