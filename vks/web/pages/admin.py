"""Administration (the RCC): the users and their roles, and the import of a region file or
a timetable CSV with its per-line report — the same import as `vks import` (all or
nothing; a dry run checks without writing). Closures, holidays and organisations are
`vks/web/pages/calendar.py`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.access import Action, authorize
from booking.errors import InvalidInput
from booking.services import inventory, users
from vks.importing.loader import import_files
from vks.importing.report import ImportFailed, ImportReport, SourceError
from vks.web.csrf import require_csrf
from vks.web.navigation import admin_entries_for
from vks.web.rendering import render
from vks.web.session import CurrentViewer, Viewer, container_of

router = APIRouter()

SUFFIXES = (".yaml", ".yml", ".csv")
USER_ROWS = 500


def _users(request: Request, viewer: Viewer) -> dict[str, Any]:
    """The users, and their organisations' names (the list shows names, not ids)."""
    container = container_of(request)
    found = list(users.users_page(container.reading_uow(), viewer.principal, limit=USER_ROWS).items)
    names = inventory.names_of(container.reading_uow(), viewer.principal, {u.org_id for u in found})
    return {"users": found, "names": names}


def _page(request: Request, viewer: Viewer, **values: Any) -> Response:
    return render(request, "admin.html", **_users(request, viewer), **values)


@router.get("/admin")
async def admin(request: Request, viewer: CurrentViewer) -> Response:
    """The RCC's users and import; whoever manages only a calendar or organisations is led
    to their page under Administration."""
    if not viewer.principal.can(Action.MANAGE_REGION):
        others = admin_entries_for(viewer.principal)
        if others:
            return RedirectResponse(others[0].path, status_code=303)
    authorize(viewer.principal, Action.MANAGE_REGION)
    return await run_in_threadpool(_page, request, viewer, report=None, failed=False)


@router.post("/admin/import", dependencies=[Depends(require_csrf)])
async def import_file(
    request: Request,
    viewer: CurrentViewer,
    upload: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    authorize(viewer.principal, Action.MANAGE_REGION)
    container = container_of(request)
    name = Path(upload.filename or "").name
    if not name.lower().endswith(SUFFIXES):
        raise InvalidInput("a region file (.yaml) or a timetable (.csv) is expected", field="file")
    content = await upload.read()

    def run() -> tuple[ImportReport | None, bool, str]:
        with tempfile.TemporaryDirectory(prefix="vks-import-") as folder:
            path = Path(folder) / name
            path.write_bytes(content)
            try:
                report = import_files(
                    [path], container.uow_factory, now=container.clock.now(),
                    policy=container.policy, dry_run=dry_run,
                    max_file_bytes=container.settings.max_import_bytes,
                )  # fmt: skip
            except ImportFailed as refused:
                return refused.report, True, ""
            except SourceError as unreadable:
                return None, True, str(unreadable)
        return report, False, ""

    report, failed, unreadable = await run_in_threadpool(run)
    status = 422 if failed else 200
    return render(
        request, "admin.html", status=status, report=report, failed=failed,
        unreadable=unreadable, file_name=name, dry_run=dry_run, **_users(request, viewer),
    )  # fmt: skip
