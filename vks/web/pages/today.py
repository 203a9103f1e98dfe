"""The Today board: every lesson of the viewer's day in their scope, live. The page is
rendered whole once; then a server-sent event stream (`/today/events`) watches the
database's change mark (`vks.web.board.change_mark`, every `VKS_WEB_POLL_SECONDS`) and
sends the rows whose rendering changed (htmx swaps them out of band), or the whole body
when lessons came or went. Operators' actions are CSRF-checked POST forms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from vks.web import operating
from vks.web.board import Board, board, change_mark
from vks.web.csrf import require_csrf
from vks.web.rendering import render, render_text
from vks.web.session import CurrentViewer, LoginRequired, Viewer, container_of, viewer_of

router = APIRouter()

FULL_REFRESH_S = 5.0
"""Re-render even without a new change mark this often (lateness grows by the minute;
a derived flag such as at-risk may land just after the change that caused it)."""

States = Annotated[list[str], Query(max_length=16)]


def _board(request: Request, viewer: Viewer, states: list[str], school: str | None) -> Board:
    container = container_of(request)
    now = container.clock.now()
    return board(container, viewer.principal, now, viewer.zone, states=states, school_id=school)


def _query(states: list[str], school: str | None) -> str:
    from urllib.parse import urlencode

    pairs = [("state", s) for s in states] + ([("school", school)] if school else [])
    return urlencode(pairs)


@router.get("/today")
async def today(
    request: Request,
    viewer: CurrentViewer,
    state: States = [],  # noqa: B006 - FastAPI copies defaults
    school: Annotated[str | None, Query(max_length=64)] = None,
    notice: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    found = await run_in_threadpool(_board, request, viewer, state, school)
    return render(
        request, "today.html", board=found, states=state, school=school or "",
        query=_query(state, school), notice=notice,
    )  # fmt: skip


@router.get("/today/events")
async def today_events(
    request: Request,
    viewer: CurrentViewer,
    state: States = [],  # noqa: B006
    school: Annotated[str | None, Query(max_length=64)] = None,
) -> EventSourceResponse:
    container = container_of(request)
    poll = container.settings.web_poll_seconds

    def rows_of(found: Board) -> dict[str, str]:
        return {r.id: render_text(request, "_today_row.html", row=r, oob=True) for r in found.rows}

    async def stream() -> AsyncIterator[ServerSentEvent]:
        mark = None
        shown: dict[str, str] = {}
        refreshed = 0.0
        while True:
            now = time.monotonic()
            current = await run_in_threadpool(change_mark, container)
            if current != mark or now - refreshed >= FULL_REFRESH_S:
                try:
                    request.state.viewer = None
                    who = await run_in_threadpool(viewer_of, request)  # still honoured?
                except LoginRequired:  # signed out, deactivated, or the token expired
                    yield ServerSentEvent(render_text(request, "_today_signed_out.html"),
                                          event="rows")  # fmt: skip
                    return
                found = await run_in_threadpool(_board, request, who, state, school)
                rows = rows_of(found)
                if list(rows) != list(shown):
                    body = render_text(request, "_today_body.html", board=found)
                    yield ServerSentEvent(body, event="rows")
                else:
                    changed = [html for i, html in rows.items() if shown.get(i) != html]
                    if changed:
                        yield ServerSentEvent("\n".join(changed), event="rows")
                shown, mark, refreshed = rows, current, now
            await asyncio.sleep(poll)

    return EventSourceResponse(stream(), ping=15)


def _back(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/today?notice={notice}", status_code=303)


async def _operate(request: Request, action: str, *args: str) -> Response:
    container = container_of(request)
    viewer = viewer_of(request)
    act = getattr(operating, action)
    accepted = await run_in_threadpool(act, container, viewer, *args)
    return _back("accepted" if accepted else "busy")


@router.post("/today/{occurrence_id}/start", dependencies=[Depends(require_csrf)])
async def start(request: Request, occurrence_id: str, viewer: CurrentViewer) -> Response:
    return await _operate(request, "start_now", occurrence_id)


@router.post("/today/{occurrence_id}/end", dependencies=[Depends(require_csrf)])
async def end(request: Request, occurrence_id: str, viewer: CurrentViewer) -> Response:
    return await _operate(request, "end_now", occurrence_id)


@router.post("/today/{occurrence_id}/redial", dependencies=[Depends(require_csrf)])
async def redial(
    request: Request,
    occurrence_id: str,
    viewer: CurrentViewer,
    terminal_id: Annotated[str, Form(max_length=64)],
) -> Response:
    return await _operate(request, "redial", occurrence_id, terminal_id)


@router.post("/today/{occurrence_id}/preset", dependencies=[Depends(require_csrf)])
async def preset(
    request: Request,
    occurrence_id: str,
    viewer: CurrentViewer,
    camera: Annotated[str, Form(max_length=64)],
) -> Response:
    camera_id, _, name = camera.partition("|")
    return await _operate(request, "camera_preset", occurrence_id, camera_id, name)
