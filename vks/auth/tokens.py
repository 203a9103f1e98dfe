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
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from booking.access import Principal, Role
from booking.errors import NotAuthenticated

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "role", "org", "path", "exp", "iat", "jti")


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
    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < 8:
            raise ValueError("the secret key must be at least 8 characters")
        self._key = secret_key

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
        forged, expired or incomplete."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": list(REQUIRED_CLAIMS), "verify_exp": False},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise NotAuthenticated(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise NotAuthenticated("the token's signature is not valid") from None
        except jwt.PyJWTError:
            raise NotAuthenticated("the token is malformed") from None
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
        if expires <= now:  # checked against the service's clock, not the machine's
            raise NotAuthenticated("the token has expired")
        try:
            role = Role(claims["role"])
            scope = Scope(claims.get("scope", Scope.API))
        except ValueError:
            raise NotAuthenticated("the token names an unknown role or scope") from None
        principal = Principal(
            user_id=str(claims["sub"]),
            role=role,
            org_id=str(claims["org"]),
            org_path=str(claims["path"]),
        )
        return Claims(principal, scope, str(claims.get("name", "")), expires, str(claims["jti"]))
