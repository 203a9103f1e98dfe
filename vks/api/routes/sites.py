"""Sites — the schools and the RCC, where terminals stand — and their school days:
"school X, lesson N on a date" in local time and UTC."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from booking.organisations import OrgKind
from booking.services import inventory, schooltime
from vks.api.dependencies import Ctx
from vks.api.pagination import Paging, page_of
from vks.api.schemas.common import Page, problem_responses
from vks.api.schemas.organisations import OrganisationOut
from vks.api.schemas.schooltime import DayOffOut, LessonOut, SchoolDayOut

router = APIRouter(prefix="/sites", tags=["sites and school days"])

SITE_KINDS = (OrgKind.SCHOOL, OrgKind.REGION)


@router.get("", response_model=Page[OrganisationOut], responses=problem_responses(401))
def list_sites(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    """Schools (and the RCC itself) in the caller's subtree, by path."""
    found = inventory.organisations_page(
        ctx.uow(), ctx.principal, kinds=SITE_KINDS, offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, OrganisationOut.model_validate)


@router.get(
    "/{site_id}/day", response_model=SchoolDayOut, responses=problem_responses(401, 403, 404, 422)
)
def school_day(
    site_id: str,
    ctx: Ctx,
    date: Annotated[dt.date, Query(description="the school's local date")],
) -> SchoolDayOut:
    """The lessons of a school on a date (local and UTC), or why there are none."""
    day = schooltime.school_day(ctx.uow(), ctx.principal, site_id, date)
    school = inventory.get_organisation(ctx.uow(), ctx.principal, site_id)
    return SchoolDayOut(
        school_id=day.school_id,
        local_date=day.local_date,
        time_zone=school.time_zone,
        day_off=DayOffOut.model_validate(day.day_off) if day.day_off else None,
        shortened=day.shortened,
        lessons=[LessonOut.of(s) for s in day.lessons],
    )


@router.get(
    "/{site_id}/lessons/{lesson_number}",
    response_model=LessonOut,
    responses=problem_responses(401, 403, 404, 422),
)
def resolve_lesson(
    site_id: str,
    lesson_number: int,
    ctx: Ctx,
    date: Annotated[dt.date, Query(description="the school's local date")],
) -> LessonOut:
    """Resolve "lesson N at school X on a date" to local and UTC times."""
    slot = schooltime.resolve_lesson(ctx.uow(), ctx.principal, site_id, date, lesson_number)
    return LessonOut.of(slot)
