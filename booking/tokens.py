"""Issued tokens: every long-lived token the service hands out — calendar-feed tokens
and service-account tokens — is recorded, so that each one can be listed and revoked on
its own. Short login tokens are not recorded: they die with their user's deactivation,
role or organisation change (`booking/services/sessions.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SERVICE_PREFIX = "svc:"  # a service account's `sub`: `svc:<name>` (not a user)
FEED_SCOPE = "feed"  # a read-only calendar-feed token


def is_service_account(subject: str) -> bool:
    return subject.startswith(SERVICE_PREFIX)


@dataclass
class IssuedToken:
    id: str  # the token's `jti`
    user_id: str  # a user's id, or `svc:<name>` for a service account
    scope: str  # "feed" or "api"
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    version: int = 1

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
