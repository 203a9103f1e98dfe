"""Single occurrences: read, list by date range (a terminal's, a school's or a teacher's
day view), and the single-date exceptions: move, cancel, substitute teacher."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from booking.bookings import BookingStatus, SessionKind
from booking.services import bookings
from booking.services.bookings import Session
from vks.api.dependencies import Ctx
from vks.api.etags import IfMatchOptional, set_etag
from vks.api.pagination import Paging, page_of
from vks.api.schemas.bookings import CancelIn, MoveIn, OccurrenceOut, SubstituteIn
from vks.api.schemas.common import Page, problem_responses

router = APIRouter(prefix="/occurrences", tags=["occurrences"])


class SessionOut(OccurrenceOut):
    """An occurrence with what a day view shows of its booking."""

    title: str
    kind: SessionKind
    booking_status: BookingStatus
    host_school_id: str
    effective_teacher: str


@router.get("", response_model=Page[SessionOut], responses=problem_responses(401, 403, 404, 422))
def list_occurrences(
    ctx: Ctx,
    paging: Paging,
    request: Request,
    start: Annotated[AwareDatetime, Query(description="range start (with a time zone)")],
    end: Annotated[AwareDatetime, Query(description="range end (with a time zone)")],
    terminal_id: str | None = None,
    school_id: str | None = None,
    teacher: str | None = None,
    include_cancelled: bool = False,
) -> dict[str, Any]:
    """Occurrences overlapping [start, end) of one terminal, one school (hosted or joined)
    or one teacher (substitutions included) — or everything visible — by start."""
    found = bookings.sessions_page(
        ctx.uow(), ctx.principal, start, end, terminal_id=terminal_id, school_id=school_id,
        teacher=teacher, include_cancelled=include_cancelled, offset=paging.offset,
        limit=paging.limit, policy=ctx.policy,
    )  # fmt: skip
    return page_of(request, paging, found, session_out)


def session_out(session: Session) -> SessionOut:
    return SessionOut(
        **OccurrenceOut.model_validate(session.occurrence).model_dump(),
        title=session.booking.title,
        kind=session.booking.kind,
        booking_status=session.booking.status,
        host_school_id=session.booking.host_school_id,
        effective_teacher=session.teacher,
    )


@router.get(
    "/{occurrence_id}", response_model=OccurrenceOut, responses=problem_responses(401, 403, 404)
)
def get_occurrence(occurrence_id: str, ctx: Ctx, response: Response) -> OccurrenceOut:
    occurrence = bookings.get_occurrence(ctx.uow(), ctx.principal, occurrence_id)
    set_etag(response, occurrence.version)
    return OccurrenceOut.model_validate(occurrence)


@router.post(
    "/{occurrence_id}/move",
    response_model=OccurrenceOut,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
def move_occurrence(
    occurrence_id: str, body: MoveIn, ctx: Ctx, response: Response, version: IfMatchOptional
) -> OccurrenceOut:
    """Move one date to another lesson, other local times or other instants; checked like
    a new booking (409 with alternatives). The original start is kept in `moved_from`."""
    occurrence = bookings.move_occurrence(
        ctx.uow(), ctx.principal, occurrence_id, now=ctx.now, on_date=body.date,
        lesson_number=body.lesson_number, start_time=body.start_time, end_time=body.end_time,
        start=body.start, end=body.end, expected_version=version, policy=ctx.policy,
    )  # fmt: skip
    set_etag(response, occurrence.version)
    return OccurrenceOut.model_validate(occurrence)


@router.post(
    "/{occurrence_id}/cancel",
    response_model=OccurrenceOut,
    responses=problem_responses(401, 403, 404, 409, 412),
)
def cancel_occurrence(
    occurrence_id: str,
    ctx: Ctx,
    response: Response,
    version: IfMatchOptional,
    body: CancelIn | None = None,
) -> OccurrenceOut:
    """Cancel one date and free its terminals."""
    occurrence = bookings.cancel_occurrence(
        ctx.uow(), ctx.principal, occurrence_id, now=ctx.now,
        reason=body.reason if body else "", expected_version=version,
    )  # fmt: skip
    set_etag(response, occurrence.version)
    return OccurrenceOut.model_validate(occurrence)


@router.post(
    "/{occurrence_id}/substitute",
    response_model=OccurrenceOut,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
def substitute_teacher(
    occurrence_id: str,
    body: SubstituteIn,
    ctx: Ctx,
    response: Response,
    version: IfMatchOptional,
) -> OccurrenceOut:
    """Another teacher gives this one lesson (`null`: back to the booking's teacher)."""
    occurrence = bookings.substitute_teacher(
        ctx.uow(), ctx.principal, occurrence_id, body.teacher, now=ctx.now,
        expected_version=version,
    )  # fmt: skip
    set_etag(response, occurrence.version)
    return OccurrenceOut.model_validate(occurrence)
