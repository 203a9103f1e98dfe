"""Logging in (username/password → bearer token), who am I, calendar-feed tokens (issued,
listed and revoked one by one)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from booking.organisations import OrgKind
from booking.services import inventory, sessions
from booking.tokens import IssuedToken
from vks.api.dependencies import Ctx, api_claims, container_of
from vks.api.pagination import Paging, page_of
from vks.api.schemas.auth import FeedTokenIn, FeedTokenOut, IssuedTokenOut, LoginIn, MeOut, TokenOut
from vks.api.schemas.common import Page, problem_responses
from vks.auth.issuing import issue_recorded
from vks.auth.login import log_in
from vks.auth.tokens import Claims, Scope

router = APIRouter(prefix="/auth", tags=["auth"])


LOGIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(401, 422, 429),
    429: {
        **problem_responses(429)[429],
        "description": "too many failed logins for this username or from this address"
        " (code `too_many_attempts`); wait `Retry-After` seconds",
        "headers": {
            "Retry-After": {
                "description": "seconds until a login may be tried again",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}


@router.post("/login", response_model=TokenOut, responses=LOGIN_RESPONSES)
async def login(request: Request, body: Annotated[LoginIn, Body()]) -> TokenOut:
    """Exchange a username and password for a bearer token (`Authorization: Bearer …`).

    Failed logins are throttled per username and per client address
    (`VKS_LOGIN_RATE_PER_USER`, `VKS_LOGIN_RATE_PER_ADDRESS`): over either limit the
    answer is 429 with `Retry-After`, whatever the password."""
    container = container_of(request)
    address = request.client.host if request.client is not None else "unknown"

    def check() -> TokenOut:
        done = log_in(container, body.username, body.password, address)
        return TokenOut(
            access_token=done.token.value,
            expires_at=done.token.expires_at,
            role=done.principal.role,
            org_id=done.principal.org_id,
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
    "/feed-token",
    response_model=FeedTokenOut,
    status_code=201,
    responses=problem_responses(401, 422),
)
def feed_token(
    ctx: Ctx, request: Request, body: Annotated[FeedTokenIn | None, Body()] = None
) -> FeedTokenOut:
    """A long-lived, read-only token for calendar subscriptions (it can read the iCalendar
    feeds of the caller's scope and nothing else). Each is recorded: list them with
    GET /auth/feed-tokens and revoke one with DELETE /auth/feed-tokens/{jti}."""
    container = ctx.container
    token = issue_recorded(
        container.tokens,
        container.uow_factory,
        ctx.principal,
        now=ctx.now,
        ttl=timedelta(days=container.settings.feed_token_ttl_days),
        scope=Scope.FEED,
        name=body.name if body is not None else "",
    )
    base = str(request.base_url).rstrip("/") + "/api/v1/calendars"
    org = quote(ctx.principal.org_id, safe="")
    kind = inventory.get_organisation(ctx.uow(), ctx.principal, ctx.principal.org_id).kind
    feeds = "schools" if kind == OrgKind.SCHOOL else "organisations"
    return FeedTokenOut(
        token=token.value,
        jti=token.jti,
        expires_at=token.expires_at,
        feed=f"{base}/{feeds}/{org}.ics?token={token.value}",
        school_feed=f"{base}/schools/{org}.ics?token={token.value}",
        example_terminal_feed=f"{base}/terminals/<terminal-id>.ics?token={token.value}",
    )


def _out(token: IssuedToken) -> IssuedTokenOut:
    return IssuedTokenOut(
        jti=token.id,
        user_id=token.user_id,
        scope=token.scope,
        name=token.name,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
    )


@router.get(
    "/feed-tokens", response_model=Page[IssuedTokenOut], responses=problem_responses(401, 403)
)
def list_feed_tokens(
    ctx: Ctx,
    paging: Paging,
    request: Request,
    user_id: Annotated[
        str | None,
        Query(
            max_length=128,
            description="whose tokens (RCC only; a user's id or `svc:<name>`); default: yours",
        ),
    ] = None,
) -> dict[str, Any]:
    """The recorded feed tokens of the caller (revoked ones too, with `revoked_at`)."""
    found = sessions.tokens_page(
        ctx.uow(), ctx.principal, user_id, offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, _out)


REVOKED: dict[int | str, dict[str, Any]] = {204: {"description": "revoked (or already was)"}}


@router.delete(
    "/feed-tokens/{jti}",
    status_code=204,
    response_class=Response,
    responses={**REVOKED, **problem_responses(401, 404)},
)
def revoke_feed_token(jti: str, ctx: Ctx) -> Response:
    """Revoke one feed token of the caller's (the RCC: anyone's, service accounts' too):
    from now on it gets 401 everywhere, in every API process."""
    sessions.revoke_token(ctx.uow(), ctx.principal, jti, ctx.now)
    return Response(status_code=204)
