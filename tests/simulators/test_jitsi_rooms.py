"""The simulated Jitsi deployment: prosody token checks, participants joining and leaving,
and the mod_muc_size / mod_muc_census answers."""

from __future__ import annotations

import time

import jwt
import pytest

ROOM = {"room": "fizika-9a", "domain": "meet.jitsi"}


def join(http, base, room="fizika-9a", token=None, **body):
    return http.post(f"{base}/sim/rooms/{room}/participants", json={"token": token, **body})


def test_a_participant_with_a_valid_token_joins_and_the_room_appears(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()

    joined = join(http, base, token=jitsi_token("fizika-9a"))

    assert joined.status_code == 201
    assert joined.json()["jid"].startswith("fizika-9a@conference.meet.jitsi/")
    assert joined.json()["role"] == "owner"  # first joiner (auto-owner)
    assert http.get(f"{base}/room-size", params=ROOM).json() == {"participants": 1}
    assert http.get(f"{base}/room", params=ROOM).json() == [
        {
            "jid": joined.json()["jid"],
            "email": "ivanova@school20.ru",
            "display_name": "Иванова Мария Петровна",
        }
    ]


def test_rooms_exist_only_while_occupied(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()
    first = join(http, base, token=jitsi_token(), display_name="Учитель").json()
    second = join(http, base, token=jitsi_token(), display_name="Ученик").json()

    http.delete(f"{base}/sim/rooms/fizika-9a/participants/{first['id']}")
    size_after_one_left = http.get(f"{base}/room-size", params=ROOM).json()
    http.delete(f"{base}/sim/rooms/fizika-9a/participants/{second['id']}")

    assert second["role"] == "member"
    assert size_after_one_left == {"participants": 1}
    assert http.get(f"{base}/room-size", params=ROOM).status_code == 404
    assert http.get(f"{base}/room-census").json() == {"room_census": []}


def test_room_census_lists_every_room(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()
    before = int(time.time() * 1000)
    join(http, base, "fizika-9a", jitsi_token("fizika-9a"))
    join(http, base, "fizika-9a", jitsi_token("fizika-9a"))
    join(http, base, "himiya-10a", jitsi_token("himiya-10a"))

    census = http.get(f"{base}/room-census").json()["room_census"]

    by_name = {r["room_name"]: r for r in census}
    assert set(by_name) == {"fizika-9a@conference.meet.jitsi", "himiya-10a@conference.meet.jitsi"}
    assert by_name["fizika-9a@conference.meet.jitsi"]["participants"] == 2
    assert by_name["himiya-10a@conference.meet.jitsi"]["leaked"] is False
    assert by_name["himiya-10a@conference.meet.jitsi"]["created_time"] >= before


def test_room_size_queries_as_mod_muc_size_answers(make_jitsi, http):
    _, base = make_jitsi(domain="vks.kuzbass.ru")

    no_query = http.get(f"{base}/room-size")
    unknown = http.get(f"{base}/room-size", params={"room": "nope", "domain": "vks.kuzbass.ru"})
    sessions = http.get(f"{base}/sessions")

    assert no_query.status_code == 400
    assert unknown.status_code == 404
    assert sessions.text == "0"


def test_room_size_checks_the_domain_when_one_is_configured(make_jitsi, http, jitsi_token):
    _, base = make_jitsi(domain="vks.kuzbass.ru")
    join(http, base, token=jitsi_token())

    right = http.get(f"{base}/room-size", params={"room": "fizika-9a", "domain": "vks.kuzbass.ru"})
    wrong = http.get(f"{base}/room-size", params={"room": "fizika-9a", "domain": "other.ru"})

    assert right.json() == {"participants": 1}
    assert wrong.status_code == 404


def test_room_size_token_verification_when_enabled(make_jitsi, http, jitsi_token):
    _, base = make_jitsi(roomsize_token_verification=True)
    join(http, base, token=jitsi_token())

    without = http.get(f"{base}/room-size", params=ROOM)
    with_token = http.get(f"{base}/room-size", params={**ROOM, "token": jitsi_token()})

    assert without.status_code == 403
    assert with_token.json() == {"participants": 1}


# --- token checks ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("describe", "make"),
    [
        (
            "wrong secret",
            lambda t: t(secret="not-the-secret-but-just-as-long-0123456789abcdef0123456789abcdef"),
        ),
        ("expired", lambda t: t(exp=int(time.time()) - 5)),
        ("not valid yet", lambda t: t(nbf=int(time.time()) + 600)),
        ("foreign issuer", lambda t: t(iss="someone-else")),
        ("no exp", lambda t: t(exp=None)),
        ("no room claim", lambda t: t(room=None)),
        ("HS512 when HS256 is configured", lambda t: t(algorithm="HS512")),
    ],
)
def test_rejected_tokens_are_refused(make_jitsi, http, jitsi_token, describe, make):
    _, base = make_jitsi()

    refused = join(http, base, token=make(jitsi_token))

    assert refused.status_code == 401, describe
    assert refused.json()["error"] == "not-authorized"
    assert http.get(f"{base}/room-size", params=ROOM).status_code == 404


def test_unsigned_tokens_are_refused(make_jitsi, http):
    _, base = make_jitsi()
    now = int(time.time())
    unsigned = jwt.encode(
        {"iss": "vks", "aud": "jitsi", "room": "*", "exp": now + 600}, None, algorithm="none"
    )

    refused = join(http, base, token=unsigned)
    no_token = join(http, base, token=None)

    assert refused.status_code == 401
    assert no_token.status_code == 401


def test_room_claim_must_match_case_insensitively_or_be_a_wildcard(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()

    other_room = join(http, base, "fizika-9a", jitsi_token("himiya-10a"))
    other_case = join(http, base, "fizika-9a", jitsi_token("Fizika-9A"))
    wildcard = join(http, base, "himiya-10a", jitsi_token("*"))

    assert other_room.status_code == 403 and other_room.json()["error"] == "not-allowed"
    assert other_case.status_code == 201
    assert wildcard.status_code == 201


def test_accepted_issuers_and_audiences_are_configurable(make_jitsi, http, jitsi_token):
    _, base = make_jitsi(accepted_issuers=["rcc-kuzbass"], accepted_audiences=["jitsi"])

    good = join(http, base, token=jitsi_token(iss="rcc-kuzbass"))
    app_id_not_listed = join(http, base, token=jitsi_token(iss="vks"))
    wrong_audience = join(http, base, token=jitsi_token(iss="rcc-kuzbass", aud="bbb"))

    assert good.status_code == 201
    assert app_id_not_listed.status_code == 401
    assert wrong_audience.status_code == 401


def test_moderator_from_token_context(make_jitsi, http, jitsi_token):
    _, base = make_jitsi()
    join(http, base, token=jitsi_token())

    teacher = join(
        http,
        base,
        token=jitsi_token(
            context={"user": {"name": "Учитель", "moderator": "true", "affiliation": "owner"}}
        ),
    )

    assert teacher.json()["role"] == "owner"


# --- gateway and capacity ------------------------------------------------------------------
def test_gateway_call_joins_and_leaves_a_room(make_jitsi, http):
    _, base = make_jitsi()

    call = http.post(
        f"{base}/gateway/calls", json={"to": "geografiya-8v", "display_name": "МБОУ «СОШ №20»"}
    )
    size = http.get(f"{base}/room-size", params={"room": "geografiya-8v", "domain": "meet.jitsi"})
    http.delete(f"{base}/gateway/calls/{call.json()['call_id']}")

    assert call.status_code == 201
    assert size.json() == {"participants": 1}
    assert (
        http.get(
            f"{base}/room-size", params={"room": "geografiya-8v", "domain": "meet.jitsi"}
        ).status_code
        == 404
    )


def test_server_participant_limit(make_jitsi, http, jitsi_token):
    _, base = make_jitsi(max_participants=2)
    join(http, base, token=jitsi_token())
    join(http, base, token=jitsi_token())

    person = join(http, base, token=jitsi_token())
    terminal = http.post(f"{base}/gateway/calls", json={"to": "fizika-9a"})

    assert person.status_code == 503
    assert terminal.status_code == 503
