"""Tokens signed with the service's key but carrying claims this service never issues
(found by probing: `exp=1e20` answered 500 and reset the connection, `exp` as a string
was accepted) get 401 with the reason, like any other bad token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from booking.services import users
from tests.api.conftest import SECRET, FrozenClock
from vks.bootstrap import Container

Claims = dict[str, Any]


@pytest.fixture
def school12_claims(container: Container, clock: FrozenClock) -> Claims:
    """What a login token of the coordinator of СОШ №12 says (the user exists and is
    active, so only the claims themselves can be wrong)."""
    user = users.find_user(container.uow_factory(), "school12")
    assert user is not None
    now = int(clock.now().timestamp())
    return {
        "sub": user.id,
        "role": "local_coordinator",
        "org": "kem-school-12",
        "path": "kuzbass/kemerovo/kem-net-1/kem-school-12",
        "scope": "api",
        "name": "school12",
        "iat": now,
        "exp": now + 3600,
        "jti": "3f2a9c4e5b6d4e7f8a9b0c1d2e3f4a5b",
    }


@pytest.fixture
def me_with(client: TestClient, school12_claims: Claims) -> Callable[..., Any]:
    def call(**changed: Any) -> Any:
        token = jwt.encode({**school12_claims, **changed}, SECRET, algorithm="HS256")
        return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})

    return call


def test_the_unchanged_claims_are_honoured(me_with: Callable[..., Any]) -> None:
    assert me_with().status_code == 200


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"exp": 1e20}, "the token's 'exp' claim is not a whole number of seconds"),
        ({"exp": 10**20}, "the token's 'exp' claim is out of range"),
        ({"exp": 2**63}, "the token's 'exp' claim is out of range"),
        ({"exp": "1893456000"}, "the token's 'exp' claim is not a whole number of seconds"),
        ({"exp": True}, "the token's 'exp' claim is not a whole number of seconds"),
        ({"exp": 1893456000.5}, "the token's 'exp' claim is not a whole number of seconds"),
        ({"exp": None}, "the token lacks the 'exp' claim"),
        ({"iat": "1787626800"}, "the token's 'iat' claim is not a whole number of seconds"),
        ({"iat": -1}, "the token's 'iat' claim is out of range"),
        ({"iat": 1e300}, "the token's 'iat' claim is not a whole number of seconds"),
        ({"iat": 1893456000, "exp": 1893456000}, "the token's 'exp' claim is not after its 'iat'"),
        ({"sub": 123}, "the token's 'sub' claim is not a string"),
        ({"sub": ""}, "the token's 'sub' claim is empty or too long"),
        ({"sub": "u" * 10_000}, "the token's 'sub' claim is empty or too long"),
        ({"role": ["rcc_operator"]}, "the token's 'role' claim is not a string"),
        ({"org": {"id": "kuzbass"}}, "the token's 'org' claim is not a string"),
        ({"path": None}, "the token lacks the 'path' claim"),
        ({"path": 42}, "the token's 'path' claim is not a string"),
        ({"jti": 7}, "the token's 'jti' claim is not a string"),
        ({"scope": ["feed"]}, "the token's 'scope' claim is not a string"),
        ({"name": 5}, "the token's 'name' claim is not a string"),
        ({"role": "superuser"}, "the token names an unknown role or scope"),
    ],
    ids=lambda value: value if isinstance(value, str) else str(value)[:40],
)
def test_absurd_claims_get_401_with_the_reason(
    me_with: Callable[..., Any], changed: Claims, reason: str
) -> None:
    answer = me_with(**changed)

    assert answer.status_code == 401, answer.text
    assert answer.json()["detail"] == reason
    assert answer.json()["code"] == "not_authenticated"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
