"""Signing in and out with the users of the service (the same login as
`POST /api/v1/auth/login`: throttled, the same token), CSRF-checked forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.errors import NotAuthenticated, TooManyAttempts
from vks.auth.login import log_in
from vks.web.csrf import require_csrf
from vks.web.rendering import gettext_for, render
from vks.web.session import clear_session, container_of, set_session

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path of this site (no open redirect to another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/today"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=safe_next(next), error="", username="")


@router.post("/login", dependencies=[Depends(require_csrf)])
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/today",
) -> Response:
    container = container_of(request)
    address = request.client.host if request.client is not None else "unknown"
    _ = gettext_for(request)
    try:
        done = await run_in_threadpool(log_in, container, username, password, address)
    except TooManyAttempts:
        error = _("Too many failed attempts. Wait a minute and try again.")
        return render(request, "login.html", status=429, next=safe_next(next),
                      error=error, username=username)  # fmt: skip
    except NotAuthenticated:
        error = _("Unknown username or wrong password.")
        return render(request, "login.html", status=401, next=safe_next(next),
                      error=error, username=username)  # fmt: skip
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session(request, response, done.token)
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    clear_session(response)
    return response
