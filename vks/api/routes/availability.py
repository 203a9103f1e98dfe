"""Availability: free terminals for a slot; free lessons of a site or a terminal over a
date range (the school's local time and UTC); free clock intervals of a terminal."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from booking.services import availability, inventory
from vks.api.answers import free_terminals_answer
from vks.api.dependencies import Context, Ctx, SessionCtx
from vks.api.schemas.availability import (
    FreeIntervalOut,
    FreeIntervalsOut,
    FreeLessonOut,
    FreeLessonsOut,
    FreeTerminalsOut,
)
from vks.api.schemas.common import Day, Id, LocalTime, problem_responses

router = APIRouter(prefix="/availability", tags=["availability"])

From = Annotated[Day, Query(alias="from", description="first local date, inclusive")]
To = Annotated[Day, Query(description="last local date, inclusive")]
MINUTES_A_DAY = 24 * 60


@router.get(
    "/terminals", response_model=FreeTerminalsOut, responses=problem_responses(401, 403, 404, 422)
)
async def free_terminals(
    ctx: SessionCtx,
    start: Annotated[dt.datetime, Query(description="slot start, with a time zone")],
    end: Annotated[dt.datetime, Query(description="slot end, with a time zone")],
    org_id: Annotated[
        str | None, Query(description="search in this subtree (default: the caller's)")
    ] = None,
    setup_minutes: Annotated[
        int | None, Query(ge=0, le=240, description="default: a booking's default set-up")
    ] = None,
) -> Response:
    """Active terminals with nothing booked over [start − set-up, end)."""
    # one thread hop: the session check (in the read's own transaction, `SessionCtx`), the
    # read and the answer's JSON, built once. Usually served by `vks.api.hot`, which calls
    # `terminals_free` too.
    return await run_in_threadpool(terminals_free, ctx, start, end, org_id, setup_minutes)


def terminals_free(
    ctx: Context,
    start: dt.datetime,
    end: dt.datetime,
    org_id: str | None = None,
    setup_minutes: int | None = None,
) -> Response:
    """GET /availability/terminals' read and answer (in a worker thread)."""
    setup = ctx.policy.default_setup_minutes if setup_minutes is None else setup_minutes
    found = availability.free_terminals(
        ctx.uow(), ctx.principal, start, end, org_id=org_id, setup_minutes=setup,
        policy=ctx.policy,
    )  # fmt: skip
    content = {
        "start": start,
        "end": end,
        "setup_minutes": setup,
        "org_id": org_id or ctx.principal.org_id,
    }
    return free_terminals_answer(content, found)  # each terminal's JSON written once


@router.get(
    "/lessons", response_model=FreeLessonsOut, responses=problem_responses(401, 403, 404, 422)
)
def free_lessons(
    ctx: Ctx,
    from_: From,
    to: To,
    site_id: Id | None = None,
    terminal_id: Id | None = None,
    setup_minutes: Annotated[int | None, Query(ge=0, le=240)] = None,
) -> FreeLessonsOut:
    """Lessons (by the school's bells, on its study days) for which a terminal of the site
    — or the given terminal — is free, in local time and UTC. Begun lessons are left out."""
    lessons = availability.free_lessons(
        ctx.uow(), ctx.principal, start_date=from_, end_date=to, site_id=site_id,
        terminal_id=terminal_id, now=ctx.now, setup_minutes=setup_minutes, policy=ctx.policy,
    )  # fmt: skip
    return FreeLessonsOut(
        site_id=site_id,
        terminal_id=terminal_id,
        time_zone=_zone(ctx, site_id, terminal_id),
        lessons=[FreeLessonOut.model_validate(lesson) for lesson in lessons],
    )


@router.get(
    "/intervals", response_model=FreeIntervalsOut, responses=problem_responses(401, 403, 404, 422)
)
def free_intervals(
    ctx: Ctx,
    terminal_id: Id,
    from_: From,
    to: To,
    day_start: Annotated[LocalTime, Query(description="local, without an offset")] = dt.time(8),
    day_end: Annotated[LocalTime, Query(description="local, without an offset")] = dt.time(18),
    min_minutes: Annotated[int, Query(ge=0, le=MINUTES_A_DAY)] = 0,
) -> FreeIntervalsOut:
    """Free stretches of one terminal within a local day window, whatever the bells say."""
    found = availability.free_intervals(
        ctx.uow(), ctx.principal, terminal_id, start_date=from_, end_date=to,
        day_start=day_start, day_end=day_end, min_minutes=min_minutes, now=ctx.now,
        policy=ctx.policy,
    )  # fmt: skip
    return FreeIntervalsOut(
        terminal_id=terminal_id,
        time_zone=_zone(ctx, None, terminal_id),
        intervals=[FreeIntervalOut.model_validate(i) for i in found],
    )


def _zone(ctx: Ctx, site_id: str | None, terminal_id: str | None) -> str:
    if site_id is None and terminal_id is not None:
        site_id = inventory.get_terminal(ctx.uow(), ctx.principal, terminal_id).site_id
    if site_id is None:
        return "UTC"
    return inventory.get_organisation(ctx.uow(), ctx.principal, site_id).time_zone
