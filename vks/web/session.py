"""Who is looking at a page: the session cookie carries the same signed login token as the
API's bearer header (HttpOnly, SameSite=Lax, Secure over HTTPS or with
`VKS_WEB_SECURE_COOKIES`), checked the same way — signature, expiry, the user still active
with the same role and organisation (`booking/services/sessions.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, cast
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response

from booking.access import Principal
from booking.errors import NotAuthenticated
from booking.services import queries, sessions
from booking.workflow.store import WorkflowUnitOfWork
from vks.auth.tokens import Scope, Token
from vks.bootstrap import Container

SESSION_COOKIE = "vks_session"


class LoginRequired(Exception):
    """No valid session: the page answers a redirect to the login form."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def workflow_reading(request: Request) -> WorkflowUnitOfWork:
    """A reading unit of work with the request workflow's documents (the request pages)."""
    return cast(WorkflowUnitOfWork, container_of(request).reading_uow())


def workflow_writing(request: Request) -> WorkflowUnitOfWork:
    """A writing unit of work with the request workflow's documents."""
    return cast(WorkflowUnitOfWork, container_of(request).uow_factory())


def now_of(request: Request) -> datetime:
    """The service's clock (frozen in specifications), read for a page's request."""
    return container_of(request).clock.now()


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or container_of(request).settings.web_secure_cookies


def set_session(request: Request, response: Response, token: Token) -> None:
    settings = container_of(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        token.value,
        max_age=settings.token_ttl_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a page request."""

    principal: Principal
    name: str
    zone: ZoneInfo
    org_name: str = ""  # the name of the viewer's organisation ("" when unknown)


def viewer_of(request: Request) -> Viewer:
    """The signed-in viewer, or LoginRequired (no cookie, or a token no longer honoured)."""
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    container = container_of(request)
    now = container.clock.now()
    try:
        claims = container.tokens.verify(token, now=now)
        if claims.scope != Scope.API:
            raise NotAuthenticated("not a login token")
        sessions.check_session(
            container.reading_uow(), claims.principal, scope=claims.scope, jti=claims.jti, now=now
        )
    except NotAuthenticated as refused:
        raise LoginRequired(refused.message) from None
    principal = claims.principal
    org = queries.orgs_of(container.reading_uow(), principal, [principal.org_id]).get(
        principal.org_id
    )
    zone = (org.zone if org is not None else None) or ZoneInfo(container.settings.monitor_time_zone)
    viewer = Viewer(principal, claims.name or principal.user_id, zone, org.name if org else "")
    request.state.viewer = viewer
    return viewer


CurrentViewer = Annotated[Viewer, Depends(viewer_of)]
