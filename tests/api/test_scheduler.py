"""What an external timetable scheduler relies on: idempotency keys on POST, tentative
holds that expire unless confirmed, ETag/If-Match, bulk upsert with a result per item,
pagination and date-range filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import FrozenClock

Auth = Callable[[str], dict[str, str]]


def lesson(on: str = "2026-09-15", number: int = 3, **changes: Any) -> dict[str, Any]:
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


def weekly_item(ref: str, weekday: str, number: int, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "external_ref": ref,
        "title": f"Сетевой курс {ref}",
        "host_school_id": "kem-school-20",
        "teacher": "Иванова Мария Петровна",
        "participants": [
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
            {"school_id": "kem-school-12", "terminal_id": "term-kem-12"},
        ],
        "weekly": {"weekdays": [weekday], "lesson_number": number, "quarter": 1},
    }
    item.update(changes)
    return item


# --- idempotency keys -------------------------------------------------------------------------
def test_a_repeated_post_with_the_same_key_gets_the_first_answer_and_books_once(
    client: TestClient, auth: Auth
) -> None:
    headers = {**auth("net20"), "Idempotency-Key": "sched-2026-0001"}

    first = client.post("/api/v1/bookings", json=lesson(), headers=headers)
    again = client.post("/api/v1/bookings", json=lesson(), headers=headers)

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert "Idempotent-Replayed" not in first.headers
    assert client.get("/api/v1/bookings", headers=auth("net20")).json()["total"] == 1


def test_json_layout_does_not_matter_but_another_body_with_the_same_key_is_refused(
    client: TestClient, auth: Auth
) -> None:
    headers = {**auth("net20"), "Idempotency-Key": "sched-2026-0002"}
    client.post("/api/v1/bookings", json=lesson(), headers=headers)

    reordered = client.post(
        "/api/v1/bookings",
        content=__import__("json").dumps(dict(reversed(list(lesson().items())))),
        headers={**headers, "Content-Type": "application/json"},
    )
    other = client.post("/api/v1/bookings", json=lesson(number=5), headers=headers)

    assert reordered.status_code == 201
    assert reordered.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert client.get("/api/v1/bookings", headers=auth("net20")).json()["total"] == 1


def test_keys_belong_to_their_caller_and_conflicts_are_not_replayed(
    client: TestClient, auth: Auth
) -> None:
    key = {"Idempotency-Key": "same-key"}
    client.post("/api/v1/bookings", json=lesson(), headers={**auth("net20"), **key})

    # the RCC using the same key is another caller: its request runs (and clashes)
    clash = client.post("/api/v1/bookings", json=lesson(), headers={**auth("rcc"), **key})
    assert clash.status_code == 409
    # a 409 is not stored: once the clash is gone, the same key and body succeed
    booking_id = client.get("/api/v1/bookings", headers=auth("rcc")).json()["items"][0]["id"]
    client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=auth("rcc"))
    retry = client.post("/api/v1/bookings", json=lesson(), headers={**auth("rcc"), **key})
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers


def test_a_malformed_key_is_refused(client: TestClient, auth: Auth) -> None:
    answer = client.post(
        "/api/v1/bookings",
        json=lesson(),
        headers={**auth("net20"), "Idempotency-Key": "x" * 300},
    )

    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_idempotency_key"


# --- tentative holds --------------------------------------------------------------------------
def test_a_hold_expires_unless_confirmed_and_frees_the_terminal(
    client: TestClient, auth: Auth, clock: FrozenClock
) -> None:
    net20 = auth("net20")
    held = client.post("/api/v1/bookings", params={"hold": "true"}, json=lesson(), headers=net20)
    assert held.status_code == 201
    booking = held.json()["booking"]
    assert booking["status"] == "held"
    assert booking["hold_expires_at"] == "2026-08-25T03:15:00Z"  # 15 minutes

    blocked = client.post("/api/v1/bookings", json=lesson(), headers=net20)
    assert blocked.status_code == 409  # a live hold blocks the slot

    clock.advance(minutes=16)
    late = client.post(f"/api/v1/bookings/{booking['id']}/confirm", headers=auth("net20"))
    taken = client.post("/api/v1/bookings", json=lesson(), headers=auth("net20"))

    assert late.status_code == 409
    assert late.json()["code"] == "hold_expired"
    assert taken.status_code == 201


def test_a_hold_confirmed_in_time_becomes_a_booking(
    client: TestClient, auth: Auth, clock: FrozenClock
) -> None:
    net20 = auth("net20")
    held = client.post("/api/v1/bookings", params={"hold": "true"}, json=lesson(), headers=net20)
    booking_id = held.json()["booking"]["id"]

    clock.advance(minutes=14)
    confirmed = client.post(f"/api/v1/bookings/{booking_id}/confirm", headers=net20)

    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["hold_expires_at"] is None
    clock.advance(hours=1)
    assert client.get(f"/api/v1/bookings/{booking_id}", headers=net20).json()["status"] == (
        "confirmed"
    )


# --- ETag / If-Match --------------------------------------------------------------------------
def test_replacing_a_booking_needs_the_current_etag(client: TestClient, auth: Auth) -> None:
    net20 = auth("net20")
    created = client.post("/api/v1/bookings", json=lesson(), headers=net20)
    url = created.headers["Location"]
    etag = client.get(url, headers=net20).headers["ETag"]
    moved = lesson(number=5)

    missing = client.put(url, json=moved, headers=net20)
    stale = client.put(url, json=moved, headers={**net20, "If-Match": '"v7"'})
    done = client.put(url, json=moved, headers={**net20, "If-Match": etag})
    replayed = client.put(url, json=moved, headers={**net20, "If-Match": etag})

    assert missing.status_code == 428
    assert missing.json()["code"] == "precondition_required"
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == '"v2"'
    assert done.json()["occurrences"][0]["lesson_number"] == 5
    assert replayed.status_code == 412  # the version it names is gone


def test_a_booking_read_with_get_is_sent_back_edited_with_put(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    url = client.post("/api/v1/bookings", json=weekly_item("phys-10", "tue", 3),
                      headers=net20).headers["Location"]  # fmt: skip
    read = client.get(url, headers=net20)
    edited = {**read.json(), "title": "Физика, 10 класс (углублённая)"}

    replaced = client.put(url, json=edited, headers={**net20, "If-Match": read.headers["ETag"]})

    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["booking"]["title"] == "Физика, 10 класс (углублённая)"
    assert replaced.json()["booking"]["version"] == 2


def test_a_put_naming_another_booking_in_its_body_is_refused(
    client: TestClient, auth: Auth
) -> None:
    net20 = auth("net20")
    url = client.post("/api/v1/bookings", json=lesson(), headers=net20).headers["Location"]
    read = client.get(url, headers=net20)

    answer = client.put(url, json={**read.json(), "id": "someone-else"},
                        headers={**net20, "If-Match": read.headers["ETag"]})  # fmt: skip

    assert answer.status_code == 422
    assert answer.json()["field"] == "id", answer.text
    assert "the body names booking someone-else" in answer.json()["detail"]


def test_organisations_and_terminals_are_updated_with_if_match(
    client: TestClient, auth: Auth
) -> None:
    rcc = auth("rcc")
    school = client.get("/api/v1/organisations/kem-school-12", headers=rcc)
    change = {
        "name": "МБОУ «СОШ №12 им. А. С. Пушкина»",
        "time_zone": "Asia/Novokuznetsk",
        "address": "г. Кемерово, ул. Красная, 7",
        "bell_schedule_id": "standard",
    }

    renamed = client.put(
        "/api/v1/organisations/kem-school-12",
        json=change,
        headers={**rcc, "If-Match": school.headers["ETag"]},
    )
    terminal = client.get("/api/v1/terminals/term-kem-12", headers=rcc).json()
    terminal.pop("version")
    terminal["credentials_ref"] = ""  # keep the stored reference
    terminal["name"] = "Кабинет информатики №2"
    updated = client.put(
        "/api/v1/terminals/term-kem-12", json=terminal, headers={**rcc, "If-Match": "*"}
    )

    assert renamed.status_code == 200
    assert renamed.json()["name"] == "МБОУ «СОШ №12 им. А. С. Пушкина»"
    assert renamed.headers["ETag"] == '"v2"'
    assert updated.status_code == 200, updated.text
    assert updated.json()["credentials_ref"] == "inline:***"  # never the secret itself


# --- bulk upsert ------------------------------------------------------------------------------
def test_a_timetable_is_upserted_with_a_result_per_item(client: TestClient, auth: Auth) -> None:
    scheduler = auth("net20")
    items = [
        weekly_item("phys-10", "tue", 3),
        weekly_item("chem-11", "thu", 5),
        weekly_item("bio-9", "fri", 12),  # no 12th lesson
        weekly_item("math-9", "tue", 3, participants=[  # clashes with phys-10 on term-kem-20
            {"school_id": "kem-school-20", "terminal_id": "term-kem-20"}]),
    ]  # fmt: skip

    first = client.post("/api/v1/timetable", json={"items": items}, headers=scheduler)

    assert first.status_code == 200, first.text
    body = first.json()
    assert [r["status"] for r in body["results"]] == ["created", "created", "failed", "failed"]
    assert (body["created"], body["failed"], body["written"]) == (2, 2, True)
    assert "no lesson 12" in body["results"][2]["message"]
    assert body["results"][3]["code"] == "booking_conflict"
    assert body["results"][3]["conflicts"][0]["terminal_id"] == "term-kem-20"

    items[1]["weekly"]["lesson_number"] = 6  # chem-11 moves to the 6th lesson
    second = client.post("/api/v1/timetable", json={"items": items[:2]}, headers=scheduler)

    assert [r["status"] for r in second.json()["results"]] == ["unchanged", "updated"]
    assert second.json()["results"][0]["booking_id"] == body["results"][0]["booking_id"]
    listed = client.get("/api/v1/bookings", headers=scheduler).json()
    assert listed["total"] == 2


def test_a_failed_update_of_a_stored_item_names_its_booking(client: TestClient, auth: Auth) -> None:
    scheduler = auth("net20")
    items = [weekly_item("phys-10", "tue", 3), weekly_item("chem-11", "thu", 5)]
    first = client.post("/api/v1/timetable", json={"items": items}, headers=scheduler).json()
    items[1]["weekly"]["weekdays"] = ["tue"]  # chem-11 moves onto phys-10's lesson
    items[1]["weekly"]["lesson_number"] = 3

    second = client.post("/api/v1/timetable", json={"items": items[1:]}, headers=scheduler)

    result = second.json()["results"][0]
    assert result["status"] == "failed"
    assert result["code"] == "booking_conflict"
    assert result["booking_id"] == first["results"][1]["booking_id"]


def test_a_dry_run_of_a_timetable_writes_nothing(client: TestClient, auth: Auth) -> None:
    answer = client.post(
        "/api/v1/timetable",
        json={"items": [weekly_item("phys-10", "tue", 3)], "dry_run": True},
        headers=auth("net20"),
    )

    assert answer.json()["results"][0]["status"] == "created"
    assert answer.json()["written"] is False
    assert client.get("/api/v1/bookings", headers=auth("net20")).json()["total"] == 0


# --- pagination and date ranges ---------------------------------------------------------------
def test_lists_are_paginated_with_total_and_links(client: TestClient, auth: Auth) -> None:
    rcc = auth("rcc")

    first = client.get("/api/v1/terminals", params={"limit": 10}, headers=rcc).json()
    last = client.get("/api/v1/terminals", params={"limit": 10, "offset": 30}, headers=rcc).json()
    following = client.get(first["links"]["next"], headers=rcc).json()

    assert first["total"] == 36
    assert len(first["items"]) == 10
    assert first["links"]["prev"] is None
    assert "offset=10" in first["links"]["next"]
    assert following["items"][0]["id"] == sorted(t["id"] for t in _all(client, rcc))[10]
    assert len(last["items"]) == 6
    assert last["links"]["next"] is None
    assert "offset=20" in last["links"]["prev"]
    too_many = client.get("/api/v1/terminals", params={"limit": 5000}, headers=rcc)
    assert too_many.status_code == 422


def _all(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(
        "/api/v1/terminals", params={"limit": 1000}, headers=headers
    ).json()["items"]
    return items


def test_bookings_are_filtered_by_date_range(client: TestClient, auth: Auth) -> None:
    net20 = auth("net20")
    for day in ("2026-09-08", "2026-09-15", "2026-10-06"):
        assert (
            client.post("/api/v1/bookings", json=lesson(on=day), headers=net20).status_code == 201
        )

    september = client.get(
        "/api/v1/bookings",
        params={"start": "2026-09-01T00:00:00+07:00", "end": "2026-10-01T00:00:00+07:00",
                "limit": 1},
        headers=net20,
    ).json()  # fmt: skip
    occurrences = client.get(
        "/api/v1/occurrences",
        params={"start": "2026-09-10T00:00:00+07:00", "end": "2026-10-10T00:00:00+07:00",
                "terminal_id": "term-kem-20"},
        headers=net20,
    ).json()  # fmt: skip

    assert september["total"] == 2
    assert len(september["items"]) == 1
    assert september["links"]["next"] is not None
    assert [o["local_date"] for o in occurrences["items"]] == ["2026-09-15", "2026-10-06"]
    assert occurrences["items"][0]["title"] == "Физика, 10 класс"
