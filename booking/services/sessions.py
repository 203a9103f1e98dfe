"""Sessions: whether a token is still honoured, and the recorded tokens' use cases.

The rule: a token is honoured only while
- its user still exists, is active, and still has the token's role and organisation
  (service accounts, `svc:<name>`, are not users: they have no such check), and
- if it is a long-lived token — a calendar-feed token or a service account's — its
  record (`booking/tokens.py`) is there and not revoked.

Short login tokens are not recorded: deactivating the user, or changing the user's role or
organisation, ends them all. `check_session` runs on every request; the storage answers
it from this process's copy of the users and tokens, checked against the database's change
counters, so a change made by any process counts at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from booking.access import Action, Principal
from booking.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from booking.paging import Page, page_of_list
from booking.repository import UnitOfWork
from booking.tokens import FEED_SCOPE, IssuedToken, is_service_account

NAME_LENGTH = 128  # as stored


def must_be_recorded(subject: str, scope: str) -> bool:
    """Feed tokens and service-account tokens live long: each is recorded, to be revoked."""
    return is_service_account(subject) or scope == FEED_SCOPE


def check_session(
    uow: UnitOfWork, principal: Principal, *, scope: str, jti: str, now: datetime
) -> None:
    """NotAuthenticated (with the reason) unless the token is still honoured."""
    with uow:
        check_session_in(uow, principal, scope=scope, jti=jti, now=now)


def check_session_in(
    uow: UnitOfWork, principal: Principal, *, scope: str, jti: str, now: datetime
) -> None:
    """`check_session` in a unit of work already open (its transaction's reads)."""
    if not is_service_account(principal.user_id):
        user = uow.users.get(principal.user_id)
        if user is None:
            raise NotAuthenticated("the token's user no longer exists")
        if not user.active:
            raise NotAuthenticated("the token's user is deactivated")
        if user.role != principal.role or user.org_id != principal.org_id:
            raise NotAuthenticated(
                "the token's user has another role or organisation now: log in again"
            )
    if must_be_recorded(principal.user_id, scope):
        token = uow.tokens.get(jti)
        if token is None or token.user_id != principal.user_id:
            raise NotAuthenticated("the token is not (or no longer) known: issue a new one")
        if token.revoked_at is not None:
            raise NotAuthenticated("the token has been revoked")
        if token.expires_at <= now:
            raise NotAuthenticated("the token has expired")


class SessionChecked:
    """A unit of work whose every transaction first checks the caller's session, in that
    transaction: the request's work and its session check share one round trip to the
    change counters (`check_session` would open a transaction of its own). Nothing the
    work reads or writes comes before the check; a refused session rolls back.

    Everything else is the wrapped unit of work's (its repositories, commit, savepoint)."""

    def __init__(
        self, uow: UnitOfWork, principal: Principal, *, scope: str, jti: str, now: datetime
    ) -> None:
        self._uow = uow
        self._session = (principal, scope, jti, now)

    def __enter__(self) -> UnitOfWork:
        entered = self._uow.__enter__()
        principal, scope, jti, now = self._session
        try:
            check_session_in(entered, principal, scope=scope, jti=jti, now=now)
        except BaseException:
            self._uow.__exit__()
            raise
        return entered

    def __exit__(self, *exc: object) -> None:
        self._uow.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


def session_checked(
    uow: UnitOfWork, principal: Principal, *, scope: str, jti: str, now: datetime
) -> UnitOfWork:
    """`uow`, checking the session at the start of each of its transactions."""
    return cast(UnitOfWork, SessionChecked(uow, principal, scope=scope, jti=jti, now=now))


def forget_ended_tokens(uow: UnitOfWork, now: datetime, kept: timedelta) -> int:
    """Delete the records of tokens that expired or were revoked more than `kept` ago (the
    API's periodic housekeeping): a record outlives its token by `kept`, so its holder still
    sees why a subscription stopped; after that it is only weight. How many went."""
    with uow:
        gone = uow.tokens.delete_ended_before(now - kept)
        uow.commit()
        return gone


def record_token(uow: UnitOfWork, token: IssuedToken) -> IssuedToken:
    """Record a token just issued (by the API to its caller, or by `vks token create`)."""
    if len(token.name) > NAME_LENGTH:
        raise InvalidInput(f"a token's name has at most {NAME_LENGTH} characters", field="name")
    with uow:
        uow.tokens.add(token)
        uow.commit()
        return token


def list_tokens(
    uow: UnitOfWork, principal: Principal, user_id: str | None = None
) -> Sequence[IssuedToken]:
    """The caller's recorded tokens; the RCC may name another holder (a user's id or
    `svc:<name>`)."""
    holder = principal.user_id if user_id is None else user_id
    if holder != principal.user_id and not principal.can(Action.MANAGE_REGION):
        raise Forbidden("only the RCC lists other users' tokens", user_id=holder)
    with uow:
        return uow.tokens.of_user(holder)


def tokens_page(
    uow: UnitOfWork,
    principal: Principal,
    user_id: str | None = None,
    *,
    offset: int = 0,
    limit: int = 100,
) -> Page[IssuedToken]:
    """One page of `list_tokens` (a holder has a few tokens: read whole, then paged)."""
    return page_of_list(list_tokens(uow, principal, user_id), offset, limit)


def revoke_token(uow: UnitOfWork, principal: Principal, jti: str, now: datetime) -> IssuedToken:
    """Revoke one recorded token of the caller's (the RCC: anyone's). Revoking it again
    changes nothing; someone else's token is "not found", as if it did not exist."""
    with uow:
        token = uow.tokens.get(jti)
        if token is None or (
            token.user_id != principal.user_id and not principal.can(Action.MANAGE_REGION)
        ):
            raise NotFound(f"unknown token {jti}", jti=jti)
        if token.revoked_at is None:
            token.revoked_at = now
            token.version += 1
            uow.tokens.update(token)
            uow.commit()
        return token
