"""Equipment of the viewer's scope: terminals, cameras and (for the RCC) conference
servers with their health state and last change; one device with its uptime over 30 days
(a small inline SVG chart) and its transitions; alerts to acknowledge (operating roles);
a camera's snapshot and its preset buttons (operators, outside a lesson); a server's open
rooms and load. Read from the monitor's store with the same scoping as
`/api/v1/monitor/…`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.access import Action, authorize, scope_of
from booking.errors import NotFound
from booking.health import DeviceKind, HealthState
from booking.health_records import DeviceView, within
from booking.health_store import HealthStore
from booking.services import inventory
from vks.bootstrap import health_store
from vks.web.csrf import require_csrf
from vks.web.rendering import render
from vks.web.session import CurrentViewer, Viewer, container_of

router = APIRouter()

UPTIME_DAYS = 30
ALERT_ROWS = 200


def _store(request: Request) -> HealthStore:
    cached: HealthStore | None = getattr(request.app.state, "web_health_store", None)
    if cached is None:
        engine = container_of(request).engine
        if engine is None:
            raise NotFound("no device health is kept by this service")
        cached = health_store(engine)
        request.app.state.web_health_store = cached
    return cached


@dataclass
class Bar:
    day: str
    share: float | None  # availability that day


def _view(store: HealthStore, viewer: Viewer, kind: DeviceKind, device_id: str) -> DeviceView:
    authorize(viewer.principal, Action.READ)
    view = store.device(kind, device_id)
    scope = scope_of(viewer.principal)
    if view is None or (scope is not None and not within(view.device.org_path, scope)):
        raise NotFound(f"no {kind} {device_id!r} in your scope", kind=str(kind), id=device_id)
    return view


def _alerted(store: Any, views: list[Any], alerts: list[Any]) -> dict[tuple[str, str], Any]:
    """The alerts' devices by (kind, id), to name them: from the page's list, else read
    (a filtered list may leave an alerted device out)."""
    known = {(v.device.kind.value, v.device.id): v.device for v in views}
    for alert in alerts:
        key = (alert.kind.value, alert.device_id)
        if key not in known:
            view = store.device(alert.kind, alert.device_id)
            known[key] = view.device if view is not None else None
    return {key: device for key, device in known.items() if device is not None}


@router.get("/equipment")
async def equipment(
    request: Request,
    viewer: CurrentViewer,
    kind: Annotated[DeviceKind | None, Query()] = None,
    state: Annotated[HealthState | None, Query()] = None,
) -> Response:
    store = _store(request)

    def load() -> dict[str, Any]:
        authorize(viewer.principal, Action.READ)
        scope = scope_of(viewer.principal)
        views = store.devices(
            path=scope, kinds=[kind] if kind else None, states=[state] if state else None
        )
        alerts = store.alerts(status="active", path=scope, limit=ALERT_ROWS)
        return {"views": views, "alerts": alerts, "alerted": _alerted(store, views, alerts)}

    found = await run_in_threadpool(load)
    return render(
        request, "equipment.html", kind=kind.value if kind else "",
        state=state.value if state else "", kinds=list(DeviceKind), states=list(HealthState),
        can_ack=viewer.principal.can(Action.ACKNOWLEDGE), **found,
    )  # fmt: skip


def _bars(store: HealthStore, kind: DeviceKind, device_id: str, today: Any) -> list[Bar]:
    first = today - timedelta(days=UPTIME_DAYS - 1)
    days = {r.day: r.uptime for r in store.uptime(kind, device_id, first, today)}
    bars = []
    for n in range(UPTIME_DAYS):
        day = first + timedelta(days=n)
        uptime = days.get(day)
        bars.append(Bar(day.isoformat(), uptime.availability if uptime else None))
    return bars


@router.get("/equipment/terminals/{device_id}")
async def terminal(request: Request, device_id: str, viewer: CurrentViewer) -> Response:
    return await device(request, DeviceKind.TERMINAL, device_id, viewer)


@router.get("/equipment/cameras/{device_id}")
async def camera(
    request: Request, device_id: str, viewer: CurrentViewer,
    moved: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:  # fmt: skip
    return await device(request, DeviceKind.CAMERA, device_id, viewer, moved=moved)


@router.get("/equipment/servers/{device_id}")
async def server(request: Request, device_id: str, viewer: CurrentViewer) -> Response:
    return await device(request, DeviceKind.SERVER, device_id, viewer)


async def device(
    request: Request, kind: DeviceKind, device_id: str, viewer: Viewer, moved: str | None = None
) -> Response:
    container = container_of(request)
    store = _store(request)

    def load() -> dict[str, Any]:
        view = _view(store, viewer, kind, device_id)
        today = container.clock.now().astimezone(viewer.zone).date()
        history = store.history(kind, device_id, limit=20)
        alerts = store.alerts(path=None, kind=kind, device_id=device_id, limit=20)
        extra: dict[str, Any] = {}
        if kind is DeviceKind.CAMERA and viewer.principal.can(Action.OPERATE):
            extra["presets"] = inventory.get_camera(
                container.reading_uow(), viewer.principal, device_id
            ).presets
        if kind is DeviceKind.SERVER and container.engine is not None:
            from adapters.storage.automation import SqlAutomationStore

            automation = SqlAutomationStore(container.engine)
            extra["rooms"] = automation.open_rooms_on(device_id)
        return {"view": view, "bars": _bars(store, kind, device_id, today),
                "history": history, "alerts": alerts, **extra}  # fmt: skip

    found = await run_in_threadpool(load)
    return render(
        request, "device.html", kind=kind.value,
        can_operate=viewer.principal.can(Action.OPERATE),
        can_ack=viewer.principal.can(Action.ACKNOWLEDGE), moved=moved, **found,
    )  # fmt: skip


@router.get("/equipment/cameras/{camera_id}/snapshot.jpg")
async def snapshot(request: Request, camera_id: str, viewer: CurrentViewer) -> Response:
    """What the camera sees now (operators: `GET /api/v1/cameras/{id}/snapshot`'s code)."""
    from vks.automation.api import snapshot as camera_snapshot
    from vks.web.operating import context

    container = container_of(request)
    return await run_in_threadpool(camera_snapshot, camera_id, context(container, viewer))


@router.post("/equipment/cameras/{camera_id}/preset", dependencies=[Depends(require_csrf)])
async def camera_preset(
    request: Request, camera_id: str, viewer: CurrentViewer,
    preset: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:  # fmt: skip
    """The camera to one of its presets outside a lesson (operators of its site)."""
    from vks.web.operating import camera_to_preset

    container = container_of(request)
    moved = await run_in_threadpool(camera_to_preset, container, viewer, camera_id, preset)
    return RedirectResponse(
        f"/equipment/cameras/{quote(camera_id)}?moved={quote(moved)}", status_code=303
    )


@router.post("/equipment/alerts/{alert_id}/ack", dependencies=[Depends(require_csrf)])
async def acknowledge(
    request: Request, alert_id: str, viewer: CurrentViewer,
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=300)] = "/equipment",
) -> Response:  # fmt: skip
    container = container_of(request)
    store = _store(request)

    def act() -> None:
        alert = store.alert(alert_id)
        scope = scope_of(viewer.principal)
        if alert is None or (scope is not None and not within(alert.org_path, scope)):
            raise NotFound(f"no alert {alert_id!r}", id=alert_id)
        authorize(viewer.principal, Action.ACKNOWLEDGE)
        store.acknowledge(alert_id, viewer.principal.user_id, note, container.clock.now())

    await run_in_threadpool(act)
    from vks.web.pages.login import safe_next

    return RedirectResponse(safe_next(back), status_code=303)
