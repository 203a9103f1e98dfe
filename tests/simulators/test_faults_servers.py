"""Faults specific to conference servers: refused credentials, a server at capacity (for
API clients and for terminals dialling through the gateway) and a skewed clock."""

from __future__ import annotations

import time


def test_bbb_auth_failure_fails_every_checksum(make_bbb, set_faults):
    server, bbb = make_bbb()

    set_faults(server.id, auth_failure=True)
    refused = bbb.get("getMeetings")
    set_faults(server.id, auth_failure=False)

    assert refused.findtext("returncode") == "FAILED"
    assert refused.findtext("messageKey") == "checksumError"
    assert bbb.get("getMeetings").findtext("returncode") == "SUCCESS"


def test_bbb_at_capacity_refuses_meetings_people_and_terminals(
    make_bbb, make_terminal, set_faults, eventually
):
    server, bbb = make_bbb()
    voice_bridge = bbb.get(
        "create",
        meetingID="kem-20-fizika-9a",
        name="Физика, 9А",
        attendeePW="ap",
        moderatorPW="mp",
    ).findtext("voiceBridge")
    _, xapi = make_terminal(answer_delay_s=0.05)

    set_faults(server.id, at_capacity=True)
    create = bbb.get("create", meetingID="kem-20-algebra-8a", name="Алгебра, 8А")
    join = bbb.get(
        "join", meetingID="kem-20-fizika-9a", fullName="Ученик", password="ap", redirect="false"
    )
    xapi.dial(f"sip:{voice_bridge}@{bbb.base_url.removeprefix('http://')}")

    assert create.findtext("messageKey") == "internalError"
    assert join.findtext("messageKey") == "maxParticipantsReached"
    eventually(lambda: xapi.call_status() is None)
    entry = xapi.history()[0]
    assert (entry.findtext("DisconnectCauseType"), entry.findtext("DisconnectCauseCode")) == (
        "NetworkRejected",
        "503",
    )


def test_bbb_clock_skew_shows_in_create_time(make_bbb, set_faults):
    server, bbb = make_bbb()

    set_faults(server.id, clock_skew_s=3600)
    created = bbb.get("create", meetingID="kem-20-fizika-9a", name="Физика, 9А")

    skew_ms = int(created.findtext("createTime")) - time.time() * 1000
    assert 3590_000 < skew_ms < 3610_000


def test_jitsi_auth_failure_refuses_good_tokens(make_jitsi, set_faults, http, jitsi_token):
    server, base = make_jitsi()

    set_faults(server.id, auth_failure=True)
    refused = http.post(f"{base}/sim/rooms/fizika-9a/participants", json={"token": jitsi_token()})

    assert refused.status_code == 401


def test_jitsi_at_capacity_refuses_people_and_terminals(make_jitsi, set_faults, http, jitsi_token):
    server, base = make_jitsi()

    set_faults(server.id, at_capacity=True)
    person = http.post(f"{base}/sim/rooms/fizika-9a/participants", json={"token": jitsi_token()})
    terminal = http.post(f"{base}/gateway/calls", json={"to": "fizika-9a"})

    assert person.status_code == 503
    assert terminal.status_code == 503


def test_jitsi_clock_ahead_sees_tokens_expired(make_jitsi, set_faults, http, jitsi_token):
    server, base = make_jitsi()
    token = jitsi_token(lifetime_s=3600)

    set_faults(server.id, clock_skew_s=2 * 3600)
    refused = http.post(f"{base}/sim/rooms/fizika-9a/participants", json={"token": token})

    assert refused.status_code == 401
    assert refused.json()["reason"] == "token expired"


def test_jitsi_clock_behind_sees_tokens_not_yet_valid(make_jitsi, set_faults, http, jitsi_token):
    server, base = make_jitsi()
    token = jitsi_token()  # nbf = now - 10 s

    set_faults(server.id, clock_skew_s=-600)
    refused = http.post(f"{base}/sim/rooms/fizika-9a/participants", json={"token": token})
    set_faults(server.id, clock_skew_s=0)
    accepted = http.post(f"{base}/sim/rooms/fizika-9a/participants", json={"token": token})

    assert refused.status_code == 401
    assert refused.json()["reason"] == "token not valid yet"
    assert accepted.status_code == 201
