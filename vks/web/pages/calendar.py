"""Administration of school time and organisations: a school's or a municipality's closure
days (quarantine, a heating failure) added and removed by whoever manages the calendar
there; the academic year's school holidays added and removed by the RCC; the organisations
of the viewer's subtree listed, and their name and time zone edited where the domain
allows (the place in the tree never changes). The same services as `/api/v1/closures`,
`/api/v1/academic-years` and `/api/v1/organisations`, with their scoping and versions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.access import Action, authorize
from booking.errors import InvalidInput, NotFound
from booking.organisations import OrgKind
from booking.schoolyear import Closure, Holiday
from booking.services import inventory, schooltime
from booking.services.changes import new_id
from vks.web.csrf import require_csrf
from vks.web.dates import Day
from vks.web.rendering import render
from vks.web.session import CurrentViewer, Viewer, container_of

router = APIRouter()

ORG_ROWS = 500
SHOWN_DAYS = 400  # closures shown: from a year ago to a year ahead


def _today(request: Request, viewer: Viewer) -> date:
    return container_of(request).clock.now().astimezone(viewer.zone).date()


def _closures_view(request: Request, viewer: Viewer, org_id: str | None) -> dict[str, Any]:
    container = container_of(request)
    principal = viewer.principal
    authorize(principal, Action.MANAGE_CALENDAR)
    places = inventory.organisations_page(
        container.reading_uow(), principal, kinds=[OrgKind.SCHOOL, OrgKind.MUNICIPALITY],
        limit=ORG_ROWS,
    ).items  # fmt: skip
    chosen = org_id or (places[0].id if places else None)
    today = _today(request, viewer)
    since, until = today - timedelta(days=SHOWN_DAYS), today + timedelta(days=SHOWN_DAYS)
    closures = (
        schooltime.list_closures(container.reading_uow(), principal, chosen, since, until)
        if chosen
        else []
    )
    years = (
        schooltime.list_academic_years(container.reading_uow(), principal)
        if principal.can(Action.MANAGE_REGION)
        else []
    )
    year = next((y for y in years if y.contains(today)), years[-1] if years else None)
    return {
        "places": places,
        "chosen": chosen,
        "closures": closures,
        "names": {o.id: o.name for o in places},
        "year": year,
    }


@router.get("/admin/closures")
async def closures(
    request: Request, viewer: CurrentViewer,
    org: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:  # fmt: skip
    view = await run_in_threadpool(_closures_view, request, viewer, org)
    return render(request, "closures.html", **view)


def _back(org_id: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/closures?org={quote(org_id)}", status_code=303)


@router.post("/admin/closures", dependencies=[Depends(require_csrf)])
async def add_closure(
    request: Request, viewer: CurrentViewer,
    org_id: Annotated[str, Form(alias="org", min_length=1, max_length=64)],
    start: Annotated[Day, Form()], end: Annotated[Day, Form()],
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    closure = Closure(new_id(), org_id, start, end, reason.strip())
    container = container_of(request)
    await run_in_threadpool(schooltime.add_closure, container.uow_factory(), viewer.principal,
                            closure)  # fmt: skip
    return _back(org_id)


@router.post("/admin/closures/{closure_id}/delete", dependencies=[Depends(require_csrf)])
async def delete_closure(
    request: Request, closure_id: str, viewer: CurrentViewer,
    org_id: Annotated[str, Form(alias="org", min_length=1, max_length=64)],
) -> Response:  # fmt: skip
    container = container_of(request)
    await run_in_threadpool(schooltime.delete_closure, container.uow_factory(), viewer.principal,
                            closure_id)  # fmt: skip
    return _back(org_id)


def _change_holidays(
    request: Request, viewer: Viewer, year_id: str, version: int, change: Any
) -> None:
    """The academic year with its holidays changed, stored if nobody changed it meanwhile."""
    container = container_of(request)
    years = schooltime.list_academic_years(container.reading_uow(), viewer.principal)
    year = next((y for y in years if y.id == year_id), None)
    if year is None:
        raise NotFound(f"unknown academic year {year_id}", id=year_id)
    changed = replace(year, holidays=change(list(year.holidays)))
    schooltime.update_academic_year(
        container.uow_factory(), viewer.principal, changed, expected_version=version
    )


@router.post("/admin/holidays", dependencies=[Depends(require_csrf)])
async def add_holiday(
    request: Request, viewer: CurrentViewer,
    year_id: Annotated[str, Form(alias="year", min_length=1, max_length=64)],
    version: Annotated[int, Form(ge=1)],
    name: Annotated[str, Form(min_length=1, max_length=100)],
    start: Annotated[Day, Form()], end: Annotated[Day, Form()],
) -> Response:  # fmt: skip
    holiday = Holiday(name.strip(), start, end)

    def added(holidays: list[Holiday]) -> list[Holiday]:
        return sorted([*holidays, holiday], key=lambda h: h.start)

    await run_in_threadpool(_change_holidays, request, viewer, year_id, version, added)
    return RedirectResponse("/admin/closures", status_code=303)


@router.post("/admin/holidays/remove", dependencies=[Depends(require_csrf)])
async def remove_holiday(
    request: Request, viewer: CurrentViewer,
    year_id: Annotated[str, Form(alias="year", min_length=1, max_length=64)],
    version: Annotated[int, Form(ge=1)],
    start: Annotated[Day, Form()],
) -> Response:  # fmt: skip
    def removed(holidays: list[Holiday]) -> list[Holiday]:
        kept = [h for h in holidays if h.start != start]
        if len(kept) == len(holidays):
            raise InvalidInput("no holiday starts on that date", field="start")
        return kept

    await run_in_threadpool(_change_holidays, request, viewer, year_id, version, removed)
    return RedirectResponse("/admin/closures", status_code=303)


# --- organisations -----------------------------------------------------------------------------
@router.get("/admin/organisations")
async def organisations(request: Request, viewer: CurrentViewer) -> Response:
    def load() -> dict[str, Any]:
        authorize(viewer.principal, Action.MANAGE_INVENTORY)
        found = inventory.organisations_page(
            container_of(request).reading_uow(), viewer.principal, limit=ORG_ROWS
        )
        return {"orgs": found.items, "total": found.total,
                "names": {o.id: o.name for o in found.items}}  # fmt: skip

    return render(request, "organisations.html", **await run_in_threadpool(load))


@router.get("/admin/organisations/{org_id}")
async def organisation(request: Request, org_id: str, viewer: CurrentViewer) -> Response:
    def load() -> dict[str, Any]:
        authorize(viewer.principal, Action.MANAGE_INVENTORY)
        uow = container_of(request).reading_uow
        org = inventory.get_organisation(uow(), viewer.principal, org_id)
        parent = org.parent_id and inventory.names_of(uow(), viewer.principal, [org.parent_id])
        return {"org": org, "parent": (parent or {}).get(org.parent_id or "", "")}

    return render(request, "organisation.html", **await run_in_threadpool(load))


@router.post("/admin/organisations/{org_id}", dependencies=[Depends(require_csrf)])
async def edit_organisation(
    request: Request, org_id: str, viewer: CurrentViewer,
    version: Annotated[int, Form(ge=1)],
    name: Annotated[str, Form(max_length=200)],
    time_zone: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:  # fmt: skip
    container = container_of(request)

    def act() -> None:
        current = inventory.get_organisation(container.reading_uow(), viewer.principal, org_id)
        changed = replace(current, name=name.strip(), time_zone=time_zone.strip())
        inventory.update_organisation(
            container.uow_factory(), viewer.principal, changed, expected_version=version
        )

    await run_in_threadpool(act)
    return RedirectResponse(f"/admin/organisations/{quote(org_id)}?saved=1", status_code=303)
