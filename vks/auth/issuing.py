"""Issuing the long-lived tokens — calendar-feed tokens and service-account tokens — and
recording each (`booking/services/sessions.py`), so that it can be listed and revoked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from booking.access import Principal
from booking.repository import UnitOfWork
from booking.services import sessions
from booking.tokens import IssuedToken
from vks.auth.tokens import Scope, Token, Tokens


def issue_recorded(
    tokens: Tokens,
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    *,
    now: datetime,
    ttl: timedelta,
    scope: Scope,
    name: str = "",
) -> Token:
    """A new token, recorded before it is handed out (a token whose record failed is
    never seen by anyone)."""
    token = tokens.issue(principal, now=now, ttl=ttl, scope=scope, name=name)
    record = IssuedToken(
        id=token.jti,
        user_id=principal.user_id,
        scope=str(scope),
        name=name,
        created_at=now,
        expires_at=token.expires_at,
    )
    sessions.record_token(uow_factory(), record)
    return token
