"""The Today board: the lessons of the viewer's day in their scope, live — the day's counts,
the lessons needing attention, and the lessons the filters choose, a page at a time
(`vks.web.board`). The page is rendered whole once; then a server-sent event stream
(`/today/events`, with the page's filters) watches the database's change mark
(`vks.web.board.change_mark`, every `VKS_WEB_POLL_SECONDS`) and sends what changed:
the counts, the attention list, the rows whose rendering changed (htmx swaps each out of
band by its id), or the whole list when lessons came or went. Operators' actions are
CSRF-checked POST forms."""

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
from vks.web.board import MAX_ROWS, PAGE_ROWS, STATES, Board, Filters, board, change_mark
from vks.web.csrf import require_csrf
from vks.web.rendering import render, render_text
from vks.web.session import CurrentViewer, LoginRequired, Viewer, container_of, viewer_of

router = APIRouter()

FULL_REFRESH_S = 5.0
"""Re-render even without a new change mark this often (lateness grows by the minute;
a derived flag such as at-risk may land just after the change that caused it)."""

States = Annotated[list[str], Query(max_length=16)]


def _board(request: Request, viewer: Viewer, filters: Filters) -> Board:
    container = container_of(request)
    now = container.clock.now()
    return board(container, viewer.principal, now, viewer.zone, filters)


def _query(filters: Filters) -> str:
    from urllib.parse import urlencode

    pairs = [("state", s) for s in filters.states]
    pairs += [(k, v) for k, v in (("area", filters.area_id), ("school", filters.school_id)) if v]
    pairs += [("attention", "1")] if filters.attention else []
    pairs += [("rows", str(filters.rows))] if filters.rows != PAGE_ROWS else []
    return urlencode(pairs)


def _filters(
    state: list[str], area: str | None, school: str | None, attention: bool, rows: int
) -> Filters:
    return Filters(states=[s for s in state if s], area_id=area or None,
                   school_id=school or None, attention=attention, rows=rows)  # fmt: skip


Id = Annotated[str | None, Query(max_length=64)]
Rows = Annotated[int, Query(ge=1, le=MAX_ROWS)]


@router.get("/today")
async def today(
    request: Request,
    viewer: CurrentViewer,
    state: States = [],  # noqa: B006 - FastAPI copies defaults
    area: Id = None,
    school: Id = None,
    attention: bool = False,
    rows: Rows = PAGE_ROWS,
    notice: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    filters = _filters(state, area, school, attention, rows)
    found = await run_in_threadpool(_board, request, viewer, filters)
    more = Filters(filters.states, filters.area_id, filters.school_id, filters.attention,
                   min(MAX_ROWS, found.limit + PAGE_ROWS))  # fmt: skip
    return render(
        request, "today.html", board=found, filters=filters, query=_query(filters),
        more=_query(more), notice=notice, states=STATES, step=PAGE_ROWS, max_rows=MAX_ROWS,
    )  # fmt: skip


@router.get("/today/events")
async def today_events(
    request: Request,
    viewer: CurrentViewer,
    state: States = [],  # noqa: B006
    area: Id = None,
    school: Id = None,
    attention: bool = False,
    rows: Rows = PAGE_ROWS,
) -> EventSourceResponse:
    container = container_of(request)
    poll = container.settings.web_poll_seconds
    filters = _filters(state, area, school, attention, rows)

    def parts_of(found: Board) -> tuple[dict[str, str], str, str]:
        """The rows' HTML by id, the summary's and the attention list's (each swapped out
        of band by its id)."""
        rows = {r.id: render_text(request, "_today_row.html", row=r, oob=True)
                for r in found.rows}  # fmt: skip
        summary = render_text(request, "_today_summary.html", board=found, oob=True)
        attention = render_text(request, "_today_attention.html", board=found, oob=True)
        return rows, summary, attention

    async def stream() -> AsyncIterator[ServerSentEvent]:
        mark = None
        shown: dict[str, str] = {}
        summary_shown = attention_shown = ""
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
                found = await run_in_threadpool(_board, request, who, filters)
                rows, summary, attention = parts_of(found)
                # sections and table rows go in separate events: htmx parses each event as
                # one fragment, and a <tr> after a <section> would be dropped by the parser
                pairs = ((summary, summary_shown), (attention, attention_shown))
                sections = [html for html, before in pairs if html != before or mark is None]
                if list(rows) != list(shown) or mark is None:
                    changed = [render_text(request, "_today_body.html", board=found)]
                else:
                    changed = [html for i, html in rows.items() if shown.get(i) != html]
                if changed:
                    yield ServerSentEvent("\n".join(changed), event="rows")
                if sections:
                    yield ServerSentEvent("\n".join(sections), event="rows")
                shown, mark, refreshed = rows, current, now
                summary_shown, attention_shown = summary, attention
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
