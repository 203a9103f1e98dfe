"""The organisation tree (region → municipality → network → school)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response

from booking.services import inventory
from vks.api.dependencies import Ctx
from vks.api.etags import IfMatch, set_etag
from vks.api.locations import set_location
from vks.api.pagination import Paging, page_of
from vks.api.schemas.common import Page, problem_responses
from vks.api.schemas.organisations import OrganisationIn, OrganisationOut, OrganisationUpdate

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", response_model=Page[OrganisationOut], responses=problem_responses(401, 403))
def list_organisations(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    """The caller's subtree (the RCC: the whole region), ordered by path."""
    found = inventory.organisations_page(
        ctx.uow(), ctx.principal, offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, OrganisationOut.model_validate)


@router.post(
    "",
    response_model=OrganisationOut,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def add_organisation(body: OrganisationIn, ctx: Ctx, response: Response) -> OrganisationOut:
    stored = inventory.add_organisation(ctx.uow(), ctx.principal, body.to_domain())
    set_location(response, "organisations", stored.id)
    set_etag(response, stored.version)
    return OrganisationOut.model_validate(stored)


@router.get("/{org_id}", response_model=OrganisationOut, responses=problem_responses(401, 403, 404))
def get_organisation(org_id: str, ctx: Ctx, response: Response) -> OrganisationOut:
    org = inventory.get_organisation(ctx.uow(), ctx.principal, org_id)
    set_etag(response, org.version)
    return OrganisationOut.model_validate(org)


@router.put(
    "/{org_id}",
    response_model=OrganisationOut,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
)
def update_organisation(
    org_id: str, body: OrganisationUpdate, ctx: Ctx, response: Response, version: IfMatch
) -> OrganisationOut:
    current = inventory.get_organisation(ctx.uow(), ctx.principal, org_id)
    changed = replace(current, **body.model_dump())
    stored = inventory.update_organisation(
        ctx.uow(), ctx.principal, changed, expected_version=version
    )
    set_etag(response, stored.version)
    return OrganisationOut.model_validate(stored)
