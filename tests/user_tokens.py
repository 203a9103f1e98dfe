"""Bearer tokens for specifications that name their caller by a `Principal` alone.

A token is honoured only while its user exists, is active and still has the token's role
and organisation (`booking/services/sessions.py`), so the principal is made a user first
(a user who cannot log in: no password hash matches)."""

from __future__ import annotations

from datetime import datetime, timedelta

from booking.access import Principal
from booking.users import User
from vks.bootstrap import Container


def user_token(container: Container, principal: Principal, *, now: datetime, ttl: timedelta) -> str:
    """A login token of `principal`, its user stored (with its role and organisation)."""
    with container.uow_factory() as uow:
        if uow.users.get(principal.user_id) is None:
            uow.users.add(
                User(
                    id=principal.user_id,
                    username=principal.user_id,
                    password_hash="!",
                    role=principal.role,
                    org_id=principal.org_id,
                )
            )
            uow.commit()
    return container.tokens.issue(principal, now=now, ttl=ttl).value
