"""Academic years (quarters, holidays, public holidays), closures and bell schedules."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from booking.errors import NotFound
from booking.services import schooltime
from vks.api.dependencies import Ctx
from vks.api.etags import IfMatch, set_etag
from vks.api.locations import set_location
from vks.api.pagination import Paging, page_of
from vks.api.schemas.common import Page, problem_responses
from vks.api.schemas.schooltime import (
    AcademicYearIn,
    AcademicYearOut,
    BellScheduleIn,
    BellScheduleOut,
    ClosureIn,
    ClosureOut,
    SpanOut,
)

router = APIRouter(tags=["school time"])


# --- academic years ---------------------------------------------------------------------------
@router.get(
    "/academic-years", response_model=Page[AcademicYearOut], responses=problem_responses(401)
)
def list_years(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    found = schooltime.academic_years_page(
        ctx.uow(), ctx.principal, offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, AcademicYearOut.model_validate)


@router.post(
    "/academic-years",
    response_model=AcademicYearOut,
    status_code=201,
    responses=problem_responses(401, 403, 409, 422),
)
def add_year(body: AcademicYearIn, ctx: Ctx, response: Response) -> AcademicYearOut:
    stored = schooltime.add_academic_year(ctx.uow(), ctx.principal, body.to_domain())
    set_location(response, "academic-years", stored.id)
    set_etag(response, stored.version)
    return AcademicYearOut.model_validate(stored)


@router.get("/academic-years/span", response_model=SpanOut, responses=problem_responses(401, 422))
def academic_span(
    ctx: Ctx,
    on: Annotated[dt.date, Query(description="a date inside the academic year")],
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
) -> SpanOut:
    """First and last dates of the year containing `on`, or of its quarter."""
    start, end = schooltime.academic_span(ctx.uow(), ctx.principal, on, quarter=quarter)
    return SpanOut(start=start, end=end, quarter=quarter)


@router.get(
    "/academic-years/{year_id}",
    response_model=AcademicYearOut,
    responses=problem_responses(401, 404),
)
def get_year(year_id: str, ctx: Ctx, response: Response) -> AcademicYearOut:
    for year in schooltime.list_academic_years(ctx.uow(), ctx.principal):
        if year.id == year_id:
            set_etag(response, year.version)
            return AcademicYearOut.model_validate(year)
    raise NotFound(f"unknown academic year {year_id}")


@router.put(
    "/academic-years/{year_id}",
    response_model=AcademicYearOut,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
)
def update_year(
    year_id: str, body: AcademicYearIn, ctx: Ctx, response: Response, version: IfMatch
) -> AcademicYearOut:
    year = body.to_domain()
    year.id = year_id
    stored = schooltime.update_academic_year(
        ctx.uow(), ctx.principal, year, expected_version=version
    )
    set_etag(response, stored.version)
    return AcademicYearOut.model_validate(stored)


# --- closures ---------------------------------------------------------------------------------
@router.get(
    "/closures", response_model=list[ClosureOut], responses=problem_responses(401, 403, 404, 422)
)
def list_closures(
    ctx: Ctx,
    org_id: str,
    from_: Annotated[dt.date, Query(alias="from")],
    to: dt.date,
) -> list[ClosureOut]:
    """Closures that apply to an organisation (its own and those above it) in a range."""
    found = schooltime.list_closures(ctx.uow(), ctx.principal, org_id, from_, to)
    return [ClosureOut.model_validate(c) for c in found]


@router.post(
    "/closures",
    response_model=ClosureOut,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def add_closure(body: ClosureIn, ctx: Ctx, response: Response) -> ClosureOut:
    """Close a school or a municipality (quarantine…): new series skip these dates;
    bookings already made are not cancelled by this."""
    stored = schooltime.add_closure(ctx.uow(), ctx.principal, body.to_domain())
    set_etag(response, stored.version)
    return ClosureOut.model_validate(stored)


@router.delete(
    "/closures/{closure_id}", status_code=204, responses=problem_responses(401, 403, 404)
)
def delete_closure(closure_id: str, ctx: Ctx) -> Response:
    schooltime.delete_closure(ctx.uow(), ctx.principal, closure_id)
    return Response(status_code=204)


# --- bell schedules ---------------------------------------------------------------------------
@router.get(
    "/bell-schedules", response_model=Page[BellScheduleOut], responses=problem_responses(401)
)
def list_bells(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    found = schooltime.bell_schedules_page(
        ctx.uow(), ctx.principal, offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, BellScheduleOut.model_validate)


@router.post(
    "/bell-schedules",
    response_model=BellScheduleOut,
    status_code=201,
    responses=problem_responses(401, 403, 409, 422),
)
def add_bells(body: BellScheduleIn, ctx: Ctx, response: Response) -> BellScheduleOut:
    stored = schooltime.add_bell_schedule(ctx.uow(), ctx.principal, body.to_domain())
    set_location(response, "bell-schedules", stored.id)
    set_etag(response, stored.version)
    return BellScheduleOut.model_validate(stored)


@router.get(
    "/bell-schedules/{schedule_id}",
    response_model=BellScheduleOut,
    responses=problem_responses(401, 404),
)
def get_bells(schedule_id: str, ctx: Ctx, response: Response) -> BellScheduleOut:
    schedule = schooltime.get_bell_schedule(ctx.uow(), ctx.principal, schedule_id)
    set_etag(response, schedule.version)
    return BellScheduleOut.model_validate(schedule)


@router.put(
    "/bell-schedules/{schedule_id}",
    response_model=BellScheduleOut,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
)
def update_bells(
    schedule_id: str, body: BellScheduleIn, ctx: Ctx, response: Response, version: IfMatch
) -> BellScheduleOut:
    schedule = body.to_domain()
    schedule.id = schedule_id
    stored = schooltime.update_bell_schedule(
        ctx.uow(), ctx.principal, schedule, expected_version=version
    )
    set_etag(response, stored.version)
    return BellScheduleOut.model_validate(stored)
