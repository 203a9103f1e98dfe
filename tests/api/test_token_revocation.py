"""Tokens end with their user: a deactivated, deleted, or re-roled user's login and feed
tokens get 401 at once — whichever process or plain SQL made the change — and feed
tokens (and service-account tokens) are recorded and revoked one by one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from adapters.storage.engine import create_engine_for
from booking.access import Principal, Role
from booking.services import users
from tests.api.conftest import SECRET, FrozenClock
from vks.api.app import create_app
from vks.auth.issuing import issue_recorded
from vks.auth.tokens import Scope, Tokens
from vks.bootstrap import Container, build_container
from vks.settings import Settings

Auth = Callable[[str], dict[str, str]]

SCHOOL_12_FEED = "/api/v1/calendars/schools/kem-school-12.ics"
LESSON_AT_12 = {
    "title": "Физика, 10 класс",
    "host_school_id": "kem-school-12",
    "teacher": "Иванова Мария Петровна",
    "participants": [{"school_id": "kem-school-12", "terminal_id": "term-kem-12"}],
    "date": "2026-09-15",
    "lesson_number": 2,
}


def user_id(container: Container, username: str) -> str:
    user = users.find_user(container.uow_factory(), username)
    assert user is not None
    return user.id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def feed_token(client: TestClient, headers: dict[str, str], name: str = "") -> dict[str, str]:
    issued = client.post("/api/v1/auth/feed-token", headers=headers, json={"name": name})
    assert issued.status_code == 201, issued.text
    body: dict[str, str] = issued.json()
    return body


def run_sql(container: Container, statement: str, **parameters: object) -> None:
    """A change made behind the service's back (another process, an operator's psql)."""
    assert container.engine is not None
    with container.engine.begin() as connection:
        connection.execute(text(statement), parameters)


@pytest.fixture
def second_app(
    container: Container, settings: Settings, clock: FrozenClock
) -> Iterator[TestClient]:
    """Another API process on the same database (its own engine and connections)."""
    other = build_container(settings, clock=clock, engine=create_engine_for(settings.database_url))
    try:
        with TestClient(create_app(container=other), raise_server_exceptions=False) as c:
            yield c
    finally:
        assert other.engine is not None
        other.engine.dispose()


def test_a_deactivated_users_login_and_feed_tokens_get_401_at_once(
    client: TestClient, container: Container, auth: Auth
) -> None:
    school12 = auth("school12")
    feed = feed_token(client, school12)["token"]
    assert client.get("/api/v1/auth/me", headers=school12).status_code == 200
    assert client.get(SCHOOL_12_FEED, params={"token": feed}).status_code == 200

    off = client.put(
        f"/api/v1/users/{user_id(container, 'school12')}/active",
        json={"active": False},
        headers=auth("rcc"),
    )

    assert off.status_code == 200, off.text
    me = client.get("/api/v1/auth/me", headers=school12)
    listed = client.get("/api/v1/bookings", headers=school12)
    booked = client.post("/api/v1/bookings", json=LESSON_AT_12, headers=school12)
    calendar = client.get(SCHOOL_12_FEED, params={"token": feed})
    for answer in (me, listed, booked, calendar):
        assert answer.status_code == 401, answer.text
        assert answer.json()["detail"] == "the token's user is deactivated"
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    nothing_booked = client.get("/api/v1/bookings", headers=auth("rcc")).json()
    assert all(b["title"] != LESSON_AT_12["title"] for b in nothing_booked["items"])


def test_a_reactivated_user_gets_its_tokens_back(
    client: TestClient, container: Container, auth: Auth
) -> None:
    school12 = auth("school12")
    path = f"/api/v1/users/{user_id(container, 'school12')}/active"
    client.put(path, json={"active": False}, headers=auth("rcc"))
    assert client.get("/api/v1/auth/me", headers=school12).status_code == 401

    client.put(path, json={"active": True}, headers=auth("rcc"))

    assert client.get("/api/v1/auth/me", headers=school12).status_code == 200


def test_a_deactivation_by_another_api_process_counts_at_once(
    client: TestClient, second_app: TestClient, container: Container, auth: Auth
) -> None:
    school12 = auth("school12")
    feed = feed_token(client, school12)["token"]
    assert client.get("/api/v1/bookings", headers=school12).status_code == 200

    off = second_app.put(
        f"/api/v1/users/{user_id(container, 'school12')}/active",
        json={"active": False},
        headers=auth("rcc"),
    )

    assert off.status_code == 200, off.text
    assert client.get("/api/v1/bookings", headers=school12).status_code == 401
    assert client.post("/api/v1/bookings", json=LESSON_AT_12, headers=school12).status_code == 401
    assert client.get(SCHOOL_12_FEED, params={"token": feed}).status_code == 401


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("UPDATE users SET active = false WHERE username = 'school12'", "deactivated"),
        ("UPDATE users SET role = 'viewer' WHERE username = 'school12'", "another role"),
        ("UPDATE users SET org_id = 'kem-school-20' WHERE username = 'school12'", "organisation"),
        ("DELETE FROM users WHERE username = 'school12'", "no longer exists"),
    ],
)
def test_a_change_made_in_plain_sql_ends_the_users_tokens(
    client: TestClient, container: Container, auth: Auth, change: str, reason: str
) -> None:
    school12 = auth("school12")
    feed = feed_token(client, school12)["token"]
    assert client.get("/api/v1/auth/me", headers=school12).status_code == 200  # copy kept

    run_sql(container, change)

    me = client.get("/api/v1/auth/me", headers=school12)
    calendar = client.get(SCHOOL_12_FEED, params={"token": feed})
    assert (me.status_code, calendar.status_code) == (401, 401)
    assert reason in me.json()["detail"]
    assert reason in calendar.json()["detail"]


def test_a_revoked_feed_token_is_refused_while_another_of_the_same_user_still_works(
    client: TestClient, auth: Auth
) -> None:
    school12 = auth("school12")
    kitchen = feed_token(client, school12, "Outlook в учительской")
    phone = feed_token(client, school12, "телефон")

    revoked = client.delete(f"/api/v1/auth/feed-tokens/{kitchen['jti']}", headers=school12)

    assert revoked.status_code == 204
    refused = client.get(SCHOOL_12_FEED, params={"token": kitchen["token"]})
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token has been revoked"
    assert client.get(SCHOOL_12_FEED, params={"token": phone["token"]}).status_code == 200
    listed = client.get("/api/v1/auth/feed-tokens", headers=school12).json()
    revoked_by_name = {t["name"]: t["revoked_at"] is not None for t in listed["items"]}
    assert revoked_by_name == {"Outlook в учительской": True, "телефон": False}
    again = client.delete(f"/api/v1/auth/feed-tokens/{kitchen['jti']}", headers=school12)
    assert again.status_code == 204  # revoking twice changes nothing


def test_a_revocation_through_another_api_process_counts_at_once(
    client: TestClient, second_app: TestClient, auth: Auth
) -> None:
    school12 = auth("school12")
    feed = feed_token(client, school12)
    assert client.get(SCHOOL_12_FEED, params={"token": feed["token"]}).status_code == 200

    second_app.delete(f"/api/v1/auth/feed-tokens/{feed['jti']}", headers=school12)

    assert client.get(SCHOOL_12_FEED, params={"token": feed["token"]}).status_code == 401


def test_a_user_neither_lists_nor_revokes_another_users_tokens(
    client: TestClient, container: Container, auth: Auth
) -> None:
    feed = feed_token(client, auth("school12"), "Outlook")
    school12_id = user_id(container, "school12")

    listed = client.get(
        "/api/v1/auth/feed-tokens", params={"user_id": school12_id}, headers=auth("net20")
    )
    revoked = client.delete(f"/api/v1/auth/feed-tokens/{feed['jti']}", headers=auth("net20"))
    own_list = client.get("/api/v1/auth/feed-tokens", headers=auth("net20"))

    assert listed.status_code == 403
    assert revoked.status_code == 404
    assert own_list.json()["items"] == []
    assert client.get(SCHOOL_12_FEED, params={"token": feed["token"]}).status_code == 200


def test_the_rcc_lists_and_revokes_any_users_feed_tokens(
    client: TestClient, container: Container, auth: Auth
) -> None:
    feed = feed_token(client, auth("school12"), "Outlook")
    school12_id = user_id(container, "school12")

    listed = client.get(
        "/api/v1/auth/feed-tokens", params={"user_id": school12_id}, headers=auth("rcc")
    )
    revoked = client.delete(f"/api/v1/auth/feed-tokens/{feed['jti']}", headers=auth("rcc"))

    assert listed.status_code == 200
    [record] = listed.json()["items"]
    assert (record["jti"], record["user_id"], record["scope"]) == (feed["jti"], school12_id, "feed")
    assert record["expires_at"] == feed["expires_at"]
    assert revoked.status_code == 204
    assert client.get(SCHOOL_12_FEED, params={"token": feed["token"]}).status_code == 401


def test_a_service_account_token_works_until_the_rcc_revokes_it(
    client: TestClient, container: Container, clock: FrozenClock, auth: Auth
) -> None:
    timetable = Principal("svc:расписание", Role.SCHEDULER, "kemerovo", "kuzbass/kemerovo")
    token = issue_recorded(
        container.tokens,
        container.uow_factory,
        timetable,
        now=clock.now(),
        ttl=timedelta(days=365),
        scope=Scope.API,
        name="расписание",
    )
    assert client.get("/api/v1/bookings", headers=bearer(token.value)).status_code == 200

    revoked = client.delete(f"/api/v1/auth/feed-tokens/{token.jti}", headers=auth("rcc"))

    assert revoked.status_code == 204
    refused = client.get("/api/v1/bookings", headers=bearer(token.value))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token has been revoked"


def test_an_unrecorded_feed_or_service_account_token_is_refused(
    client: TestClient, container: Container, clock: FrozenClock
) -> None:
    """Signed with the right key but never recorded (issued before revision 0500, or by
    someone holding the key): nothing could revoke it, so it is not honoured."""
    user = users.find_user(container.uow_factory(), "school12")
    assert user is not None
    school12 = users.principal_of(container.uow_factory(), user)
    feed = container.tokens.issue(
        school12, now=clock.now(), ttl=timedelta(days=1), scope=Scope.FEED
    )
    service = container.tokens.issue(
        Principal("svc:sync", Role.RCC_OPERATOR, "kuzbass", "kuzbass"),
        now=clock.now(),
        ttl=timedelta(days=1),
    )

    calendar = client.get(SCHOOL_12_FEED, params={"token": feed.value})
    listed = client.get("/api/v1/bookings", headers=bearer(service.value))

    assert (calendar.status_code, listed.status_code) == (401, 401)
    assert "not (or no longer) known" in calendar.json()["detail"]


def test_the_secret_key_is_not_enough_for_an_unknown_user(
    client: TestClient, clock: FrozenClock
) -> None:
    ghost = Principal("u-ghost", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    token = Tokens(SECRET).issue(ghost, now=clock.now(), ttl=timedelta(hours=1))

    answer = client.get("/api/v1/bookings", headers=bearer(token.value))

    assert answer.status_code == 401
    assert answer.json()["detail"] == "the token's user no longer exists"
