"""Errors of the pages as pages: what happened and what to do, never a trace. The domain
exceptions are mapped to statuses once, by the API's table (`vks/api/problems.py`); here
a page path gets HTML and an API path keeps its problem+json — the app's handlers are
wrapped, not replaced. A 403 names the roles that may do what was refused; a session
that is missing or no longer honoured leads to the login form."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from booking import errors
from booking.access import Action, roles_allowed
from booking.words import Words
from vks.api.problems import status_of
from vks.web.csrf import CsrfRefused
from vks.web.i18n import said
from vks.web.rendering import language_of, render
from vks.web.session import LoginRequired, clear_session, viewer_of

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response]]
API_PATHS = ("/api/", "/docs", "/openapi.json", "/metrics")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PATHS)


def to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("HX-Request"):
        response: Response = Response(status_code=204, headers={"HX-Redirect": "/login"})
    else:
        response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    clear_session(response)
    return response


def error_page(
    request: Request, status: int, kind: str, detail: str = "", **extra: object
) -> Response:
    with contextlib.suppress(Exception):  # the page shows without the navigation too
        viewer_of(request)  # the navigation, when someone is signed in
    return render(request, "error.html", status=status, kind=kind, detail=detail, **extra)


def domain_page(request: Request, exc: errors.DomainError) -> Response:
    status, _title = status_of(exc)
    if status == 401:
        return to_login(request)
    if status == 403:
        action = exc.details.get("action")
        roles = roles_allowed(Action(action)) if action in set(Action) else []
        return error_page(request, 403, "forbidden", said(exc, language_of(request)), roles=roles)
    kind = {404: "not_found", 409: "conflict", 412: "changed", 422: "invalid", 429: "throttled"}
    return error_page(request, status, kind.get(status, "failed"), said(exc, language_of(request)))


def invalid_field(error: Mapping[str, Any]) -> Words:
    """A form field the framework refused, in words a page translates (the field's name
    too, when the catalogue knows it)."""
    name = ".".join(str(p) for p in error.get("loc", ())[1:]) or "request"
    field = Words(name)
    limits = error.get("ctx") or {}
    kind = str(error.get("type", ""))
    if kind == "missing":
        return Words("fill in «%(field)s»", {"field": field})
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return Words("«%(field)s» is a whole number", {"field": field})
    if kind == "greater_than_equal":
        return Words("«%(field)s» is at least %(n)s", {"field": field, "n": limits.get("ge")})
    if kind == "less_than_equal":
        return Words("«%(field)s» is at most %(n)s", {"field": field, "n": limits.get("le")})
    if kind == "string_too_long":
        return Words("«%(field)s» is at most %(n)s characters long",
                     {"field": field, "n": limits.get("max_length")})  # fmt: skip
    if kind == "string_too_short":
        return Words("fill in «%(field)s»", {"field": field})
    return Words("«%(field)s»: %(problem)s", {"field": field, "problem": error.get("msg", "")})


def install(app: FastAPI) -> None:
    """Wrap the app's handlers: page paths answer pages."""
    handlers = app.exception_handlers

    def wrap(cls: type[Exception], page: Callable[[Request, Exception], Response]) -> None:
        api: Handler | None = handlers.get(cls)  # type: ignore[assignment]

        async def handle(request: Request, exc: Exception) -> Response:
            if is_page(request) or api is None:
                return page(request, exc)
            return await api(request, exc)

        app.add_exception_handler(cls, handle)

    def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.DomainError)
        return domain_page(request, exc)

    def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return error_page(request, 404, "not_found")
        if exc.status_code == 405:
            return error_page(request, 405, "failed", "method not allowed")
        return error_page(request, exc.status_code, "failed", str(exc.detail))

    def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        refused = invalid_field(first)
        return error_page(request, 422, "invalid", said(refused, language_of(request)))

    def on_anything(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on page %s %s", request.method, request.url.path)
        return error_page(request, 500, "internal")

    wrap(errors.DomainError, on_domain)
    wrap(StarletteHTTPException, on_http)
    wrap(RequestValidationError, on_invalid)
    wrap(Exception, on_anything)
    app.add_exception_handler(LoginRequired, lambda request, exc: to_login(request))
    app.add_exception_handler(CsrfRefused, lambda request, exc: error_page(request, 403, "csrf"))
