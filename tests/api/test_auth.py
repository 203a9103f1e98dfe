"""Logging in, bearer tokens, and who may do what: 401 (with WWW-Authenticate) for a
missing, forged or expired token, 403 with the reason for a role or scope that does not
allow the request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from booking.access import Principal, Role
from booking.errors import NotAuthenticated
from tests.api.conftest import SECRET, FrozenClock
from vks.auth.tokens import Tokens
from vks.demo.users import PASSWORD

Auth = Callable[[str], dict[str, str]]

LESSON_AT_12 = {
    "title": "Физика, 10 класс",
    "host_school_id": "kem-school-12",
    "teacher": "Иванова Мария Петровна",
    "participants": [{"school_id": "kem-school-12", "terminal_id": "term-kem-12"}],
    "date": "2026-09-15",
    "lesson_number": 2,
}


def test_login_gives_a_token_that_works(client: TestClient) -> None:
    login = client.post("/api/v1/auth/login", json={"username": "net20", "password": PASSWORD})

    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer"
    assert (body["role"], body["org_id"]) == ("network_admin", "kem-net-20")
    claims = jwt.decode(
        body["access_token"], SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )  # issued at the service clock (August 2026), not the machine's
    assert {"sub", "role", "org", "exp", "iat", "jti"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == 12 * 3600
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    ).json()
    assert me["org_path"] == "kuzbass/kemerovo/kem-net-20"


@pytest.mark.parametrize(
    ("username", "password"), [("net20", "wrong-password"), ("nobody", PASSWORD)]
)
def test_a_wrong_login_is_401_without_saying_which_part_was_wrong(
    client: TestClient, username: str, password: str
) -> None:
    answer = client.post("/api/v1/auth/login", json={"username": username, "password": password})

    assert answer.status_code == 401
    assert answer.json()["detail"] == "unknown username or wrong password"
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="vks"')


def test_a_deactivated_user_can_no_longer_log_in(client: TestClient, auth: Auth) -> None:
    created = client.post(
        "/api/v1/users",
        json={"username": "tutor7", "password": "длинный пароль 7", "role": "viewer",
              "org_id": "kem-school-12", "full_name": "Орлова Ирина Владимировна"},
        headers=auth("rcc"),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    login = {"username": "tutor7", "password": "длинный пароль 7"}
    assert client.post("/api/v1/auth/login", json=login).status_code == 200

    off = client.put(
        f"/api/v1/users/{created.json()['id']}/active", json={"active": False}, headers=auth("rcc")
    )

    assert off.json()["active"] is False
    refused = client.post("/api/v1/auth/login", json=login)
    assert refused.status_code == 401
    assert "deactivated" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "reason", "challenge"),
    [
        ({}, "bearer token is required", 'Bearer realm="vks"'),
        (
            {"Authorization": "Bearer not-a-jwt"},
            "malformed",
            'Bearer realm="vks", error="invalid_token", error_description="the token is malformed"',
        ),
        ({"Authorization": "Basic bmV0MjA6eA=="}, "bearer token is required", 'Bearer realm="vks"'),
    ],
)
def test_requests_without_a_valid_token_get_401(
    client: TestClient, headers: dict[str, str], reason: str, challenge: str
) -> None:
    answer = client.get("/api/v1/bookings", headers=headers)

    assert answer.status_code == 401
    assert reason in answer.json()["detail"]
    assert answer.headers["WWW-Authenticate"] == challenge


def test_a_forged_or_expired_token_gets_401(client: TestClient, clock: FrozenClock) -> None:
    net20 = Principal("u1", Role.NETWORK_ADMIN, "kem-net-20", "kuzbass/kemerovo/kem-net-20")
    forged = Tokens("somebody-elses-secret-key-0123456789").issue(
        net20, now=clock.now(), ttl=timedelta(hours=1)
    )
    short = Tokens(SECRET).issue(net20, now=clock.now(), ttl=timedelta(minutes=5))

    bad_signature = client.get(
        "/api/v1/bookings", headers={"Authorization": f"Bearer {forged.value}"}
    )
    clock.advance(minutes=6)
    expired = client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {short.value}"})

    assert bad_signature.status_code == 401
    assert "signature" in bad_signature.json()["detail"]
    assert expired.status_code == 401
    assert expired.json()["detail"] == "the token has expired"
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_a_token_that_was_honoured_is_refused_once_it_expires(clock: FrozenClock) -> None:
    """The process keeps the tokens whose signature it checked: the expiry is still
    checked on every request."""
    tokens = Tokens(SECRET)
    net20 = Principal("u1", Role.NETWORK_ADMIN, "kem-net-20", "kuzbass/kemerovo/kem-net-20")
    short = tokens.issue(net20, now=clock.now(), ttl=timedelta(minutes=5))
    assert tokens.verify(short.value, now=clock.now()).principal == net20

    clock.advance(minutes=6)

    with pytest.raises(NotAuthenticated, match="the token has expired"):
        tokens.verify(short.value, now=clock.now())


@pytest.mark.parametrize(
    ("username", "status", "reason"),
    [
        ("school12", 201, None),  # the local coordinator of СОШ №12 books for it
        ("net20", 201, None),
        ("kem-coord", 201, None),
        ("teacher", 403, "role teacher may not book"),
        ("viewer", 403, "role viewer may not book"),
        ("net5", 403, "outside the scope"),
        ("netins", 403, "outside the scope"),
    ],
)
def test_roles_and_scopes_decide_who_books_where(
    client: TestClient, auth: Auth, username: str, status: int, reason: str | None
) -> None:
    answer = client.post("/api/v1/bookings", json=LESSON_AT_12, headers=auth(username))

    assert answer.status_code == status, answer.text
    if reason:
        assert reason in answer.json()["detail"]


def test_a_local_coordinator_books_only_for_their_school(client: TestClient, auth: Auth) -> None:
    at_20 = {
        **LESSON_AT_12,
        "host_school_id": "kem-school-20",
        "participants": [{"school_id": "kem-school-20", "terminal_id": "term-kem-20"}],
    }

    answer = client.post("/api/v1/bookings", json=at_20, headers=auth("school12"))

    assert answer.status_code == 403
    assert (
        "МБОУ «СОШ №20» is outside the scope of this local_coordinator" in answer.json()["detail"]
    )


def test_only_the_rcc_manages_region_wide_things(client: TestClient, auth: Auth) -> None:
    user = {"username": "x1", "password": "a long password", "role": "viewer",
            "org_id": "kem-net-20"}  # fmt: skip
    server = {
        "id": "jitsi-2",
        "kind": "jitsi",
        "name": "Jitsi 2",
        "base_url": "http://127.0.0.1:1/",
        "secret_ref": "env:VKS_JITSI2_SECRET",
        "max_rooms": 5,
        "max_participants": 50,
    }

    by_network_admin = client.post("/api/v1/users", json=user, headers=auth("net20"))
    server_by_coordinator = client.post("/api/v1/servers", json=server, headers=auth("kem-coord"))
    server_by_rcc = client.post("/api/v1/servers", json=server, headers=auth("rcc"))

    assert by_network_admin.status_code == 403
    assert "may not manage region" in by_network_admin.json()["detail"]
    assert server_by_coordinator.status_code == 403
    assert server_by_rcc.status_code == 201
    assert server_by_rcc.json()["secret_ref"] == "env:VKS_JITSI2_SECRET"


def test_a_feed_token_reads_calendars_and_nothing_else(client: TestClient, auth: Auth) -> None:
    token = client.post("/api/v1/auth/feed-token", headers=auth("school12")).json()["token"]

    feed = client.get("/api/v1/calendars/schools/kem-school-12.ics", params={"token": token})
    other_school = client.get(
        "/api/v1/calendars/schools/kem-school-20.ics", params={"token": token}
    )
    booking = client.post(
        "/api/v1/bookings", json=LESSON_AT_12, headers={"Authorization": f"Bearer {token}"}
    )

    assert feed.status_code == 200
    assert feed.text.startswith("BEGIN:VCALENDAR")
    assert other_school.status_code == 403
    assert booking.status_code == 403
    assert "calendar feeds" in booking.json()["detail"]
