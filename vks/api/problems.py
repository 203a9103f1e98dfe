"""Every error the API answers, as RFC 9457 `application/problem+json` — mapped here and
nowhere else: domain exceptions (booking.errors), HTTP-level problems raised by the API
itself (`ApiProblem`: missing If-Match, idempotency-key misuse), request validation
errors, unknown routes, and a catch-all 500 that never shows a traceback.

A problem carries `type` (`urn:vks:problem:<code>`), `title`, `status`, `detail`,
`instance` (the request path) and `code` (stable, machine-readable), plus the error's
details: for a booking conflict `conflicts`, `alternatives` and the per-date `report`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from adapters.storage import errors as storage_errors
from booking import errors
from booking.conflicts import Alternative, ConflictItem
from booking.services.planning import DateReport
from vks.api.schemas.bookings import AlternativeOut, ConflictOut, DateReportOut
from vks.api.schemas.common import Problem

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:vks:problem:"

# (exception class, HTTP status, title) — the first matching class wins
DOMAIN_STATUS: list[tuple[type[errors.DomainError], int, str]] = [
    (errors.InvalidInput, 422, "The request is not valid"),
    (errors.NotFound, 404, "Not found"),
    (errors.NotAuthenticated, 401, "Not authenticated"),
    (errors.Forbidden, 403, "Forbidden"),
    (errors.TooManyAttempts, 429, "Too many attempts"),
    (errors.VersionMismatch, 412, "The resource has changed"),
    (errors.BookingConflict, 409, "The booking conflicts with existing bookings"),
    (errors.HoldExpired, 409, "The hold has expired"),
    (errors.ImmutablePast, 409, "The past cannot be changed"),
    (errors.ResourceInactive, 409, "The resource is not in service"),
    (errors.Conflict, 409, "Conflict"),
    (errors.ServerAtCapacity, 503, "The conference servers are at capacity"),
    (errors.NoServerAvailable, 503, "No conference server is available"),
    (errors.DeviceError, 502, "A device did not answer as expected"),
    (errors.ServiceUnavailable, 503, "A service this operation needs is unavailable"),
]


class ApiProblem(Exception):
    """A problem the HTTP layer itself raises (not a domain rule)."""

    def __init__(self, status: int, code: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    for key, value in (extra or {}).items():
        if key not in body:
            body[key] = _detail(key, value)
    return body


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(
        status=status, code=code, title=title, detail=detail, instance=instance, extra=extra
    )
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _detail(key: str, value: Any) -> Any:
    """Domain details as JSON, through the same schemas as successful answers."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_one(item) for item in value]
    return _one(value)


def _one(item: Any) -> Any:
    if isinstance(item, ConflictItem):
        return ConflictOut.model_validate(item, from_attributes=True).model_dump(mode="json")
    if isinstance(item, Alternative):
        return AlternativeOut.model_validate(item, from_attributes=True).model_dump(mode="json")
    if isinstance(item, DateReport):
        return DateReportOut.model_validate(item, from_attributes=True).model_dump(mode="json")
    return jsonable_encoder(item)


def status_of(error: errors.DomainError) -> tuple[int, str]:
    for cls, status, title in DOMAIN_STATUS:
        if isinstance(error, cls):
            return status, title
    return 400, "The request cannot be served"


def domain_problem(error: errors.DomainError, instance: str) -> JSONResponse:
    status, title = status_of(error)
    headers = None
    if status == 401:
        missing = error.details.get("credentials") == "missing"
        headers = {"WWW-Authenticate": www_authenticate(None if missing else error.message)}
    if status == 429:
        headers = {"Retry-After": str(error.details.get("retry_after", 60))}
    return problem_response(
        status, error.code, title, error.message, instance, error.details, headers
    )


def www_authenticate(reason: str | None) -> str:
    """RFC 6750: no error code when no credentials came; `invalid_token` otherwise."""
    if reason is None:
        return 'Bearer realm="vks"'
    quoted = reason.replace("\\", "\\\\").replace('"', '\\"')
    return f'Bearer realm="vks", error="invalid_token", error_description="{quoted}"'


# --- validation errors --------------------------------------------------------------------
def _field(location: Sequence[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _reason(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "timezone_aware":
        return (
            "a datetime must carry a time zone (e.g. 2026-09-08T08:00:00+07:00 or …Z);"
            " naive datetimes are ambiguous across the region's time zones"
        )
    return str(error.get("msg", "not valid")).removeprefix("Value error, ")


def validation_problem(exc: RequestValidationError, instance: str) -> JSONResponse:
    items = [
        {"field": _field(e.get("loc", ())), "reason": _reason(e), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = items[0] if items else {"field": "request", "reason": "not valid"}
    detail = f"{first['field']}: {first['reason']}"
    if len(items) > 1:
        detail += f" (and {len(items) - 1} more)"
    return problem_response(
        422, "invalid_input", "The request is not valid", detail, instance, {"errors": items}
    )


# --- the OpenAPI document says so ---------------------------------------------------------------
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Every error answer in `spec` as what it is: a problem (`application/problem+json`),
    including FastAPI's own 422, and a `default` problem for the statuses any operation
    may answer without naming them (401, 404, 413, 500…)."""
    spec.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    problem = {"application/problem+json": {"schema": PROBLEM_REF}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                if status == "default" or int(status) >= 400:
                    response["content"] = dict(problem)
            responses.setdefault(
                "default", {"description": "a problem (RFC 9457)", "content": dict(problem)}
            )
    return spec


def _problem_document(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- installing the handlers ----------------------------------------------------------------
def install(app: FastAPI) -> None:
    _problem_document(app)

    @app.exception_handler(errors.DomainError)
    async def on_domain_error(request: Request, exc: errors.DomainError) -> JSONResponse:
        return domain_problem(exc, request.url.path)

    @app.exception_handler(ApiProblem)
    async def on_api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(
            exc.status, exc.code, exc.title, exc.detail, request.url.path, exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            exc.status_code, code, title, detail, request.url.path, headers=exc.headers
        )

    @app.exception_handler(DBAPIError)
    async def on_database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        """A lost connection (restart, `pg_terminate_backend`): 503 with the reason, and the
        pool reconnects for the next request. Handled here rather than by the catch-all,
        which lets the server drop the client's connection after answering."""
        mapped = storage_errors.translate(exc)
        if isinstance(mapped, errors.ServiceUnavailable):
            log.warning("%s %s: %s", request.method, request.url.path, mapped.message)
            return domain_problem(mapped, request.url.path)
        return await on_anything(request, exc)

    @app.exception_handler(Exception)
    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "internal_error",
            "Internal error",
            "the service failed to answer this request; it has been logged",
            request.url.path,
        )
