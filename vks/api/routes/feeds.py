"""iCalendar feeds (RFC 5545, `text/calendar`) of a terminal, a school, an organisation
(a network, a municipality, the region: every lesson of its schools) and a teacher.

Calendar clients subscribe to a URL, so the token may travel in the query (`?token=`,
best a read-only feed token from POST /api/v1/auth/feed-token) as well as in the header.
The range defaults to 30 days back and a year ahead. Times are UTC, or with `?tz=local`
the school's wall clock (TZID, with a VTIMEZONE): the feed's school or terminal site, else
each lesson's host school."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from booking.organisations import OrgKind
from booking.services import bookings, inventory, queries, schooltime
from booking.services.bookings import Session
from vks.api import ical
from vks.api.dependencies import Context, FeedCtx
from vks.api.schemas.common import problem_responses

router = APIRouter(prefix="/calendars", tags=["calendar feeds"])

DAYS_BACK = 30
DAYS_AHEAD = 365
ICS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "an iCalendar feed"}
}


def _dates(ctx: Context, from_: dt.date | None, to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The asked local dates, by default 30 days back and up to a year ahead."""
    today = ctx.now.astimezone(dt.UTC).date()
    ahead = min(DAYS_AHEAD, ctx.policy.max_range_days - DAYS_BACK - 3)
    return from_ or today - dt.timedelta(days=DAYS_BACK), to or today + dt.timedelta(days=ahead)


Zone = Literal["utc", "local"]
TzQ = Annotated[
    Zone,
    Query(description="`utc` (default) or `local`: the school's wall clock, with a TZID"),
]


def _feed(
    ctx: Context,
    name: str,
    sessions: list[Session],
    tz: Zone,
    zone: ZoneInfo | None = None,
    lesson_numbers: dict[str, int | None] | None = None,
) -> Response:
    domain = urlsplit(ctx.container.settings.public_url).hostname or "vks"
    zone_of: Callable[[Session], ZoneInfo] | None = None
    if tz == "local" and zone is not None:
        fixed = zone
        zone_of = lambda session: fixed  # noqa: E731
    elif tz == "local":
        hosts = queries.zones_of(ctx.uow(), ctx.principal, {s.booking.host_school_id
                                                            for s in sessions})  # fmt: skip
        zone_of = lambda session: hosts[session.booking.host_school_id]  # noqa: E731
    body = ical.calendar(
        name, sessions, now=ctx.now, domain=domain, zone_of=zone_of, lesson_numbers=lesson_numbers
    )
    return Response(body, media_type=ical.MEDIA_TYPE)


FromQ = Annotated[dt.date | None, Query(alias="from", description="first date (default: −30 d)")]
ToQ = Annotated[dt.date | None, Query(description="last date (default: +365 d)")]


@router.get(
    "/terminals/{terminal_id}.ics",
    response_class=Response,
    responses={**ICS, **problem_responses(401, 403, 404, 422)},
)
def terminal_feed(
    terminal_id: str, ctx: FeedCtx, from_: FromQ = None, to: ToQ = None, tz: TzQ = "utc"
) -> Response:
    first, last = _dates(ctx, from_, to)
    terminal = inventory.get_terminal(ctx.uow(), ctx.principal, terminal_id)
    site = inventory.get_organisation(ctx.uow(), ctx.principal, terminal.site_id)
    sessions = bookings.calendar_sessions(
        ctx.uow(), ctx.principal, first, last, terminal_id=terminal_id, policy=ctx.policy
    )
    return _feed(ctx, f"ВКС: {terminal.name} ({terminal.id})", sessions, tz, site.zone)


@router.get(
    "/schools/{school_id}.ics",
    response_class=Response,
    responses={**ICS, **problem_responses(401, 403, 404, 422)},
)
def school_feed(
    school_id: str, ctx: FeedCtx, from_: FromQ = None, to: ToQ = None, tz: TzQ = "utc"
) -> Response:
    """A school's lessons (hosted or joined). Another organisation's id gives its
    organisation feed (as `/calendars/organisations/{id}.ics`)."""
    return organisation_feed(school_id, ctx, from_, to, tz)


@router.get(
    "/organisations/{org_id}.ics",
    response_class=Response,
    responses={**ICS, **problem_responses(401, 403, 404, 422)},
)
def organisation_feed(
    org_id: str, ctx: FeedCtx, from_: FromQ = None, to: ToQ = None, tz: TzQ = "utc"
) -> Response:
    """Every lesson of the schools of an organisation's subtree (a network's, a
    municipality's, the region's; a school's own)."""
    first, last = _dates(ctx, from_, to)
    org = inventory.get_organisation(ctx.uow(), ctx.principal, org_id)
    sessions = bookings.calendar_sessions(
        ctx.uow(), ctx.principal, first, last, school_id=org_id, policy=ctx.policy
    )
    if org.kind != OrgKind.SCHOOL:
        return _feed(ctx, f"ВКС: {org.name}", sessions, tz)
    pairs = ((s.occurrence, s.booking) for s in sessions)
    numbers = schooltime.own_lesson_numbers(ctx.uow(), org.id, pairs)  # its own numbering
    return _feed(ctx, f"ВКС: {org.name}", sessions, tz, org.zone, numbers)


@router.get(
    "/teachers/{teacher}.ics",
    response_class=Response,
    responses={**ICS, **problem_responses(401, 422)},
)
def teacher_feed(
    teacher: str, ctx: FeedCtx, from_: FromQ = None, to: ToQ = None, tz: TzQ = "utc"
) -> Response:
    """A teacher's lessons (as given by the booking, substitutions included) that the
    caller may see. `teacher` is the name as booked, URL-encoded."""
    first, last = _dates(ctx, from_, to)
    sessions = bookings.calendar_sessions(
        ctx.uow(), ctx.principal, first, last, teacher=teacher, policy=ctx.policy
    )
    return _feed(ctx, f"ВКС: {teacher}", sessions, tz)
