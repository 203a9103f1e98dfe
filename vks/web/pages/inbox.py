"""The inbox: the viewer's notifications (the unread ones first), marking one or all of
them read, and the channels they are told through (the inbox itself is always on) — the
same service functions as `/api/v1/notifications` (`booking/services/notifying.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.notifications import EVERY_KIND, Channel
from booking.services import notifying
from vks.web.csrf import require_csrf
from vks.web.rendering import render
from vks.web.session import CurrentViewer, Viewer, container_of

router = APIRouter()

SHOWN = 50
CHOSEN = (Channel.EMAIL, Channel.WEBHOOK)
"""The channels a person may turn off (the inbox is always on)."""


def _view(request: Request, viewer: Viewer, offset: int) -> dict[str, Any]:
    container = container_of(request)
    uow = container.reading_uow
    unread = notifying.inbox_page(uow(), viewer.principal, unread_only=True, limit=SHOWN)
    everything = notifying.inbox_page(uow(), viewer.principal, offset=offset, limit=SHOWN)
    prefs = notifying.preferences(uow(), viewer.principal)
    chosen = prefs.channels.get(EVERY_KIND, frozenset(Channel))
    return {
        "unread": list(unread.items),
        "unread_total": unread.total,
        "earlier": [n for n in everything.items if n.read],
        "total": everything.total,
        "offset": offset,
        "page_size": SHOWN,
        "email": prefs.email or "",
        "channels": {c.value: c in chosen for c in CHOSEN},
    }


@router.get("/inbox")
async def inbox(
    request: Request, viewer: CurrentViewer,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    notice: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:  # fmt: skip
    view = await run_in_threadpool(_view, request, viewer, offset)
    return render(request, "inbox.html", notice=notice, **view)


@router.post("/inbox/read-all", dependencies=[Depends(require_csrf)])
async def read_all(request: Request, viewer: CurrentViewer) -> Response:
    container = container_of(request)
    await run_in_threadpool(
        notifying.mark_all_read, container.uow_factory(), viewer.principal,
        now=container.clock.now(),
    )  # fmt: skip
    return RedirectResponse("/inbox?notice=read", status_code=303)


@router.post("/inbox/{notification_id}/read", dependencies=[Depends(require_csrf)])
async def read_one(request: Request, notification_id: str, viewer: CurrentViewer) -> Response:
    container = container_of(request)
    await run_in_threadpool(
        notifying.mark_read, container.uow_factory(), viewer.principal, notification_id,
        now=container.clock.now(),
    )  # fmt: skip
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/preferences", dependencies=[Depends(require_csrf)])
async def save_preferences(
    request: Request, viewer: CurrentViewer,
    email: Annotated[str, Form(max_length=254)] = "",
    channels: Annotated[list[Channel] | None, Form(alias="channel")] = None,
) -> Response:  # fmt: skip
    container = container_of(request)
    await run_in_threadpool(
        lambda: notifying.set_preferences(
            container.uow_factory(), viewer.principal, {EVERY_KIND: set(channels or ())},
            email=email, change_email=True,
        )
    )  # fmt: skip
    return RedirectResponse("/inbox?notice=saved", status_code=303)
