"""Logging a user in: username and password (throttled per username and per client
address) → a signed login token. The API's `POST /auth/login` and the web interface's
login form both call `log_in`."""

from __future__ import annotations

from dataclasses import dataclass

from booking.access import Principal
from booking.errors import NotAuthenticated
from booking.services import users
from vks.auth.tokens import Token
from vks.bootstrap import Container

BAD_LOGIN = "unknown username or wrong password"


@dataclass(frozen=True)
class LoggedIn:
    token: Token
    principal: Principal
    username: str
    full_name: str


def log_in(container: Container, username: str, password: str, address: str) -> LoggedIn:
    """A login token for the user, or NotAuthenticated (TooManyAttempts over a limit,
    before the password is looked at). Blocking: call it from a worker thread."""
    throttle = container.login_throttle
    if throttle is not None:
        throttle.check(username, address)
    try:
        user = users.find_user(container.uow_factory(), username)
        hashed = user.password_hash if user is not None else None
        if not container.passwords.verify(hashed, password) or user is None:
            raise NotAuthenticated(BAD_LOGIN)
        principal = users.principal_of(container.uow_factory(), user)
    except NotAuthenticated:
        if throttle is not None:
            throttle.failed(username, address)
        raise
    if throttle is not None:
        throttle.succeeded(username, address)
    token = container.tokens.issue(
        principal, now=container.clock.now(), ttl=container.token_ttl(), name=user.username
    )
    return LoggedIn(token, principal, user.username, user.full_name or "")
