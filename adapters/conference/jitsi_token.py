"""Jitsi Meet JWTs for prosody's token authentication (`authentication = "token"`).

One token per participant, HS256 with the deployment's app secret:

- `iss` = app id (prosody's `asap_accepted_issuers` defaults to it), `aud` = the configured
  audience, `sub` = the XMPP domain (checked only with `enable_domain_verification`),
  `room` = the bare room name (never `*`: a link opens one room only);
- `nbf`/`exp` bound to the occurrence: from the start of the set-up buffer (minus a small
  leeway for clock skew) to the lesson end plus the allowed overrun;
- `context.user` {id, name, email} as strings (prosody throws on null or numbers), plus
  `moderator` ("true"/"false") and `affiliation` ("owner"/"member"), which jitsi-contrib's
  `mod_token_affiliation` reads, and a top-level boolean `moderator` for
  `mod_token_moderation`. Neither plugin works unless Jicofo's auto-owner is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt


@dataclass(frozen=True)
class TokenIssuer:
    app_id: str
    app_secret: str
    audience: str = "jitsi"
    domain: str = "meet.jitsi"
    algorithm: str = "HS256"

    def claims(
        self,
        room: str,
        *,
        not_before: datetime,
        expires: datetime,
        user_id: str,
        name: str,
        email: str = "",
        moderator: bool = False,
    ) -> dict[str, Any]:
        return {
            "iss": self.app_id,
            "aud": self.audience,
            "sub": self.domain,
            "room": room,
            "nbf": int(not_before.timestamp()),
            "exp": int(expires.timestamp()),
            "moderator": moderator,
            "context": {
                "user": {
                    "id": str(user_id),
                    "name": str(name),
                    "email": str(email),
                    "moderator": "true" if moderator else "false",
                    "affiliation": "owner" if moderator else "member",
                }
            },
        }

    def encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.app_secret, algorithm=self.algorithm)

    def token(
        self,
        room: str,
        *,
        not_before: datetime,
        expires: datetime,
        user_id: str,
        name: str,
        email: str = "",
        moderator: bool = False,
    ) -> str:
        return self.encode(
            self.claims(
                room,
                not_before=not_before,
                expires=expires,
                user_id=user_id,
                name=name,
                email=email,
                moderator=moderator,
            )
        )
