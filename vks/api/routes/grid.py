"""The timetable grid: one week of a school, a network or some terminals as lesson numbers
by each school's bells in its local time, free, busy, past, holiday, closure or day off."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from booking.services import week_grid
from vks.api.dependencies import Ctx
from vks.api.pagination import Paging, page
from vks.api.schemas.common import Day, Id, problem_responses
from vks.api.schemas.grid import GridRowOut, WeekGridOut, WeekLinks

router = APIRouter(tags=["availability"])


@router.get("/grid", response_model=WeekGridOut, responses=problem_responses(401, 403, 404, 422))
def grid(
    request: Request,
    ctx: Ctx,
    paging: Paging,
    week: Annotated[Day, Query(description="any date of the week (its Monday to Sunday)")],
    school: Annotated[Id | None, Query(description="a school's grid")] = None,
    network: Annotated[Id | None, Query(description="a network's grid: its schools")] = None,
    terminals: Annotated[
        list[Id], Query(description="these terminals' grid; repeat or separate by commas")
    ] = [],  # noqa: B006 (FastAPI copies query defaults)
    rows: Annotated[
        Literal["terminal", "school"], Query(description="a row per terminal or per school")
    ] = "terminal",
    setup_minutes: Annotated[int | None, Query(ge=0, le=240)] = None,
) -> WeekGridOut:
    """One week (Monday to Sunday, each school's local dates) by lesson number: a cell is
    free while a terminal of its row is free over the lesson and its set-up, else busy with
    the lessons that take it — each in every school's own numbering and local time."""
    ids = [part for value in terminals for part in value.split(",") if part]
    found = week_grid.week_grid(
        ctx.uow(), ctx.principal, week=week, school_id=school, network_id=network,
        terminal_ids=ids, by_school=rows == "school", now=ctx.now,
        setup_minutes=setup_minutes, policy=ctx.policy,
    )  # fmt: skip
    chosen = found.rows[paging.offset : paging.offset + paging.limit]
    listing = page(request, paging, [GridRowOut.model_validate(r) for r in chosen], len(found.rows))
    return WeekGridOut(
        scope=found.scope_kind,
        scope_id=found.scope_id,
        week=found.week,
        previous_week=found.previous_week,
        next_week=found.next_week,
        days=list(found.days),
        lesson_numbers=list(found.lesson_numbers),
        setup_minutes=found.setup_minutes,
        week_links=WeekLinks(
            previous=_at_week(request, found.previous_week),
            next=_at_week(request, found.next_week),
        ),
        **listing,
    )


def _at_week(request: Request, week: dt.date) -> str:
    return str(request.url.include_query_params(week=week.isoformat(), offset=0))
