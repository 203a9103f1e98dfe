"""The caller's notifications (inbox, unread count, mark read), their channels per notice
kind, and the RCC's deadlines that people are reminded of."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from booking.notifications import Deadline
from booking.services import notifying
from vks.api.dependencies import Ctx
from vks.api.locations import set_location
from vks.api.pagination import Paging, page_of
from vks.api.schemas.common import Page, problem_responses
from vks.api.schemas.notifications import (
    DeadlineIn,
    DeadlineOut,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
    UnreadOut,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])
deadlines_router = APIRouter(prefix="/deadlines", tags=["notifications"])


@router.get("", response_model=Page[NotificationOut], responses=problem_responses(401, 422))
def list_notifications(
    ctx: Ctx,
    paging: Paging,
    request: Request,
    unread: Annotated[bool, Query(description="only the unread ones")] = False,
) -> dict[str, Any]:
    """The caller's notifications, newest first."""
    found = notifying.inbox_page(
        ctx.uow(), ctx.principal, unread_only=unread, offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, NotificationOut.model_validate)


@router.get("/unread-count", response_model=UnreadOut, responses=problem_responses(401))
def unread_count(ctx: Ctx) -> UnreadOut:
    """How many of the caller's notifications are unread (for a badge)."""
    return UnreadOut(unread=notifying.unread_count(ctx.uow(), ctx.principal))


def _preferences(found: notifying.Preferences) -> PreferencesOut:
    return PreferencesOut(
        email=found.email,
        channels={kind: sorted(channels) for kind, channels in found.channels.items()},
    )


@router.get("/preferences", response_model=PreferencesOut, responses=problem_responses(401))
def get_preferences(ctx: Ctx) -> PreferencesOut:
    """The caller's channels per notice kind (none stored: every channel) and address."""
    return _preferences(notifying.preferences(ctx.uow(), ctx.principal))


@router.put(
    "/preferences", response_model=PreferencesOut, responses=problem_responses(401, 404, 422)
)
def put_preferences(body: PreferencesIn, ctx: Ctx) -> PreferencesOut:
    """Replace the caller's channels per notice kind (and the e-mail address, if given)."""
    stored = notifying.set_preferences(
        ctx.uow(),
        ctx.principal,
        {kind: set(channels) for kind, channels in body.channels.items()},
        email=body.email,
        change_email="email" in body.model_fields_set,
    )
    return _preferences(stored)


@router.post("/read-all", response_model=ReadAllOut, responses=problem_responses(401))
def read_all(ctx: Ctx) -> ReadAllOut:
    """Mark every unread notification of the caller read."""
    return ReadAllOut(marked_read=notifying.mark_all_read(ctx.uow(), ctx.principal, now=ctx.now))


@router.post(
    "/{notification_id}/read", response_model=NotificationOut, responses=problem_responses(401, 404)
)
def read_one(notification_id: str, ctx: Ctx) -> NotificationOut:
    """Mark one of the caller's notifications read."""
    item = notifying.mark_read(ctx.uow(), ctx.principal, notification_id, now=ctx.now)
    return NotificationOut.model_validate(item)


def _deadline_out(deadline: Deadline) -> DeadlineOut:
    return DeadlineOut.model_validate({**deadline.__dict__, "roles": sorted(deadline.roles)})


@deadlines_router.get("", response_model=Page[DeadlineOut], responses=problem_responses(401))
def list_deadlines(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    """The deadlines of the caller's scope (set for it, or for an organisation above it)."""
    from booking.paging import page_of_list

    found = page_of_list(notifying.deadlines(ctx.uow(), ctx.principal), paging.offset, paging.limit)
    return page_of(request, paging, found, _deadline_out)


@deadlines_router.post(
    "",
    response_model=DeadlineOut,
    status_code=201,
    responses=problem_responses(401, 403, 422),
)
def add_deadline(body: DeadlineIn, ctx: Ctx, response: Response) -> DeadlineOut:
    """Set a deadline (RCC): its people are reminded `remind_days` before it, once."""
    deadline = Deadline(
        id=uuid.uuid4().hex[:16],
        kind=body.kind,
        period=body.period.strip(),
        due_on=body.due_on,
        scope_org_id=body.scope_org_id,
        roles=frozenset(body.roles),
        remind_days=body.remind_days,
        title=body.title.strip(),
    )
    stored = notifying.add_deadline(ctx.uow(), ctx.principal, deadline, now=ctx.now)
    set_location(response, "deadlines", stored.id)
    return _deadline_out(stored)


@deadlines_router.delete(
    "/{deadline_id}", status_code=204, responses=problem_responses(401, 403, 404)
)
def delete_deadline(deadline_id: str, ctx: Ctx) -> Response:
    """Delete a deadline (RCC)."""
    notifying.delete_deadline(ctx.uow(), ctx.principal, deadline_id, now=ctx.now)
    return Response(status_code=204)
