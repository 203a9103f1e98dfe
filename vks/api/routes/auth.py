"""Logging in (username/password → bearer token), who am I, calendar-feed tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Request
from starlette.concurrency import run_in_threadpool

from booking.errors import NotAuthenticated
from booking.services import users
from vks.api.dependencies import Ctx, api_claims, container_of
from vks.api.schemas.auth import FeedTokenOut, LoginIn, MeOut, TokenOut
from vks.api.schemas.common import problem_responses
from vks.auth.tokens import Claims, Scope

router = APIRouter(prefix="/auth", tags=["auth"])

BAD_LOGIN = "unknown username or wrong password"


@router.post("/login", response_model=TokenOut, responses=problem_responses(401, 422))
async def login(request: Request, body: Annotated[LoginIn, Body()]) -> TokenOut:
    """Exchange a username and password for a bearer token (`Authorization: Bearer …`)."""
    container = container_of(request)

    def check() -> TokenOut:
        user = users.find_user(container.uow_factory(), body.username)
        hashed = user.password_hash if user is not None else None
        if not container.passwords.verify(hashed, body.password) or user is None:
            raise NotAuthenticated(BAD_LOGIN)
        principal = users.principal_of(container.uow_factory(), user)
        token = container.tokens.issue(
            principal, now=container.clock.now(), ttl=container.token_ttl(), name=user.username
        )
        return TokenOut(
            access_token=token.value,
            expires_at=token.expires_at,
            role=principal.role,
            org_id=principal.org_id,
        )

    return await run_in_threadpool(check)


@router.get("/me", response_model=MeOut, responses=problem_responses(401))
def me(claims: Annotated[Claims, Depends(api_claims)]) -> MeOut:
    p = claims.principal
    return MeOut(
        user_id=p.user_id,
        role=p.role,
        org_id=p.org_id,
        org_path=p.org_path,
        scope=claims.scope,
        expires_at=claims.expires_at,
    )


@router.post(
    "/feed-token", response_model=FeedTokenOut, status_code=201, responses=problem_responses(401)
)
def feed_token(ctx: Ctx, request: Request) -> FeedTokenOut:
    """A long-lived, read-only token for calendar subscriptions (it can read the iCalendar
    feeds of the caller's scope and nothing else)."""
    container = ctx.container
    token = container.tokens.issue(
        ctx.principal,
        now=ctx.now,
        ttl=timedelta(days=container.settings.feed_token_ttl_days),
        scope=Scope.FEED,
    )
    base = str(request.base_url).rstrip("/") + "/api/v1/calendars"
    org = quote(ctx.principal.org_id, safe="")
    return FeedTokenOut(
        token=token.value,
        expires_at=token.expires_at,
        school_feed=f"{base}/schools/{org}.ics?token={token.value}",
        example_terminal_feed=f"{base}/terminals/<terminal-id>.ics?token={token.value}",
    )
