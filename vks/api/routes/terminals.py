"""VKS terminals (room systems at schools and at the RCC)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from booking.services import inventory
from vks.api.dependencies import Ctx
from vks.api.etags import IfMatch, IfMatchOptional, set_etag
from vks.api.locations import set_location
from vks.api.pagination import Paging, page_of
from vks.api.schemas.common import Page, problem_responses
from vks.api.schemas.equipment import TerminalIn, TerminalOut
from vks.automation.api import TerminalOperationOut, operate_terminal

router = APIRouter(prefix="/terminals", tags=["terminals"])


@router.get("", response_model=Page[TerminalOut], responses=problem_responses(401, 403, 404))
def list_terminals(
    ctx: Ctx,
    paging: Paging,
    request: Request,
    site_id: Annotated[str | None, Query(description="one site (school or RCC)")] = None,
    active_only: bool = False,
) -> dict[str, Any]:
    """Terminals of one site, or of the caller's whole subtree, by id."""
    found = inventory.terminals_page(
        ctx.uow(), ctx.principal, site_id=site_id, active_only=active_only,
        offset=paging.offset, limit=paging.limit,
    )  # fmt: skip
    return page_of(request, paging, found, TerminalOut.of)


@router.post(
    "",
    response_model=TerminalOut,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def add_terminal(body: TerminalIn, ctx: Ctx, response: Response) -> TerminalOut:
    stored = inventory.add_terminal(ctx.uow(), ctx.principal, body.to_domain())
    set_location(response, "terminals", stored.id)
    set_etag(response, stored.version)
    return TerminalOut.of(stored)


@router.get(
    "/{terminal_id}", response_model=TerminalOut, responses=problem_responses(401, 403, 404)
)
def get_terminal(terminal_id: str, ctx: Ctx, response: Response) -> TerminalOut:
    terminal = inventory.get_terminal(ctx.uow(), ctx.principal, terminal_id)
    set_etag(response, terminal.version)
    return TerminalOut.of(terminal)


@router.put(
    "/{terminal_id}",
    response_model=TerminalOut,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
)
def update_terminal(
    terminal_id: str, body: TerminalIn, ctx: Ctx, response: Response, version: IfMatch
) -> TerminalOut:
    terminal = body.to_domain()
    terminal.id = terminal_id
    if not body.credentials_ref:  # keep the stored reference unless a new one is sent
        terminal.credentials_ref = inventory.get_terminal(
            ctx.uow(), ctx.principal, terminal_id
        ).credentials_ref
    stored = inventory.update_terminal(ctx.uow(), ctx.principal, terminal, expected_version=version)
    set_etag(response, stored.version)
    return TerminalOut.of(stored)


@router.post(
    "/{terminal_id}/retire",
    response_model=TerminalOut,
    responses=problem_responses(401, 403, 404, 409, 412),
)
def retire_terminal(
    terminal_id: str,
    ctx: Ctx,
    response: Response,
    version: IfMatchOptional,
    force: Annotated[bool, Query(description="retire even if future sessions use it")] = False,
) -> TerminalOut:
    """Take a terminal out of service; refused while future bookings use it (409 with
    their occurrence ids) unless `force`."""
    stored = inventory.retire_terminal(
        ctx.uow(), ctx.principal, terminal_id, now=ctx.now, force=force, expected_version=version
    )
    set_etag(response, stored.version)
    return TerminalOut.of(stored)


# --- operators' actions on the device (the automation's devices) -------------------------
@router.post(
    "/{terminal_id}/hang-up",
    response_model=TerminalOperationOut,
    responses=problem_responses(401, 403, 404, 502, 503),
)
def hang_up_terminal(terminal_id: str, ctx: Ctx) -> TerminalOperationOut:
    """Hang the terminal up, whatever call it is in (a call left over from an ended lesson,
    one made by hand). A running lesson that uses it redials it on its next round
    (`in_running_lesson`)."""
    return operate_terminal(ctx, terminal_id, "hang-up")


@router.post(
    "/{terminal_id}/reset",
    response_model=TerminalOperationOut,
    responses=problem_responses(401, 403, 404, 502, 503),
)
def reset_terminal(terminal_id: str, ctx: Ctx) -> TerminalOperationOut:
    """Hang the terminal up and open a fresh control session with it (a terminal whose
    session or call state is stuck)."""
    return operate_terminal(ctx, terminal_id, "reset")
