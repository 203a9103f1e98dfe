"""The monitor's HTTP API (FastAPI router), mounted by the service's app.

    GET  /monitor/devices?site=&network=&municipality=&kind=&state=   current state of each
    GET  /monitor/devices/{kind}/{id}                                 one device, uptime today
                                                                      and this month
    GET  /monitor/devices/{kind}/{id}/history?since=&until=          its transitions
    GET  /monitor/devices/{kind}/{id}/uptime?month=2026-11            per day of a month
    GET  /monitor/lessons/at-risk?hours=24                            lessons at risk, why
    GET  /monitor/alerts?status=open|acknowledged|active|resolved     alerts
    POST /monitor/alerts/{id}/ack   {"note": "…"}                     acknowledge one
    POST /monitor/push/terminals/{id}?token=…                         terminal feedback
    GET  /metrics                                   Prometheus (`metrics_router`, at the root)

Lists answer pages like every list of the API (`offset`, `limit`; `items`, `total`,
`links`); a device's history and the alerts count their newest 5,000 and 2,000 rows.

Everyone with read access sees the devices, lessons and alerts of their organisation
subtree (the RCC sees everything, conference servers included); acknowledging stops an
alert's escalation, so it needs an operating role (`Action.ACKNOWLEDGE`) and the alert's
device in scope. Push feedback is authenticated by the per-terminal token in
its URL (`vks.monitor.push`), not by a user.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field

from booking.access import Action, Principal, authorize, scope_of
from booking.errors import Forbidden, InvalidInput, NotFound
from booking.health import DeviceKind, HealthState, Uptime, month_total
from booking.health_records import AlertRow, DeviceView, within
from booking.health_store import HealthStore
from vks.api.pagination import PageParams, Paging, page
from vks.api.schemas.common import Id, Page
from vks.monitor.metrics import CONTENT_TYPE_LATEST, render
from vks.monitor.push import Push, parse_push, valid_token
from vks.monitor.wording import display_name

PushTarget = Callable[[str, Push], Awaitable[bool]]
"""Hands a push to the monitor of this process (on whatever loop it runs); False if that
monitor does not poll the terminal."""


@dataclass
class MonitorApi:
    """What the router needs from the composition root."""

    store: HealthStore
    principal: Callable[..., Any]
    """A FastAPI dependency giving the authenticated `Principal`."""
    secret_key: str
    push_target: PushTarget | None = None
    """Where push feedback goes; None: `app.state.monitor_push` if a monitor was attached to
    the app later, else the push is answered 202 but not acted on (no monitor in this
    process) — unless it says a call ended and the automation runs here."""
    time_zone: str = "Asia/Novokuznetsk"
    acknowledged: Callable[[Principal, AlertRow], object] | None = None
    """Told after an operator acknowledged an alert (the audit trail records it)."""


class DeviceOut(BaseModel):
    kind: DeviceKind
    id: str
    name: str
    site_id: str | None
    site_name: str
    org_path: str
    state: HealthState
    since: datetime | None
    cause: str
    last_poll_at: datetime | None
    rtt_ms: float | None
    in_call: bool | None


class UptimeOut(BaseModel):
    period: str
    ok_s: float
    degraded_s: float
    down_s: float
    unknown_s: float
    polls: int
    failures: int
    availability: float | None
    mean_rtt_ms: float | None


class DeviceDetailOut(DeviceOut):
    today: UptimeOut
    month: UptimeOut


class TransitionOut(BaseModel):
    at: datetime
    from_state: HealthState
    to_state: HealthState
    cause: str
    details: dict[str, Any]


class AtRiskOut(BaseModel):
    occurrence_id: str
    title: str
    kind: str
    state: str
    start: datetime
    end: datetime
    terminal_ids: list[str]
    server_id: str | None
    reason: str
    since: datetime | None  # flagged without a break since (null: since unknown)


class AlertOut(BaseModel):
    id: str
    kind: DeviceKind
    device_id: str
    status: str
    severity: HealthState
    cause: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    level: int
    flaps: int
    acked_by: str | None
    acked_at: datetime | None
    ack_note: str


class AckIn(BaseModel):
    note: str = Field(default="", max_length=2000)


def _device(view: DeviceView) -> dict[str, Any]:
    d, s = view.device, view.state
    return {
        "kind": d.kind,
        "id": d.id,
        "name": display_name(d),
        "site_id": d.site_id,
        "site_name": d.site_name,
        "org_path": d.org_path,
        "state": s.state,
        "since": s.since,
        "cause": s.cause,
        "last_poll_at": s.last_poll_at,
        "rtt_ms": s.rtt_ms,
        "in_call": s.in_call,
    }


def _uptime(period: str, u: Uptime) -> UptimeOut:
    return UptimeOut(
        period=period,
        ok_s=round(u.ok_s, 1),
        degraded_s=round(u.degraded_s, 1),
        down_s=round(u.down_s, 1),
        unknown_s=round(u.unknown_s, 1),
        polls=u.polls,
        failures=u.failures,
        availability=None if u.availability is None else round(u.availability, 5),
        mean_rtt_ms=None if u.mean_rtt_ms is None else round(u.mean_rtt_ms, 1),
    )


def _alert(a: AlertRow) -> AlertOut:
    return AlertOut(
        id=a.id,
        kind=a.kind,
        device_id=a.device_id,
        status=a.status,
        severity=a.severity,
        cause=a.cause,
        opened_at=a.opened_at,
        updated_at=a.updated_at,
        resolved_at=a.resolved_at,
        level=a.level,
        flaps=a.flaps,
        acked_by=a.acked_by,
        acked_at=a.acked_at,
        ack_note=a.ack_note,
    )


HISTORY_ROWS = 5000  # the newest transitions of a device that its history pages through
ALERT_ROWS = 2000  # the newest alerts the alert list pages through


def _page(request: Request, paging: PageParams, rows: Sequence[Any]) -> dict[str, Any]:
    """One page of a list read whole (the roster, the lessons at risk) or capped."""
    chosen = rows[paging.offset : paging.offset + paging.limit]
    return page(request, paging, chosen, len(rows))


def _scope(principal: Principal) -> str | None:
    """The org subtree the principal sees (None: everything)."""
    return scope_of(principal)


def _month_range(month: str | None, today: date) -> tuple[date, date]:
    if month is None:
        first = today.replace(day=1)
    else:
        try:
            first = datetime.strptime(month, "%Y-%m").date()
        except ValueError:
            raise InvalidInput("month must look like 2026-11", field="month") from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def build_router(api: MonitorApi) -> APIRouter:
    from zoneinfo import ZoneInfo

    router = APIRouter()
    store = api.store
    zone = ZoneInfo(api.time_zone)
    current = Depends(api.principal)

    def readable(principal: Principal) -> None:
        authorize(principal, Action.READ)

    def device_view(principal: Principal, kind: DeviceKind, device_id: str) -> DeviceView:
        view = store.device(kind, device_id)
        scope = _scope(principal)
        if view is None or (scope is not None and not within(view.device.org_path, scope)):
            raise NotFound(f"no {kind} {device_id!r}", kind=str(kind), id=device_id)
        return view

    @router.get("/monitor/devices", response_model=Page[DeviceOut], tags=["monitor"])
    def list_devices(
        request: Request,
        paging: Paging,
        site: Id | None = None,
        network: Id | None = None,
        municipality: Id | None = None,
        kind: list[DeviceKind] | None = Query(default=None),
        state: list[HealthState] | None = Query(default=None),
        principal: Principal = current,
    ) -> dict[str, Any]:
        readable(principal)
        paths = []
        for field, org_id in (("site", site), ("network", network), ("municipality", municipality)):
            if org_id:
                path = store.org_path(org_id)
                if path is None:
                    raise NotFound(f"no organisation {org_id!r}", field=field)
                paths.append(path)
        scope = _scope(principal)
        if scope is not None:
            paths.append(scope)
        path = max(paths, key=len) if paths else None
        if path is not None and any(not within(path, p) for p in paths):
            return _page(request, paging, [])  # disjoint filters
        views = store.devices(path=path, kinds=kind, states=state)
        return _page(request, paging, [_device(v) for v in views])

    @router.get(
        "/monitor/devices/{kind}/{device_id}", response_model=DeviceDetailOut, tags=["monitor"]
    )
    def get_device(
        kind: DeviceKind, device_id: str, principal: Principal = current
    ) -> dict[str, Any]:
        readable(principal)
        view = device_view(principal, kind, device_id)
        today = datetime.now(zone).date()
        first, last = _month_range(None, today)
        days = store.uptime(kind, device_id, first, last)
        today_total = month_total(r.uptime for r in days if r.day == today)
        return {
            **_device(view),
            "today": _uptime(today.isoformat(), today_total),
            "month": _uptime(first.strftime("%Y-%m"), month_total(r.uptime for r in days)),
        }

    @router.get(
        "/monitor/devices/{kind}/{device_id}/history",
        response_model=Page[TransitionOut],
        tags=["monitor"],
    )
    def device_history(
        request: Request,
        paging: Paging,
        kind: DeviceKind,
        device_id: Id,
        since: datetime | None = None,
        until: datetime | None = None,
        principal: Principal = current,
    ) -> dict[str, Any]:
        readable(principal)
        device_view(principal, kind, device_id)
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise InvalidInput(f"{name} needs a time zone", field=name)
        rows = store.history(kind, device_id, start=since, end=until, limit=HISTORY_ROWS)
        transitions = [
            TransitionOut(
                at=r.at,
                from_state=r.from_state,
                to_state=r.to_state,
                cause=r.cause,
                details=r.details,
            )
            for r in rows
        ]
        return _page(request, paging, transitions)

    @router.get(
        "/monitor/devices/{kind}/{device_id}/uptime",
        response_model=list[UptimeOut],
        tags=["monitor"],
    )
    def device_uptime(
        kind: DeviceKind,
        device_id: str,
        month: str | None = Query(default=None, pattern=r"^\d{4}-\d{2}$"),
        principal: Principal = current,
    ) -> list[UptimeOut]:
        readable(principal)
        device_view(principal, kind, device_id)
        first, last = _month_range(month, datetime.now(zone).date())
        days = store.uptime(kind, device_id, first, last)
        out = [_uptime(r.day.isoformat(), r.uptime) for r in days]
        out.append(_uptime(first.strftime("%Y-%m"), month_total(r.uptime for r in days)))
        return out

    @router.get("/monitor/lessons/at-risk", response_model=Page[AtRiskOut], tags=["monitor"])
    def lessons_at_risk(
        request: Request,
        paging: Paging,
        hours: float = Query(default=24.0, gt=0, le=24 * 14),
        principal: Principal = current,
    ) -> dict[str, Any]:
        readable(principal)
        now = datetime.now(zone)
        rows = store.at_risk(now, now + timedelta(hours=hours), path=_scope(principal))
        at_risk = [
            AtRiskOut(
                occurrence_id=r.occurrence_id,
                title=r.title,
                kind=r.kind.value,
                state=r.state.value,
                start=r.start,
                end=r.end,
                terminal_ids=r.terminal_ids,
                server_id=r.server_id,
                reason=r.at_risk,
                since=r.at_risk_since,
            )
            for r in rows
        ]
        return _page(request, paging, at_risk)

    @router.get("/monitor/alerts", response_model=Page[AlertOut], tags=["monitor"])
    def list_alerts(
        request: Request,
        paging: Paging,
        status: Literal["open", "acknowledged", "active", "resolved"] | None = None,
        kind: DeviceKind | None = None,
        device_id: Id | None = None,
        principal: Principal = current,
    ) -> dict[str, Any]:
        readable(principal)
        rows = store.alerts(
            status=status, path=_scope(principal), kind=kind, device_id=device_id,
            limit=ALERT_ROWS,
        )  # fmt: skip
        return _page(request, paging, [_alert(a) for a in rows])

    @router.post("/monitor/alerts/{alert_id}/ack", response_model=AlertOut, tags=["monitor"])
    def acknowledge(
        alert_id: str, body: AckIn | None = None, principal: Principal = current
    ) -> AlertOut:
        readable(principal)
        alert = store.alert(alert_id)
        scope = _scope(principal)
        if alert is None or (scope is not None and not within(alert.org_path, scope)):
            raise NotFound(f"no alert {alert_id!r}", id=alert_id)
        authorize(principal, Action.ACKNOWLEDGE)  # after the 404: nothing leaks about others
        acked = store.acknowledge(
            alert_id, principal.user_id, (body.note if body else ""), datetime.now(zone)
        )
        assert acked is not None
        if api.acknowledged is not None:
            api.acknowledged(principal, acked)
        return _alert(acked)

    return router


def push_router(api: MonitorApi) -> APIRouter:
    """Terminal push feedback, authenticated by the per-terminal token of its URL."""
    router = APIRouter()

    @router.post("/monitor/push/terminals/{terminal_id}", status_code=202, tags=["monitor"])
    async def push(terminal_id: str, request: Request, token: str = "") -> dict[str, Any]:
        if not token or not valid_token(api.secret_key, terminal_id, token):
            raise Forbidden("bad or missing push token", terminal_id=terminal_id)
        news = parse_push(await request.body(), request.headers.get("content-type", ""))
        redial = await _redial_on_drop(request, terminal_id, news)
        target = api.push_target or getattr(request.app.state, "monitor_push", None)
        if target is None:
            if redial is not None:
                return {"accepted": True, "in_call": news.in_call, "redial": redial}
            # with Redis the monitors run in the workers and `vks monitor`, not here: the
            # terminal's feedback is no error; the monitor polling it reads the same state
            return {
                "accepted": False,
                "in_call": news.in_call,
                "reason": "no monitor runs in this process: the terminal's state is read"
                " at its monitor's next poll (point feedback at `vks monitor` to act on it"
                " at once)",
            }
        accepted = await target(terminal_id, news)
        answer: dict[str, Any] = {"accepted": accepted, "in_call": news.in_call}
        if redial is not None:
            answer["redial"] = redial
        return answer

    return router


async def _redial_on_drop(request: Request, terminal_id: str, news: Push) -> list[str] | None:
    """A call that ended is news for the automation too: if it runs in this process, the
    lessons that lost the terminal redial it now (`AutomationHook.call_ended`) instead of
    at the reconciler's next look at their rooms. None when no automation runs here or
    the push is not about an ended call; else the occurrences made due."""
    if not news.ended:
        return None
    container = getattr(request.app.state, "container", None)
    if container is None:
        return None
    from vks.jobs.assembly import running_automation  # the API's optional automation

    running = running_automation(container.listeners)
    if running is None:
        return None
    made_due = await asyncio.to_thread(running.hook.call_ended, terminal_id, news.status)
    return sorted(made_due)


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    """`GET /metrics` in the Prometheus text format (mounted at the root, by convention)."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(render(registry), media_type=CONTENT_TYPE_LATEST)

    return router


__all__ = ["MonitorApi", "build_router", "metrics_router", "push_router"]
