"""PTZ cameras beside the terminals (ONVIF, named presets)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from booking.services import inventory
from vks.api.dependencies import Ctx
from vks.api.etags import IfMatch, set_etag
from vks.api.locations import set_location
from vks.api.pagination import Paging, page_of
from vks.api.schemas.common import Page, problem_responses
from vks.api.schemas.equipment import CameraIn, CameraOut

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.get("", response_model=Page[CameraOut], responses=problem_responses(401, 403))
def list_cameras(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    """The cameras at the terminals of the caller's subtree, by id."""
    found = inventory.cameras_page(
        ctx.uow(), ctx.principal, offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, CameraOut.of)


@router.post(
    "", response_model=CameraOut, status_code=201, responses=problem_responses(401, 403, 404, 409)
)
def add_camera(body: CameraIn, ctx: Ctx, response: Response) -> CameraOut:
    stored = inventory.add_camera(ctx.uow(), ctx.principal, body.to_domain())
    set_location(response, "cameras", stored.id)
    set_etag(response, stored.version)
    return CameraOut.of(stored)


@router.get("/{camera_id}", response_model=CameraOut, responses=problem_responses(401, 403, 404))
def get_camera(camera_id: str, ctx: Ctx, response: Response) -> CameraOut:
    camera = inventory.get_camera(ctx.uow(), ctx.principal, camera_id)
    set_etag(response, camera.version)
    return CameraOut.of(camera)


@router.put(
    "/{camera_id}",
    response_model=CameraOut,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
)
def update_camera(
    camera_id: str, body: CameraIn, ctx: Ctx, response: Response, version: IfMatch
) -> CameraOut:
    camera = body.to_domain()
    camera.id = camera_id
    if not body.credentials_ref:
        camera.credentials_ref = inventory.get_camera(
            ctx.uow(), ctx.principal, camera_id
        ).credentials_ref
    stored = inventory.update_camera(ctx.uow(), ctx.principal, camera, expected_version=version)
    set_etag(response, stored.version)
    return CameraOut.of(stored)
