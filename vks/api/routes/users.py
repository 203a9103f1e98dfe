"""Users and service accounts (the RCC manages them)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from booking.errors import InvalidInput
from booking.services import users
from booking.users import User
from vks.api.dependencies import Ctx
from vks.api.etags import IfMatchOptional, set_etag
from vks.api.locations import set_location
from vks.api.pagination import Paging, page_of
from vks.api.schemas.auth import ActiveIn, UserIn, UserOut
from vks.api.schemas.common import Page, problem_responses
from vks.auth.passwords import weak_reason

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=Page[UserOut], responses=problem_responses(401, 403))
def list_users(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    """Users and service accounts, by id (RCC operators only)."""
    found = users.users_page(ctx.uow(), ctx.principal, offset=paging.offset, limit=paging.limit)
    return page_of(request, paging, found, UserOut.model_validate)


@router.post(
    "", response_model=UserOut, status_code=201, responses=problem_responses(401, 403, 409, 422)
)
async def add_user(body: UserIn, ctx: Ctx, response: Response) -> UserOut:
    """Create a user who logs in with a password (RCC operators only)."""
    reason = weak_reason(body.password)
    if reason:
        raise InvalidInput(reason, field="password")
    password_hash = await run_in_threadpool(ctx.container.passwords.hash, body.password)
    user = User(
        id=uuid.uuid4().hex[:16],
        username=body.username.strip(),
        password_hash=password_hash,
        role=body.role,
        org_id=body.org_id,
        full_name=body.full_name,
        email=body.email,
    )
    stored = await run_in_threadpool(users.add_user, ctx.uow(), ctx.principal, user)
    set_location(response, "users", stored.id)
    set_etag(response, stored.version)
    return UserOut.model_validate(stored)


@router.put("/{user_id}/active", response_model=UserOut, responses=problem_responses(401, 403, 404))
def set_active(
    user_id: str, body: ActiveIn, ctx: Ctx, response: Response, _v: IfMatchOptional
) -> UserOut:
    """Deactivate (or reactivate) a user: a deactivated user cannot log in."""
    stored = users.set_user_active(ctx.uow(), ctx.principal, user_id, body.active)
    set_etag(response, stored.version)
    return UserOut.model_validate(stored)
