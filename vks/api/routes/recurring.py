"""Recurring-slot search: which terminals are free every week at one lesson through a
period — one call instead of one per date."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from booking.services.recurring_slots import recurring_free_terminals
from vks.api.dependencies import SessionCtx
from vks.api.schemas.common import Day, Id, LocalTime, problem_responses
from vks.api.schemas.workflow import RecurringOut, recurring_json

router = APIRouter(prefix="/availability", tags=["availability"])


@router.get(
    "/recurring", response_model=RecurringOut, responses=problem_responses(401, 403, 404, 422)
)
async def recurring(
    ctx: SessionCtx,
    weekday: Annotated[int, Query(ge=0, le=6, description="0 = Monday … 6 = Sunday")],
    from_: Annotated[Day, Query(alias="from", description="first local date, inclusive")],
    to: Annotated[Day, Query(description="last local date, inclusive")],
    lesson_number: Annotated[int | None, Query(ge=1, le=12)] = None,
    start_time: LocalTime | None = None,
    end_time: LocalTime | None = None,
    org_id: Annotated[
        Id | None, Query(description="a school, a network or the region (default: the caller's)")
    ] = None,
    min_share: Annotated[
        float, Query(gt=0, le=1, description="'most dates' means this share")
    ] = 0.5,
    setup_minutes: Annotated[int | None, Query(ge=0, le=240)] = None,
) -> Response:
    """Terminals free on every study date of the period at that weekly lesson (each at its
    own school's bells and clock), and those free on most dates with the clashing dates."""

    # one thread hop: the session check (in the search's own transaction, `SessionCtx`),
    # the search, and its JSON — a region's answer is thousands of terminals: written as
    # `RecurringOut`'s JSON in one pass, not through FastAPI's generic response
    # serialisation (the route still declares its model for the docs)
    def work() -> Response:
        answer = recurring_free_terminals(
            ctx.uow(), ctx.principal, weekday=weekday, start_date=from_, end_date=to,
            lesson_number=lesson_number, start_time=start_time, end_time=end_time,
            org_id=org_id, min_share=min_share, setup_minutes=setup_minutes, policy=ctx.policy,
        )  # fmt: skip
        return Response(recurring_json(answer), media_type="application/json")

    return await run_in_threadpool(work)
