"""The joint search: lessons free for several schools at once (a terminal free at every
site), on a date range or weekly over it, in every school's local time and numbering."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from booking.services import joint
from vks.api.dependencies import Ctx
from vks.api.schemas.common import Day, Id, problem_responses
from vks.api.schemas.joint import JointSlotOut, JointSlotsOut

router = APIRouter(prefix="/availability", tags=["availability"])


@router.get(
    "/joint-lessons",
    response_model=JointSlotsOut,
    responses=problem_responses(401, 403, 404, 422),
)
def joint_lessons(
    ctx: Ctx,
    site_id: Annotated[
        list[Id], Query(description="the schools, the host first; repeat the parameter")
    ],
    from_: Annotated[Day, Query(alias="from", description="first local date of the host")],
    to: Annotated[Day, Query(description="last local date of the host, inclusive")],
    weekday: Annotated[
        list[int], Query(description="only these weekdays, 0 (Monday) to 6; repeat")
    ] = [],  # noqa: B006 (FastAPI copies query defaults)
    weekly: Annotated[
        bool, Query(description="one slot per weekday and lesson, free on every date")
    ] = False,
    setup_minutes: Annotated[int | None, Query(ge=0, le=240)] = None,
) -> JointSlotsOut:
    """The host's lessons (by its bells, on every school's study days) within every school's
    day and with a terminal free at every site. Begun lessons are left out."""
    setup = ctx.policy.default_setup_minutes if setup_minutes is None else setup_minutes
    slots = joint.joint_free_lessons(
        ctx.uow(), ctx.principal, site_id, start_date=from_, end_date=to, weekdays=weekday,
        weekly=weekly, now=ctx.now, setup_minutes=setup, policy=ctx.policy,
    )  # fmt: skip
    return JointSlotsOut(
        site_ids=list(dict.fromkeys(site_id)),
        weekly=weekly,
        setup_minutes=setup,
        slots=[JointSlotOut.model_validate(s) for s in slots],
    )
