"""Bearer tokens: JWT signed with HS256 and the service's secret key (PyJWT).

Claims: `sub` (the user id, or `svc:<name>` for a service account), `role`, `org` (the
root of the organisation subtree the caller acts in), `path` (that organisation's
materialised path, stable because organisations never move in the tree), `scope`
(`api`, or `feed` for read-only calendar-feed tokens that calendar clients keep in their
subscription URL), `name`, `exp`, `iat`, `jti`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import jwt

from booking.access import Principal, Role
from booking.errors import NotAuthenticated

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "role", "org", "path", "exp", "iat", "jti")
DECODED_KEPT = 1024  # tokens whose signature was checked, kept per process


class Scope(StrEnum):
    API = "api"
    FEED = "feed"  # read-only: calendar feeds only


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: datetime
    jti: str


@dataclass(frozen=True)
class Claims:
    principal: Principal
    scope: Scope
    name: str
    expires_at: datetime
    jti: str


class Tokens:
    """Issues with `secret_key`; verifies with it and, during a key rotation, with the
    `previous` keys too (tokens signed before the rotation stay valid until they expire)."""

    def __init__(self, secret_key: str, previous: tuple[str, ...] = ()) -> None:
        if any(len(key) < 8 for key in (secret_key, *previous)):
            raise ValueError("the secret key must be at least 8 characters")
        self._key = secret_key
        self._previous = previous
        # The signature checks of the tokens seen last: a client sends the same token with
        # every request, and checking it again (base64, JSON, HMAC) is a twentieth of a
        # create's CPU — twice per POST (the idempotency middleware names the caller too).
        # Only decoded signed tokens are kept; the claims are checked against `now` on
        # every call, revocation and the user's state by the session check as before.
        self._decoded = lru_cache(maxsize=DECODED_KEPT)(self._decode)

    def issue(
        self,
        principal: Principal,
        *,
        now: datetime,
        ttl: timedelta,
        scope: Scope = Scope.API,
        name: str = "",
    ) -> Token:
        expires = now + ttl
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "sub": principal.user_id,
            "role": str(principal.role),
            "org": principal.org_id,
            "path": principal.org_path,
            "scope": str(scope),
            "name": name,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": jti,
        }
        return Token(jwt.encode(claims, self._key, algorithm=ALGORITHM), expires, jti)

    def verify(self, token: str, *, now: datetime) -> Claims:
        """The caller a token names; NotAuthenticated (with the reason) if it is malformed,
        forged, expired, incomplete, or its claims are not what this service issues (a
        token signed with the right key may still carry absurd claims: each is checked)."""
        try:
            claims = self._decoded(token)
        except jwt.MissingRequiredClaimError as exc:
            raise NotAuthenticated(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise NotAuthenticated("the token's signature is not valid") from None
        except jwt.PyJWTError:
            raise NotAuthenticated("the token is malformed") from None
        return _claims(claims, now)

    def _decode(self, token: str) -> dict[str, Any]:
        """The claims, checked with the current key, then with each previous one."""
        keys = (self._key, *self._previous)
        for key in keys[:-1]:
            try:
                return _decode_with(token, key)
            except jwt.InvalidSignatureError:
                continue
        return _decode_with(token, keys[-1])


def _decode_with(token: str, key: str) -> dict[str, Any]:
    return jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        options={
            "require": list(REQUIRED_CLAIMS),
            "verify_exp": False,  # against the service's clock, below
            "verify_iat": False,  # checked strictly below
            "verify_nbf": False,
            "verify_sub": False,  # every text claim is checked alike, below
            "verify_jti": False,
        },
    )


def _claims(claims: dict[str, Any], now: datetime) -> Claims:
    """The caller the decoded claims name, each claim checked."""
    issued = _timestamp(claims, "iat")
    expires_at = _timestamp(claims, "exp")
    if expires_at <= issued:
        raise NotAuthenticated("the token's 'exp' claim is not after its 'iat'")
    expires = datetime.fromtimestamp(expires_at, tz=now.tzinfo)
    if expires <= now:  # checked against the service's clock, not the machine's
        raise NotAuthenticated("the token has expired")
    texts = {name: _text(claims, name) for name in TEXT_CLAIMS}
    try:
        role = Role(texts["role"])
        scope = Scope(_text(claims, "scope") if "scope" in claims else Scope.API)
    except ValueError:
        raise NotAuthenticated("the token names an unknown role or scope") from None
    principal = Principal(
        user_id=texts["sub"], role=role, org_id=texts["org"], org_path=texts["path"]
    )
    return Claims(principal, scope, _text(claims, "name", empty=True), expires, texts["jti"])


# Timestamps as this service issues them: whole seconds from 1970 to the end of year 9999
LATEST = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp())
TEXT_CLAIMS = ("sub", "role", "org", "path", "jti")
LONGEST_TEXT = 512  # longer than any id, path or name this service puts in a token


def _timestamp(claims: dict[str, Any], name: str) -> int:
    value = claims[name]
    if type(value) is not int:  # not a bool, float or string
        raise NotAuthenticated(f"the token's {name!r} claim is not a whole number of seconds")
    if not 0 <= value <= LATEST:
        raise NotAuthenticated(f"the token's {name!r} claim is out of range")
    return value


def _text(claims: dict[str, Any], name: str, *, empty: bool = False) -> str:
    value = claims.get(name, "")
    if not isinstance(value, str):
        raise NotAuthenticated(f"the token's {name!r} claim is not a string")
    if (not value and not empty) or len(value) > LONGEST_TEXT:
        raise NotAuthenticated(f"the token's {name!r} claim is empty or too long")
    return value
