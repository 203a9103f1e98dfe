"""The simulated terminal's Poly (VideoOS) REST dialect: session cookie, conferences."""

from __future__ import annotations

import httpx
import pytest

from simulators.terminal import Terminal


@pytest.fixture
def poly(host):
    terminal = Terminal(
        "term-kem-12",
        "admin",
        "secret",
        vendor="poly_rest",
        answer_delay_s=0.05,
        name="МБОУ «СОШ №12» — Кабинет физики",
    )
    port = host.add(terminal)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0, verify=False) as client:
        yield terminal, client


def login(client: httpx.Client) -> None:
    response = client.post("/rest/session", json={"user": "admin", "password": "secret"})
    assert response.status_code == 200
    assert "session_id" in client.cookies


def test_login_sets_a_session_cookie_that_every_call_needs(poly):
    _, client = poly

    before = client.get("/rest/system")
    bad_login = client.post("/rest/session", json={"user": "admin", "password": "wrong"})
    login(client)
    system = client.get("/rest/system")

    assert before.status_code == 401
    assert bad_login.status_code == 403
    assert system.status_code == 200
    assert system.json()["model"].startswith("Poly")
    assert system.json()["uptime"] > 0


def test_dial_lists_a_conference_and_joins_the_room(poly, make_bbb, eventually):
    _, client = poly
    _, bbb = make_bbb()
    voice_bridge = bbb.get(
        "create",
        meetingID="kem-12-himiya-10a",
        name="Химия, 10А",
        attendeePW="ap",
        moderatorPW="mp",
    ).findtext("voiceBridge")
    login(client)

    placed = client.post(
        "/rest/conferences",
        json={"address": f"sip:{voice_bridge}@{bbb.base_url[7:]}", "dialType": "VIDEO"},
    )
    busy = client.post(
        "/rest/conferences", json={"address": f"sip:{voice_bridge}@{bbb.base_url[7:]}"}
    )

    assert placed.status_code == 200 and placed.json()["href"].startswith("/rest/conferences/")
    assert busy.status_code == 409
    eventually(
        lambda: client.get("/rest/conferences").json()[0]["connections"][0]["state"] == "CONNECTED"
    )
    info = bbb.get("getMeetingInfo", meetingID="kem-12-himiya-10a")
    assert info.findtext("attendees/attendee/fullName") == "МБОУ «СОШ №12» — Кабинет физики"

    hangup = client.delete(placed.json()["href"])

    assert hangup.status_code == 204
    assert client.get("/rest/conferences").json() == []
    eventually(
        lambda: (
            bbb.get("getMeetingInfo", meetingID="kem-12-himiya-10a").findtext("participantCount")
            == "0"
        )
    )


def test_health_endpoints_reflect_the_device_state(poly):
    terminal, client = poly
    terminal.faults.update({"extra": {"sip_registration": "Failed", "camera": "Disconnected"}})
    login(client)

    sip = client.get("/rest/system/sipservers").json()
    devices = client.get("/rest/current/devicemanagement/devices").json()
    client.post("/rest/audio/volume", json={"volume": 35})

    assert sip[0]["registrationStatus"] == "FAILED"
    assert devices[0]["deviceType"] == "CAMERA" and devices[0]["deviceState"] == "DISCONNECTED"
    assert client.get("/rest/audio/volume").json() == 35
