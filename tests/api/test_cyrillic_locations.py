"""Ids need not be Latin: a school, a terminal, a camera, a conference server, an academic
year or a bell schedule created with a Cyrillic id gets 201 and a `Location` with the id
percent-encoded (UTF-8) that leads to it — not a 500 after the row was saved — and a retry
with the same Idempotency-Key replays that 201 instead of refusing a second create."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]

CREATED: list[tuple[str, dict[str, Any], str | None]] = [
    # (collection, body, where to read it back: the resource itself or the collection)
    (
        "organisations",
        {"id": "кем-школа-41", "kind": "school", "name": "МБОУ «СОШ №41»",
         "parent_id": "kem-net-20", "time_zone": "Asia/Novokuznetsk",
         "address": "г. Кемерово, ул. Институтская, 5"},
        "resource",
    ),
    (
        "terminals",
        {"id": "терминал-кем-20-актовый", "site_id": "kem-school-20", "name": "Актовый зал",
         "vendor": "cisco_xapi", "sip_address": "sip:akt-kem-20@vks.kuzbass.example.ru",
         "control_url": "http://10.42.0.120"},
        "resource",
    ),
    (
        "cameras",
        {"id": "камера-кем-20", "terminal_id": "term-kem-20", "onvif_url": "http://10.42.1.20"},
        "resource",
    ),
    (
        "servers",
        {"id": "джитси-новокузнецк", "kind": "jitsi", "name": "Jitsi Новокузнецк",
         "base_url": "http://127.0.0.1:1/", "secret_ref": "env:VKS_JITSI_NK_SECRET",
         "max_rooms": 5, "max_participants": 50},
        "resource",
    ),
    (
        "academic-years",
        {"id": "учебный-2030-2031", "start": "2030-09-01", "end": "2031-05-31"},
        "collection",
    ),
    (
        "bell-schedules",
        {"id": "сокращённое", "name": "Сокращённое расписание звонков",
         "lessons": {"1": ["08:00", "08:30"], "2": ["08:40", "09:10"]}},
        "collection",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("collection", "body", "read_back"), CREATED, ids=[c[0] for c in CREATED])
def test_a_cyrillic_id_gets_a_percent_encoded_location_that_leads_to_it(
    collection: str, body: dict[str, Any], read_back: str, client: TestClient, auth: Auth
) -> None:
    rcc = auth("rcc")

    created = client.post(f"/api/v1/{collection}", json=body, headers=rcc)

    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/api/v1/{collection}/{quote(body['id'], safe='')}"
    if read_back == "resource":
        found = client.get(created.headers["location"], headers=rcc)
        assert found.status_code == 200
        assert found.json()["id"] == body["id"]
    else:
        listed = client.get(f"/api/v1/{collection}", headers=rcc)
        assert body["id"] in [item["id"] for item in listed.json()["items"]]


@pytest.mark.parametrize(("collection", "body", "read_back"), CREATED, ids=[c[0] for c in CREATED])
def test_a_retry_of_a_cyrillic_create_replays_the_201(
    collection: str, body: dict[str, Any], read_back: str, client: TestClient, auth: Auth
) -> None:
    headers = {**auth("rcc"), "Idempotency-Key": f"create-{collection}-1"}

    first = client.post(f"/api/v1/{collection}", json=body, headers=headers)
    retry = client.post(f"/api/v1/{collection}", json=body, headers=headers)

    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert retry.json() == first.json()
