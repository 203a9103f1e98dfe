"""Logging in is throttled: failed logins count per username and per client address;
over a limit the answer is 429 with Retry-After (before the password is even checked),
until the window has passed. Limits here: 5 failures a minute per username, 8 per
address (the test client's)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tests.api.conftest import FrozenClock
from vks.api.app import create_app
from vks.bootstrap import Container, build_container
from vks.demo.users import PASSWORD
from vks.settings import Settings

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"login_rate_per_user": "5/minute", "login_rate_per_address": "8/minute"}
    )


def login(client: TestClient, username: str, password: str = "wrong password") -> httpx.Response:
    return client.post(LOGIN, json={"username": username, "password": password})


def assert_throttled(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "too_many_attempts"
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    assert f"try again in {answer.headers['Retry-After']} s" in answer.json()["detail"]


def test_the_sixth_bad_password_for_one_username_within_a_minute_is_429(
    client: TestClient,
) -> None:
    failures = [login(client, "net20").status_code for _ in range(5)]

    sixth = login(client, "net20")
    right_password_now = login(client, "net20", PASSWORD)

    assert failures == [401] * 5
    assert_throttled(sixth)
    assert_throttled(right_password_now)  # refused before the password is checked


def test_another_username_from_the_same_address_works_until_the_address_limit(
    client: TestClient,
) -> None:
    for _ in range(5):
        login(client, "net20")
    assert_throttled(login(client, "net20"))

    other_user = login(client, "school12", PASSWORD)
    two_more_failures = [login(client, "school12").status_code for _ in range(3)]
    address_spent = login(client, "kem-coord", PASSWORD)

    assert other_user.status_code == 200
    assert two_more_failures == [401, 401, 401]  # the address's 6th, 7th and 8th failure
    assert_throttled(address_spent)


def test_successful_logins_do_not_count(client: TestClient) -> None:
    answers = [login(client, "school12", PASSWORD).status_code for _ in range(12)]

    assert answers == [200] * 12


def test_a_success_clears_the_usernames_failures(client: TestClient) -> None:
    before = [login(client, "school12").status_code for _ in range(4)]
    assert login(client, "school12", PASSWORD).status_code == 200

    after = [login(client, "school12").status_code for _ in range(4)]

    assert before + after == [401] * 8  # never 429: the count started again


def test_unknown_usernames_are_throttled_alike(client: TestClient) -> None:
    answers = [login(client, "admin").status_code for _ in range(6)]

    assert answers == [401] * 5 + [429]


def test_after_the_window_has_passed_logging_in_works_again(
    container: Container, settings: Settings, clock: FrozenClock
) -> None:
    quick = settings.model_copy(
        update={"login_rate_per_user": "2/2 seconds", "login_rate_per_address": "10/2 seconds"}
    )
    app = create_app(container=build_container(quick, clock=clock, engine=container.engine))
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, "net20")
        login(client, "net20")
        throttled = login(client, "net20", PASSWORD)
        time.sleep(2.1)

        again = login(client, "net20", PASSWORD)

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] in {"1", "2"}
    assert again.status_code == 200


@pytest.fixture
def two_processes(
    container: Container, settings: Settings, clock: FrozenClock, redis_url: str
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two API processes sharing one Redis (each its own throttle). The Redis outlives
    the test, so its usernames are new each time, and the address limit is out of reach."""
    shared = settings.model_copy(
        update={"redis_url": redis_url, "login_rate_per_address": "10000/minute"}
    )
    apps = [
        create_app(container=build_container(shared, clock=clock, engine=container.engine))
        for _ in range(2)
    ]
    with (
        TestClient(apps[0], raise_server_exceptions=False) as first,
        TestClient(apps[1], raise_server_exceptions=False) as second,
    ):
        yield first, second


def test_api_processes_sharing_redis_share_the_counts(
    two_processes: tuple[TestClient, TestClient],
) -> None:
    first, second = two_processes
    username = f"guess-{uuid.uuid4().hex[:8]}"

    failures = [login(first, username).status_code for _ in range(3)]
    failures += [login(second, username).status_code for _ in range(2)]

    assert failures == [401] * 5
    assert_throttled(login(first, username))
    assert_throttled(login(second, username))


def test_the_429_is_documented_with_retry_after(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    answer = document["paths"][LOGIN]["post"]["responses"]["429"]

    assert "Retry-After" in answer["headers"]
    assert "too_many_attempts" in answer["description"]


def test_a_rate_that_is_not_one_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="'lots' is not a rate like '5/minute'"):
        Settings(login_rate_per_user="lots")
