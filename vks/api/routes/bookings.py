"""Bookings: create (single or weekly, dry run, skip conflicts, tentative hold), read,
list by date range, replace (If-Match), cancel, confirm a hold; and their occurrences."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from booking.services import bookings
from booking.services.bookings import BookingResult
from vks.api.answers import answer
from vks.api.dependencies import Context, Ctx, SessionCtx
from vks.api.etags import IfMatch, IfMatchOptional, set_etag
from vks.api.locations import set_location
from vks.api.pagination import Paging, page, page_of
from vks.api.schemas.bookings import (
    AlternativeOut,
    BookingIn,
    BookingOut,
    BookingReplaceIn,
    BookingResultOut,
    ConflictOut,
    DateReportOut,
    OccurrenceOut,
)
from vks.api.schemas.common import Page, problem_responses
from vks.api.spans import span_resolver

router = APIRouter(prefix="/bookings", tags=["bookings"])

DryRun = Annotated[bool, Query(description="check and report without writing anything")]
SkipConflicts = Annotated[
    bool, Query(description="book the free dates of a series and report the others")
]

WEEKLY_EXAMPLE = {
    "title": "Физика, 10 класс (сетевой курс)",
    "kind": "full_broadcast",
    "host_school_id": "kem-school-20",
    "teacher": "Иванова Мария Петровна",
    "subject": "Физика",
    "participants": [
        {"school_id": "kem-school-20", "terminal_id": "term-kem-20", "camera_preset": "teacher"},
        {"school_id": "ins-school-1", "terminal_id": "term-ins-1", "camera_preset": "class",
         "class_name": "10Б"},
    ],
    "weekly": {"weekdays": ["tue"], "lesson_number": 3, "quarter": 2},
    "external_ref": "timetable-2026/phys-10-tue-3",
}  # fmt: skip
EXAMPLES: dict[str, Any] = {
    "weekly": {
        "summary": "weekly lesson by lesson number over a quarter, two time zones",
        "value": WEEKLY_EXAMPLE,
    },
    "single lesson": {
        "summary": "one lesson, by date and lesson number",
        "value": {
            **{k: v for k, v in WEEKLY_EXAMPLE.items() if k not in ("weekly", "external_ref")},
            "date": "2026-11-10",
            "lesson_number": 3,
        },
    },
    "event": {
        "summary": "a municipal event at explicit instants",
        "value": {
            "title": "Совещание муниципальных координаторов",
            "kind": "event",
            "host_school_id": "kem-school-20",
            "teacher": "Соколова Елена Викторовна",
            "participants": [{"school_id": "kem-school-20", "terminal_id": "term-kem-20"}],
            "start": "2026-11-12T15:00:00+07:00",
            "end": "2026-11-12T16:00:00+07:00",
        },
    },
}


def result_out(result: BookingResult) -> BookingResultOut:
    return BookingResultOut(
        booking=BookingOut.of(result.booking),
        occurrences=[OccurrenceOut.model_validate(o) for o in result.occurrences],
        report=[DateReportOut.model_validate(r) for r in result.report],
        conflicts=[ConflictOut.model_validate(c) for c in result.conflicts],
        alternatives=[AlternativeOut.model_validate(a) for a in result.alternatives],
        written=result.written,
        warnings=[w.text() for w in result.warnings],
    )


def request_of(body: BookingIn, ctx: Context) -> bookings.BookingRequest:
    resolver = span_resolver(ctx.uow, ctx.principal, ctx.now.date()) if body.needs_span() else None
    return body.to_request(resolver)


@router.post(
    "",
    response_model=BookingResultOut,
    status_code=201,
    responses={
        200: {"description": "dry run: what would be booked", "model": BookingResultOut},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def create_booking(
    body: Annotated[BookingIn, Body(openapi_examples=EXAMPLES)],
    ctx: SessionCtx,
    dry_run: DryRun = False,
    skip_conflicts: SkipConflicts = False,
    hold: Annotated[
        bool, Query(description="a tentative hold: expires unless confirmed in time")
    ] = False,
    strict: Annotated[
        bool, Query(description="refuse (422), not warn, a time outside a participant's day")
    ] = False,
) -> Response:
    """Book one slot or a weekly series. A conflict answers 409 with every conflicting
    occurrence, alternatives (another free terminal at the same site; the nearest free
    lessons) and the per-date report; nothing is written."""
    # The hot path: one thread hop for the session check (in the create's own transaction,
    # `SessionCtx`), the create and the answer's JSON, built once (`answer`). A plain
    # create usually comes through `vks.api.hot` instead, which calls `created` too.
    return await run_in_threadpool(
        created, body, ctx, dry_run=dry_run, skip_conflicts=skip_conflicts, hold=hold,
        strict=strict,
    )  # fmt: skip


def created(
    body: BookingIn,
    ctx: Context,
    *,
    dry_run: bool = False,
    skip_conflicts: bool = False,
    hold: bool = False,
    strict: bool = False,
) -> Response:
    """POST /bookings' work and answer (in a worker thread): 201 with Location and ETag,
    or 200 when nothing was written; a refusal is raised (its problem+json: `problems`)."""
    request = replace(request_of(body, ctx), strict=strict)
    result = bookings.create_booking(
        ctx.uow(), ctx.principal, request, now=ctx.now, policy=ctx.policy,
        dry_run=dry_run, skip_conflicts=skip_conflicts, hold=hold,
    )  # fmt: skip
    if not result.written:
        return answer(result_out(result), 200)
    response = answer(result_out(result), 201)
    set_location(response, "bookings", result.booking.id)
    set_etag(response, result.booking.version)
    return response


@router.get("", response_model=Page[BookingOut], responses=problem_responses(401, 422))
def list_bookings(
    ctx: Ctx,
    paging: Paging,
    request: Request,
    start: Annotated[
        AwareDatetime | None, Query(description="with an occurrence ending after this")
    ] = None,
    end: Annotated[
        AwareDatetime | None, Query(description="with an occurrence starting before this")
    ] = None,
) -> dict[str, Any]:
    """Bookings owned in the caller's subtree, optionally with an occurrence in
    [start, end), ordered by id."""

    found = bookings.bookings_page(
        ctx.uow(), ctx.principal, start=start, end=end, offset=paging.offset,
        limit=paging.limit, policy=ctx.policy,
    )  # fmt: skip
    return page_of(request, paging, found, BookingOut.of)


@router.get("/{booking_id}", response_model=BookingOut, responses=problem_responses(401, 403, 404))
def get_booking(booking_id: str, ctx: Ctx, response: Response) -> BookingOut:
    booking = bookings.get_booking(ctx.uow(), ctx.principal, booking_id)
    set_etag(response, booking.version)
    return BookingOut.of(booking)


@router.put(
    "/{booking_id}",
    response_model=BookingResultOut,
    responses={
        200: {"description": "replaced (or, on a dry run, what would change)"},
        **problem_responses(401, 403, 404, 409, 412, 422, 428),
    },
)
def replace_booking(
    booking_id: str,
    body: BookingReplaceIn,
    ctx: Ctx,
    response: Response,
    version: IfMatch,
    dry_run: DryRun = False,
    skip_conflicts: SkipConflicts = False,
) -> BookingResultOut:
    """Replace a booking's definition; occurrences that have not begun are re-planned,
    begun ones and single-date exceptions (moved/cancelled) are kept. The body may be what
    `GET` answered, edited: its read-only fields are ignored (`id` must be the URL's)."""
    body.check_names(booking_id)
    result = bookings.update_booking(
        ctx.uow(), ctx.principal, booking_id, request_of(body, ctx), now=ctx.now,
        expected_version=version, policy=ctx.policy, dry_run=dry_run,
        skip_conflicts=skip_conflicts,
    )  # fmt: skip
    if result.written:
        set_etag(response, result.booking.version)
    return result_out(result)


@router.post(
    "/{booking_id}/cancel",
    response_model=BookingOut,
    responses=problem_responses(401, 403, 404, 412),
)
def cancel_booking(
    booking_id: str, ctx: Ctx, response: Response, version: IfMatchOptional
) -> BookingOut:
    """Cancel a booking: its occurrences that have not begun are cancelled and their
    terminals freed."""
    booking = bookings.cancel_booking(
        ctx.uow(), ctx.principal, booking_id, now=ctx.now, expected_version=version
    )
    set_etag(response, booking.version)
    return BookingOut.of(booking)


@router.post(
    "/{booking_id}/confirm",
    response_model=BookingOut,
    responses=problem_responses(401, 403, 404, 409, 412),
)
def confirm_hold(
    booking_id: str, ctx: Ctx, response: Response, version: IfMatchOptional
) -> BookingOut:
    """Confirm a tentative hold. An expired hold answers 409 `hold_expired` (its terminals
    were released)."""
    booking = bookings.confirm_hold(
        ctx.uow(), ctx.principal, booking_id, now=ctx.now, expected_version=version
    )
    set_etag(response, booking.version)
    return BookingOut.of(booking)


@router.get(
    "/{booking_id}/occurrences",
    response_model=Page[OccurrenceOut],
    responses=problem_responses(401, 403, 404),
)
def booking_occurrences(
    booking_id: str,
    ctx: Ctx,
    paging: Paging,
    request: Request,
    from_: Annotated[date | None, Query(alias="from", description="local date, inclusive")] = None,
    to: Annotated[date | None, Query(description="local date, inclusive")] = None,
) -> dict[str, Any]:
    """The dated occurrences of a booking, by start."""
    found = bookings.occurrences_of(ctx.uow(), ctx.principal, booking_id)
    found = [
        o
        for o in found
        if (from_ is None or o.local_date >= from_) and (to is None or o.local_date <= to)
    ]
    items = found[paging.offset : paging.offset + paging.limit]
    return page(request, paging, [OccurrenceOut.model_validate(o) for o in items], len(found))
