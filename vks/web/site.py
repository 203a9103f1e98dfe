"""Mounting the web interface on the service's app: the pages at `/` (the API stays under
/api/v1), the static files at `/static` (vendored htmx, our CSS), error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from vks.web import errors
from vks.web.pages import (
    admin,
    bookings,
    calendar,
    equipment,
    grid,
    inbox,
    language,
    login,
    needs,
    reports,
    requests,
    today,
)

STATIC = Path(__file__).parent / "static"

PAGES: list[APIRouter] = [
    login.router,
    language.router,
    today.router,
    grid.router,
    bookings.router,
    equipment.router,
    admin.router,
    calendar.router,
    needs.router,
    requests.router,
    inbox.router,
    reports.router,
]
"""One router per page module; a new page adds its router here."""

home = APIRouter(include_in_schema=False)


@home.get("/")
def index() -> RedirectResponse:
    return RedirectResponse("/today", status_code=303)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(home)
    for router in PAGES:
        app.include_router(router, include_in_schema=False)
    errors.install(app)
