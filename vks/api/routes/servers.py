"""Conference servers (Jitsi Meet, BigBlueButton) and their capacity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from booking.errors import NotFound
from booking.services import inventory
from vks.api.dependencies import Ctx
from vks.api.etags import IfMatch, set_etag
from vks.api.locations import set_location
from vks.api.pagination import Paging, page_of
from vks.api.schemas.common import Page, problem_responses
from vks.api.schemas.equipment import ServerIn, ServerOut

router = APIRouter(prefix="/servers", tags=["conference servers"])


@router.get("", response_model=Page[ServerOut], responses=problem_responses(401))
def list_servers(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    found = inventory.servers_page(
        ctx.uow(), ctx.principal, offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, ServerOut.of)


@router.post(
    "", response_model=ServerOut, status_code=201, responses=problem_responses(401, 403, 409, 422)
)
def add_server(body: ServerIn, ctx: Ctx, response: Response) -> ServerOut:
    stored = inventory.add_server(ctx.uow(), ctx.principal, body.to_domain())
    set_location(response, "servers", stored.id)
    set_etag(response, stored.version)
    return ServerOut.of(stored)


@router.get("/{server_id}", response_model=ServerOut, responses=problem_responses(401, 404))
def get_server(server_id: str, ctx: Ctx, response: Response) -> ServerOut:
    for server in inventory.list_servers(ctx.uow(), ctx.principal):
        if server.id == server_id:
            set_etag(response, server.version)
            return ServerOut.of(server)
    raise NotFound(f"unknown server {server_id}")


@router.put(
    "/{server_id}",
    response_model=ServerOut,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
)
def update_server(
    server_id: str, body: ServerIn, ctx: Ctx, response: Response, version: IfMatch
) -> ServerOut:
    server = body.to_domain()
    server.id = server_id
    stored = inventory.update_server(ctx.uow(), ctx.principal, server, expected_version=version)
    set_etag(response, stored.version)
    return ServerOut.of(stored)
