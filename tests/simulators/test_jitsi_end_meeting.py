"""The simulated Jitsi deployment's `POST /end-meeting` (jitsi-meet's mod_muc_end_meeting):
a service ends a room by its JID with a bearer token; everybody is removed and every
terminal that came in through the SIP video gateway gets a BYE and goes idle."""

from __future__ import annotations

import time

import pytest

FIZIKA = {"room": "fizika-9a", "domain": "meet.jitsi"}
FIZIKA_JID = "fizika-9a@conference.meet.jitsi"


def join(http, base, room="fizika-9a", token=None, **body):
    return http.post(f"{base}/sim/rooms/{room}/participants", json={"token": token, **body})


def end_meeting(http, base, conference=FIZIKA_JID, token=None, authorization=None, **extra):
    headers = (
        {"Authorization": authorization or f"Bearer {token}"} if token or authorization else {}
    )
    params = {"conference": conference, **extra} if conference else extra
    return http.post(f"{base}/end-meeting", params=params, headers=headers)


def test_ending_a_meeting_removes_people_and_hangs_up_terminals(
    make_jitsi, make_terminal, http, jitsi_token, eventually
):
    _, base = make_jitsi()
    join(http, base, token=jitsi_token(), display_name="Иванова М. П.")
    join(http, base, token=jitsi_token(), display_name="Петров Илья, 9А")
    join(http, base, "himiya-10a", jitsi_token("himiya-10a"), display_name="Сидорова А. В.")
    _, hall = make_terminal("term-kem-20", answer_delay_s=0.05)
    _, classroom = make_terminal(
        "term-kem-20-kab-12", answer_delay_s=0.05, name="МБОУ «СОШ №20» — Кабинет 12"
    )
    gateway = base.removeprefix("http://")
    hall.dial(f"sip:fizika-9a@{gateway}")
    classroom.dial(f"sip:fizika-9a@{gateway}")
    eventually(lambda: hall.call_status() == classroom.call_status() == "Connected")
    assert http.get(f"{base}/room-size", params=FIZIKA).json() == {"participants": 4}

    ended = end_meeting(http, base, token=jitsi_token("fizika-9a"))

    assert ended.status_code == 200
    assert http.get(f"{base}/room-size", params=FIZIKA).status_code == 404
    assert http.get(f"{base}/sim/rooms/fizika-9a/participants").json() == []
    assert http.get(f"{base}/gateway/calls").json()["in_use"] == 0
    eventually(lambda: hall.call_status() is None and classroom.call_status() is None)
    census = http.get(f"{base}/room-census").json()["room_census"]
    assert [(r["room_name"], r["participants"]) for r in census] == [
        ("himiya-10a@conference.meet.jitsi", 1)
    ]
    assert http.get(f"{base}/sessions").text == "1"


def test_an_ended_room_can_be_opened_again_by_its_next_participant(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()
    join(http, base, token=jitsi_token())
    end_meeting(http, base, token=jitsi_token())

    again = join(http, base, token=jitsi_token(), display_name="Учитель")

    assert again.status_code == 201
    assert again.json()["role"] == "owner"
    assert http.get(f"{base}/room-size", params=FIZIKA).json() == {"participants": 1}


def test_a_room_that_does_not_exist_is_not_found(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()
    join(http, base, token=jitsi_token())

    unknown = end_meeting(http, base, "algebra-8a@conference.meet.jitsi", jitsi_token("algebra-8a"))
    twice = [end_meeting(http, base, token=jitsi_token()).status_code for _ in range(2)]

    assert unknown.status_code == 404
    assert twice == [200, 404]


def test_the_room_jid_must_be_on_the_configured_muc_domain(make_jitsi, http, jitsi_token):
    _, base = make_jitsi(domain="vks.kuzbass.ru")
    join(http, base, token=jitsi_token(sub="vks.kuzbass.ru"))
    token = jitsi_token(sub="vks.kuzbass.ru")

    other_domain = end_meeting(http, base, FIZIKA_JID, token)
    bare_name = end_meeting(http, base, "fizika-9a", token)
    right = end_meeting(http, base, "FIZIKA-9A@conference.vks.kuzbass.ru", token)

    assert (other_domain.status_code, bare_name.status_code) == (404, 404)
    assert right.status_code == 200


def test_a_query_without_a_conference_is_a_bad_request(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()

    assert end_meeting(http, base, conference=None, token=jitsi_token()).status_code == 400
    assert end_meeting(http, base, conference=None, token=jitsi_token(), x="1").status_code == 400


@pytest.mark.parametrize(
    ("describe", "authorization"),
    [
        ("no header", None),
        ("not a bearer", lambda t: f"Token {t()}"),
        ("bearer without a token", lambda t: "Bearer"),
        (
            "wrong secret",
            lambda t: (
                "Bearer "
                + t(secret="not-the-secret-but-just-as-long-0123456789abcdef0123456789abcdef")
            ),
        ),
        ("expired", lambda t: f"Bearer {t(exp=int(time.time()) - 5)}"),
        ("foreign issuer", lambda t: f"Bearer {t(iss='someone-else')}"),
        ("no room claim", lambda t: f"Bearer {t(room=None)}"),
    ],
)
def test_a_missing_or_refused_token_ends_nothing(
    make_jitsi, http, jitsi_token, describe, authorization
):
    _, base = make_jitsi()
    join(http, base, token=jitsi_token())

    refused = end_meeting(
        http, base, authorization=authorization(jitsi_token) if authorization else None
    )

    assert refused.status_code == 401, describe
    assert http.get(f"{base}/room-size", params=FIZIKA).json() == {"participants": 1}


def test_the_token_is_checked_before_the_room_is_looked_up(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()

    refused = end_meeting(http, base, "nobody-here@conference.meet.jitsi", "not-a-jwt")

    assert refused.status_code == 401


def test_the_service_token_is_not_bound_to_the_room_it_ends(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()
    join(http, base, token=jitsi_token())

    ended = end_meeting(http, base, token=jitsi_token("himiya-10a"))

    assert ended.status_code == 200


def test_auth_failure_fault_refuses_the_service_token(make_jitsi, http, jitsi_token, set_faults):
    server, base = make_jitsi()
    join(http, base, token=jitsi_token())

    set_faults(server.id, auth_failure=True)
    refused = end_meeting(http, base, token=jitsi_token())
    set_faults(server.id, auth_failure=False)

    assert refused.status_code == 401
    assert end_meeting(http, base, token=jitsi_token()).status_code == 200
