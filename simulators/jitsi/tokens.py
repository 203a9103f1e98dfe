"""JWT checks as prosody's token authentication (`token/util.lib.lua`) makes them.

- signature: HS256 with the app secret (`signature_algorithm` may change it); `alg` none
  or missing is refused;
- `iss` must be one of the accepted issuers (default: the app id);
- `aud` must be one of the accepted audiences (`*` accepts any);
- `exp` is required and must be in the future, `nbf` (if present) in the past, both
  measured on the server's own clock (so a skewed clock refuses good tokens);
- `room` is required unless `require_room_claim` is off; `*` allows every room, otherwise
  it must equal the room name, case-insensitively;
- `sub` is only checked with `enable_domain_verification` (then `*` or the domain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt


class TokenRejected(Exception):
    """The token is refused. `error` is the XMPP condition prosody would use."""

    def __init__(self, reason: str, error: str = "not-authorized") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


@dataclass(frozen=True)
class TokenPolicy:
    app_id: str
    app_secret: str
    accepted_issuers: Sequence[str] = ()
    accepted_audiences: Sequence[str] = ("*",)
    signature_algorithm: str = "HS256"
    require_room_claim: bool = True
    enable_domain_verification: bool = False

    def issuers(self) -> Sequence[str]:
        return self.accepted_issuers or (self.app_id,)

    def verify(self, token: str, now: float) -> dict[str, Any]:
        """Check signature and claims; return the claims (room not checked yet)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"malformed token: {exc}") from exc
        if str(header.get("alg") or "none").lower() == "none":
            raise TokenRejected("unsigned token (alg none) refused")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.app_secret,
                algorithms=[self.signature_algorithm],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"signature verification failed: {exc}") from exc
        if claims.get("iss") not in self.issuers():
            raise TokenRejected("issuer not allowed")
        audiences = self.accepted_audiences
        if "*" not in audiences and claims.get("aud") not in audiences:
            raise TokenRejected("audience not allowed")
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            raise TokenRejected("exp claim required")
        if now >= exp:
            raise TokenRejected("token expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and now < nbf:
            raise TokenRejected("token not valid yet")
        if self.require_room_claim and "room" not in claims:
            raise TokenRejected("room claim required")
        return claims

    def allows_room(self, claims: dict[str, Any], room: str, domain: str) -> bool:
        claimed = claims.get("room")
        if claimed is not None and claimed != "*" and str(claimed).lower() != room.lower():
            return False
        if self.enable_domain_verification:
            sub = str(claims.get("sub", ""))
            if sub != "*" and sub.lower() != domain.lower():
                return False
        return True
