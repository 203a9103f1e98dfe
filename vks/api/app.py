"""The FastAPI application: routers under /api/v1, problem+json errors, idempotency keys
on POST, and a background sweep that releases expired tentative holds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from booking.services import bookings, sessions
from vks.api import health, problems
from vks.api.body_limit import BodyLimitMiddleware
from vks.api.hot import HotRoutes
from vks.api.idempotency import IdempotencyMiddleware
from vks.api.routes import audit as audit_routes
from vks.api.routes import (
    auth,
    availability,
    cameras,
    feeds,
    occurrences,
    organisations,
    recurring,
    reports,
    schooltime,
    servers,
    sites,
    terminals,
    timetable,
    users,
    workflow,
)
from vks.api.routes import bookings as booking_routes
from vks.api.routes import grid as grid_routes
from vks.api.routes import invitations as invitation_routes
from vks.api.routes import joint as joint_routes
from vks.api.routes import notifications as notification_routes
from vks.bootstrap import Container, build_container
from vks.settings import Settings, get_settings

log = logging.getLogger(__name__)

PREFIX = "/api/v1"

DESCRIPTION = """
Booking of the videoconferencing (VKS) equipment of the Regional Coordination Center:
terminals, cameras and conference servers for distance lessons across the region's
schools, in their own time zones.

* **Auth**: `POST /api/v1/auth/login` gives a bearer token; service accounts get one from
  `vks token create`. Roles are scoped to an organisation subtree.
* **Errors** are RFC 9457 `application/problem+json` with a stable `code`; a booking
  conflict (409) lists every conflicting occurrence and proposes alternatives.
* **Retries**: every POST takes an `Idempotency-Key`; replacements (PUT) need `If-Match`
  with the resource's `ETag`.
* **Times**: instants carry a time zone (naive ones are refused); lessons are addressed by
  the school's bells and local dates.
"""

ROUTERS = (
    auth.router,
    users.router,
    organisations.router,
    sites.router,
    terminals.router,
    cameras.router,
    servers.router,
    schooltime.router,
    booking_routes.router,
    occurrences.router,
    timetable.router,
    availability.router,
    joint_routes.router,
    grid_routes.router,
    invitation_routes.router,
    feeds.router,
    notification_routes.router,
    notification_routes.deadlines_router,
    audit_routes.router,
    recurring.router,
    workflow.router,
    reports.router,
    reports.lessons,
)


def sweep(container: Container) -> tuple[list[str], int]:
    """The periodic housekeeping of the booking API: release expired holds (creation
    also does it when they block), delete expired idempotency keys and the records of
    tokens long ended. The released holds reach the automation like any change: their
    events, published after the commit. Answers the holds released and the keys and
    records deleted."""
    now = container.clock.now()
    released = bookings.expire_holds(container.uow_factory(), now=now)
    purged = container.idempotency.purge_expired(now) if container.idempotency else 0
    kept = timedelta(days=container.settings.token_record_days)
    purged += sessions.forget_ended_tokens(container.uow_factory(), now, kept)
    return released, purged


async def _sweep_holds(container: Container) -> None:
    """`sweep` every `hold_sweep_seconds`."""
    every = container.settings.hold_sweep_seconds
    while True:
        await asyncio.sleep(every)
        try:
            released, purged = await run_in_threadpool(sweep, container)
            if released or purged:
                log.info("released %d expired holds, purged %d keys and token records",
                         len(released), purged)  # fmt: skip
        except Exception:
            log.exception("sweeping expired holds and idempotency keys failed")


async def _send_notifications(container: Container) -> None:
    """The notifications' round every `notify_delivery_seconds`: the automation's lesson
    facts told, deadlines reminded, the outbox sent (e-mail, webhook)."""
    from vks.bootstrap import automation_events
    from vks.notifications.lessons import LessonFacts
    from vks.notifications.wiring import NotificationRound, notify_config, outbox_delivery

    settings = container.settings
    delivery, channels = outbox_delivery(settings, container.uow_factory)
    lessons = None
    if container.engine is not None:
        lessons = LessonFacts(automation_events(container.engine), container.bus)
    notifier = NotificationRound(container.uow_factory, delivery, notify_config(settings), lessons)
    try:
        while True:
            await asyncio.sleep(settings.notify_delivery_seconds)
            try:
                await notifier.run(container.clock.now())
            except Exception:
                log.exception("a round of notifications failed")
    finally:
        for channel in channels:
            await channel.aclose()


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """The API over the database of `settings` (or over a ready `container`, which the
    caller then owns and closes)."""
    owned = container is None
    if container is None:
        container = build_container(settings or get_settings())
    ready = container

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if ready.settings.hold_sweep_seconds > 0:
            tasks.append(asyncio.create_task(_sweep_holds(ready)))
        if ready.settings.notify_delivery_seconds > 0:
            tasks.append(asyncio.create_task(_send_notifications(ready)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owned:
                ready.close()

    app = FastAPI(
        # No OpenTelemetry here (metrics: Prometheus, vks/monitor/metrics.py): without this,
        # FastAPI asks the global OpenTelemetry providers on every request whether they are
        # configured — ~6 % of a read's CPU through `vks serve` (ADR 0025).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="VKS — booking and automation of the RCC's videoconferencing equipment",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.container = container
    problems.install(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyLimitMiddleware, settings=container.settings)
    app.add_middleware(HotRoutes)  # outermost: the hot routes without the layers (ADR 0025)
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX)
    from vks.automation.api import cameras_router as automation_cameras
    from vks.automation.api import router as automation_occurrences

    app.include_router(automation_occurrences, prefix=PREFIX)  # lifecycle, room, operations
    app.include_router(automation_cameras, prefix=PREFIX)  # camera snapshots
    from vks.monitor.wiring import install as install_monitor

    install_monitor(app, container)  # /api/v1/monitor/…, /metrics

    app.include_router(health.router, prefix=PREFIX)  # liveness and readiness
    from vks.web.site import install as install_web

    install_web(app)  # the web interface at / (pages, /static), after every API route

    return app
