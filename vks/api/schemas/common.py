"""Shapes every area shares: the limits of request fields (defined once, here), pages of a
list, and the problem document.

Every string a request carries is one of the annotated types below: bounded in length
(the longest a stored column takes: `adapters/storage/tables.py`) and free of NUL
characters (PostgreSQL refuses them in text; SQLite would store them), so that both
databases see the same, already checked input. Dates and instants are bounded to years a
school calendar can name (arithmetic near year 9999 overflows). Local clock times carry
no UTC offset: a school's lessons are wall-clock times in the school's own zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

T = TypeVar("T")

# --- the limits of request fields -----------------------------------------------------------
ID_MAX = 64  # ids: String(64) columns
CODE_MAX = 64  # time zones, camera presets, class names, contact kinds: String(64)
LOGIN_MAX = 128  # device usernames: String(128)
REFERENCE_MAX = 255  # SIP addresses, secret references, external refs: String(255)
URL_MAX = 512  # device and server URLs: String(512)
NAME_MAX = 300  # names of people, organisations, devices (Text, bounded here)
TITLE_MAX = 500  # a booking's title (Text, bounded here)
TEXT_MAX = 2000  # free text: addresses, reasons (Text, bounded here)

FIRST_DAY = dt.date(2000, 1, 1)  # the earliest date a request may name
LAST_DAY = dt.date(2099, 12, 31)  # the latest


def no_nul(value: str) -> str:
    """Refuse NUL characters (PostgreSQL cannot store them in text)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


_NUL = AfterValidator(no_nul)

Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX), _NUL]
Code = Annotated[str, StringConstraints(min_length=1, max_length=CODE_MAX), _NUL]
Login = Annotated[str, StringConstraints(min_length=1, max_length=LOGIN_MAX), _NUL]
Reference = Annotated[str, StringConstraints(max_length=REFERENCE_MAX), _NUL]
Url = Annotated[str, StringConstraints(min_length=1, max_length=URL_MAX), _NUL]
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX), _NUL]
OptionalName = Annotated[str, StringConstraints(max_length=NAME_MAX), _NUL]
Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX), _NUL]
FreeText = Annotated[str, StringConstraints(max_length=TEXT_MAX), _NUL]
Contacts = Annotated[dict[Code, OptionalName], Field(max_length=20)]


def _in_calendar(value: dt.date) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must lie between {FIRST_DAY} and {LAST_DAY}")
    return value


def _wall_clock(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise ValueError(
            "a school's local time is a wall-clock time in the school's own time zone:"
            " give it without a UTC offset (e.g. 10:00)"
        )
    return value


Day = Annotated[dt.date, AfterValidator(_in_calendar)]
Instant = Annotated[AwareDatetime, AfterValidator(_in_calendar)]

LOCAL_TIME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
    "description": "a local wall-clock time, without a UTC offset",
    "examples": ["08:00", "08:45:00"],
}
LocalTime = Annotated[dt.time, AfterValidator(_wall_clock), WithJsonSchema(LOCAL_TIME_SCHEMA)]
"""A school's wall-clock time: "08:00" or "08:00:00", never with a UTC offset (JSON
Schema's `format: time` demands one, so the document declares a pattern instead)."""


class Links(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self", description="this page")
    next: str | None = Field(default=None, description="the next page, if any")
    prev: str | None = Field(default=None, description="the previous page, if any")


class Page(BaseModel, Generic[T]):
    """One page of a list: `offset`/`limit` in, `total` and navigation links out."""

    items: list[T]
    total: int = Field(description="how many items the whole list holds")
    offset: int
    limit: int
    links: Links


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:vks:problem:forbidden",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": "МБОУ «СОШ №12» is outside the scope of this network_admin"
                    " (nvk-net-5)",
                    "instance": "/api/v1/bookings",
                    "code": "forbidden",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route may answer."""
    described = {
        401: "missing, invalid or expired token",
        403: "the caller's role or scope does not allow this",
        404: "an id is unknown",
        409: "conflicts with the current state (double booking: conflicts and alternatives)",
        412: "If-Match does not match the current ETag",
        422: "the request is not valid (with the reason)",
        428: "If-Match is required",
        502: "a device did not answer as expected",
        503: "a service the request needs is unavailable",
    }
    return {
        status: {
            "model": Problem,
            "description": described.get(status, "problem"),
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }
