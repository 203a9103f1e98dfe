"""What a route gets injected: the caller (from the bearer token), the clock's `now`,
fresh units of work and the booking policy — one `Context` per request. What a route
writes reaches the automation by itself: the unit of work publishes the domain events on
the container's message bus after commit (`vks.bootstrap`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from booking.access import Principal
from booking.errors import Forbidden, NotAuthenticated
from booking.repository import UnitOfWork
from booking.services import sessions
from booking.services.policy import Policy
from vks.auth.tokens import Claims, Scope
from vks.bootstrap import Container

bearer = HTTPBearer(
    auto_error=False,
    description="a JWT from POST /api/v1/auth/login or `vks token create`",
)


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _signed(request: Request, token: str) -> Claims:
    """The token's claims if it is well-formed, signed and unexpired (no I/O)."""
    container = container_of(request)
    claims = container.tokens.verify(token, now=container.clock.now())
    request.state.claims = claims
    return claims


def _verify(request: Request, token: str) -> Claims:
    """The token's claims, if it is well-formed, signed, unexpired and still honoured
    (its user active with the same role and organisation, a long-lived token not revoked:
    `booking/services/sessions.py`)."""
    container = container_of(request)
    now = container.clock.now()
    claims = container.tokens.verify(token, now=now)
    sessions.check_session(
        container.reading_uow(), claims.principal, scope=claims.scope, jti=claims.jti, now=now
    )
    request.state.claims = claims
    return claims


def _missing() -> NotAuthenticated:
    return NotAuthenticated(
        "a bearer token is required (Authorization: Bearer <token>)", credentials="missing"
    )


def api_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    if credentials is None:
        raise _missing()
    claims = _verify(request, credentials.credentials)
    if claims.scope != Scope.API:
        raise Forbidden("a calendar-feed token can only read calendar feeds", scope=claims.scope)
    return claims


def feed_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token: Annotated[
        str | None,
        Query(description="a token in the URL, for calendar clients that cannot send headers"),
    ] = None,
) -> Claims:
    """Calendar feeds accept the token in the query (subscription URLs) or the header."""
    if credentials is not None:
        return _verify(request, credentials.credentials)
    if token:
        return _verify(request, token)
    raise NotAuthenticated(
        "a calendar feed needs a token: add ?token=<feed token> to the URL (POST "
        "/api/v1/auth/feed-token gives one, with the feed's URL) or send Authorization: "
        "Bearer <token>",
        credentials="missing",
    )


async def signed_api_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    """`api_claims` without the session check (no I/O, no thread hop): for routes whose
    every unit of work checks the session in its own transaction (`SessionCtx`)."""
    if credentials is None:
        raise _missing()
    claims = _signed(request, credentials.credentials)
    if claims.scope != Scope.API:
        raise Forbidden("a calendar-feed token can only read calendar feeds", scope=claims.scope)
    return claims


async def current_principal(claims: Annotated[Claims, Depends(api_claims)]) -> Principal:
    return claims.principal


@dataclass
class Context:
    container: Container
    principal: Principal
    now: datetime
    unchecked: Claims | None = None  # a session each unit of work checks first (SessionCtx)

    def uow(self) -> UnitOfWork:
        """A fresh unit of work (each service call opens and closes its own)."""
        made = self.container.uow_factory()
        claims = self.unchecked
        if claims is None:
            return made
        return sessions.session_checked(
            made, claims.principal, scope=claims.scope, jti=claims.jti, now=self.now
        )

    @property
    def policy(self) -> Policy:
        return self.container.policy


# The dependencies without I/O are async: FastAPI runs a sync dependency in the thread pool,
# a hop that costs more than the work. Those that read the database (the session check of
# `api_claims`, `feed_claims`) stay sync, off the event loop.
def _context(request: Request, claims: Claims) -> Context:
    container = container_of(request)
    return Context(container, claims.principal, container.clock.now())


async def api_context(request: Request, claims: Annotated[Claims, Depends(api_claims)]) -> Context:
    return _context(request, claims)


async def feed_context(
    request: Request, claims: Annotated[Claims, Depends(feed_claims)]
) -> Context:
    return _context(request, claims)


async def session_context(
    request: Request, claims: Annotated[Claims, Depends(signed_api_claims)]
) -> Context:
    """A route's context whose units of work check the caller's session in their own
    transaction (no transaction of its own, no thread hop): for the hot routes whose work
    is one service call — nothing is read or written before the check."""
    context = _context(request, claims)
    context.unchecked = claims
    return context


Ctx = Annotated[Context, Depends(api_context)]
SessionCtx = Annotated[Context, Depends(session_context)]
FeedCtx = Annotated[Context, Depends(feed_context)]
