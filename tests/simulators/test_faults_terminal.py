"""Faults specific to terminals: refused credentials, the reboot command, calls dropped in
the middle of a lesson, and the health knobs (SIP registration, temperature, camera)."""

from __future__ import annotations

import httpx
import pytest

from simulators.terminal import Terminal


def lesson(bbb, meeting_id="kem-20-istoriya-11b"):
    created = bbb.get(
        "create", meetingID=meeting_id, name="История, 11Б", attendeePW="ap", moderatorPW="mp"
    )
    return f"sip:{created.findtext('voiceBridge')}@{bbb.base_url.removeprefix('http://')}"


def participants(bbb, meeting_id="kem-20-istoriya-11b") -> int:
    return int(bbb.get("getMeetingInfo", meetingID=meeting_id).findtext("participantCount"))


def test_auth_failure_refuses_even_the_right_password(make_terminal, set_faults, http):
    terminal, xapi = make_terminal()

    set_faults(terminal.id, auth_failure=True)

    refused = xapi.http.get("/getxml", params={"location": "/Status"})
    assert refused.status_code == 401
    set_faults(terminal.id, auth_failure=False)
    assert xapi.http.get("/getxml", params={"location": "/Status"}).status_code == 200


def test_auth_failure_refuses_the_poly_login(host, set_faults, http):
    poly = Terminal("term-kem-12", "admin", "secret", vendor="poly_rest")
    port = host.add(poly)

    set_faults(poly.id, auth_failure=True)
    login = http.post(
        f"http://127.0.0.1:{port}/rest/session", json={"user": "admin", "password": "secret"}
    )

    assert login.status_code == 403


def test_reboot_command_ends_the_call_and_restarts_the_uptime(make_terminal, make_bbb, eventually):
    _, bbb = make_bbb()
    address = lesson(bbb)
    _, xapi = make_terminal(answer_delay_s=0.05, reboot_duration_s=0.5)
    xapi.dial(address)
    eventually(lambda: xapi.call_status() == "Connected")
    uptime_before = int(xapi.status("/Status/SystemUnit/Uptime").findtext("SystemUnit/Uptime"))

    result = xapi.command('<Command><SystemUnit><Boot command="True"/></SystemUnit></Command>')

    assert result.find("SystemUnitBootResult").get("status") == "OK"
    eventually(lambda: participants(bbb) == 0)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError)):
        httpx.get(f"{xapi.base_url}/getxml", auth=("admin", "secret"), timeout=2)

    def uptime() -> int | None:
        try:
            return int(xapi.status("/Status/SystemUnit/Uptime").findtext("SystemUnit/Uptime"))
        except httpx.TransportError:
            return None

    restarted = eventually(lambda: (u := uptime()) is not None and u < 5 and u + 1)
    assert restarted - 1 < uptime_before
    assert xapi.call_status() is None
    assert xapi.history()[0].findtext("DisconnectCause") == "System restart"


def test_call_dropped_mid_session_leaves_the_room(make_terminal, make_bbb, set_faults, eventually):
    _, bbb = make_bbb()
    address = lesson(bbb)
    terminal, xapi = make_terminal(answer_delay_s=0.05)
    set_faults(terminal.id, drop_call_after_s=0.4)

    xapi.dial(address)
    eventually(lambda: xapi.call_status() == "Connected")
    assert participants(bbb) == 1

    eventually(lambda: participants(bbb) == 0, timeout=3)  # no polling of the terminal needed
    assert xapi.call_status() is None
    entry = xapi.history()[0]
    assert entry.findtext("DisconnectCauseType") == "NetworkRejected"


def test_drop_fault_set_during_a_call_takes_effect(make_terminal, make_bbb, set_faults, eventually):
    _, bbb = make_bbb()
    address = lesson(bbb)
    terminal, xapi = make_terminal(answer_delay_s=0.05)
    xapi.dial(address)
    eventually(lambda: xapi.call_status() == "Connected")

    set_faults(terminal.id, drop_call_after_s=0.01)

    eventually(lambda: xapi.call_status() is None)
    eventually(lambda: participants(bbb) == 0)


def test_health_knobs_show_in_status_and_diagnostics(make_terminal, set_faults):
    terminal, xapi = make_terminal()

    set_faults(
        terminal.id,
        extra={"sip_registration": "Failed", "temperature": 86.5, "camera": "Disconnected"},
    )
    status = xapi.status("/Status")

    assert status.findtext("SIP/Registration/Status") == "Failed"
    assert status.findtext("SystemUnit/Hardware/Temperature") == "86.5"
    assert status.findtext("SystemUnit/Hardware/Monitoring/Temperature/Status") == "Critical"
    camera = status.find("Peripherals/ConnectedDevice[Type='Camera']")
    assert camera.findtext("Status") == "Disconnected"
    assert status.findtext("Cameras/Camera/Connected") == "False"
    kinds = {m.findtext("Type"): m.findtext("Level") for m in status.findall("Diagnostics/Message")}
    assert kinds == {
        "SIPProfileRegistration": "Error",
        "TemperatureCheck": "Critical",
        "CameraStatus": "Warning",
    }


def test_a_terminal_drops_a_call_whose_server_died_on_media_timeout(
    make_terminal, make_bbb, set_faults, eventually
):
    server, bbb = make_bbb()
    address = lesson(bbb)
    _, xapi = make_terminal(answer_delay_s=0.05, media_timeout_s=0.6)
    xapi.dial(address)
    eventually(lambda: xapi.call_status() == "Connected")

    set_faults(server.id, offline=True)  # the BBB server (and its SIP gateway) is killed

    eventually(lambda: xapi.call_status() in ("", None, "Idle"), timeout=5)


def test_a_terminal_that_missed_the_bye_of_an_ended_room_drops_the_call_on_media_timeout(
    make_terminal, make_bbb, set_faults, eventually
):
    _, bbb = make_bbb()
    address = lesson(bbb)
    terminal, xapi = make_terminal(answer_delay_s=0.05, media_timeout_s=0.6)
    xapi.dial(address)
    eventually(lambda: xapi.call_status() == "Connected")
    terminal.feedback_url = None
    call = terminal.call
    assert call is not None
    call.bye_token = "lost"  # the gateway's BYE will not match: as if it never arrived

    bbb.get("end", meetingID="kem-20-istoriya-11b", password="mp")

    eventually(lambda: xapi.call_status() in ("", None, "Idle"), timeout=5)


def test_the_gateway_drops_a_terminal_whose_link_went_down_from_the_room(
    make_terminal, make_bbb, set_faults, eventually
):
    server, bbb = make_bbb()
    server.gateway.media_timeout_s = 0.6  # a real gateway's RTP timeout, shortened
    address = lesson(bbb)
    terminal, xapi = make_terminal(answer_delay_s=0.05, media_timeout_s=0.6)
    xapi.dial(address)
    eventually(lambda: xapi.call_status() == "Connected")
    eventually(lambda: participants(bbb) == 1)

    set_faults(terminal.id, offline=True)  # the school's link is down: no media, no BYE

    eventually(lambda: participants(bbb) == 0, timeout=5)
