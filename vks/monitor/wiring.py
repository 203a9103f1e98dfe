"""How the monitor joins the service: its routes and metrics in the API app, a monitor in
the API process (embedded mode, `vks demo`), in a worker, or on its own (`vks monitor`).

    install(app, container)        routes under /api/v1/monitor, /metrics, the DB gauges
    attach_monitor(app, container) a monitor in a background thread of this process; push
                                   feedback reaches it; returns how to stop it
    worker_monitor(settings)       the same in a `vks worker` process (a start-up hook)
    run_monitor(settings, port)    `vks monitor`: the monitor on uvloop in the foreground,
                                   with /metrics and push feedback on its own port (with
                                   Redis, a pushed "call ended" is a redial job for the
                                   workers)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from adapters.notify.channel import Channel
from booking.access import Principal
from booking.health_records import AlertRow
from booking.health_store import HealthStore
from vks.bootstrap import health_store, open_engine
from vks.monitor.api import MonitorApi, build_router, metrics_router, push_router
from vks.monitor.config import MonitorConfig
from vks.monitor.embedded import MonitorThread
from vks.monitor.figures import embedded_queue, reader, rq_queue, rq_workers
from vks.monitor.metrics import DatabaseCollector, new_registry
from vks.monitor.push import Push
from vks.monitor.service import Monitor, channels_from
from vks.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
Stop = Callable[[], None]
BackInACall = Callable[[list[str]], None]
CallEnded = Callable[[str, str], None]


def database_collector(store: HealthStore, settings: Settings, config: MonitorConfig) -> Any:
    if settings.redis_url:
        queues, workers = rq_queue(settings.redis_url), rq_workers(settings.redis_url)
        return DatabaseCollector(reader(store, config.time_zone, queues, workers))
    return DatabaseCollector(reader(store, config.time_zone, embedded_queue(store)))


def build_monitor(
    store: HealthStore,
    settings: Settings,
    registry: CollectorRegistry | None = None,
    config: MonitorConfig | None = None,
    back_in_a_call: BackInACall | None = None,
    engine: Any = None,
) -> Monitor:
    """The monitor; with the database's `engine` and `VKS_NOTIFY_MONITOR_ALERTS`, its alerts
    reach people's inboxes too."""
    config = config or MonitorConfig.from_settings(settings)
    channels = channels_from(config.alerts)
    if engine is not None and settings.notify_monitor_alerts:
        channels.append(inbox_channel(engine, settings))
    return Monitor(
        store,
        config,
        channels=channels,
        registry=registry,
        back_in_a_call=back_in_a_call or workers_hang_up(settings),
    )


def inbox_channel(engine: Any, settings: Settings) -> Channel:
    from vks.notifications.wiring import inbox_channel as people_inbox

    return people_inbox(engine, settings)


def audit_acknowledgement(container: Any, principal: Principal, alert: AlertRow) -> None:
    """Record an operator's acknowledgement of an alert in the audit trail."""
    from booking.audit import ALERT_ACKNOWLEDGED
    from booking.services.auditing import record_action

    record_action(
        container.uow_factory(),
        principal,
        ALERT_ACKNOWLEDGED,
        now=container.clock.now(),
        object_type="alert",
        object_id=alert.id,
        org_path=alert.org_path,
        summary=f"{alert.kind.value} {alert.device_id}: {alert.cause}",
        details={"device_id": alert.device_id, "note": alert.ack_note},
    )


def workers_hang_up(settings: Settings) -> BackInACall | None:
    """With Redis, terminals back online in a call are a job for any automation worker
    (`vks.jobs.tasks.hang_up_strays`); without, see `attach_monitor`."""
    if not settings.redis_url:
        return None
    from vks.jobs.redis_queue import RqWaker, queue_for, redis_client

    waker = RqWaker(queue_for(redis_client(settings.redis_url, timeout_s=settings.redis_timeout_s)))
    return waker.hang_up_strays


def workers_redial(settings: Settings) -> CallEnded | None:
    """With Redis, a terminal's pushed "call ended" received where no automation runs (`vks
    monitor`) is a job for any automation worker (`vks.jobs.tasks.call_ended`): its lesson
    redials it at once instead of at the reconciler's next look at the rooms."""
    if not settings.redis_url:
        return None
    from vks.jobs.redis_queue import RqWaker, queue_for, redis_client

    waker = RqWaker(queue_for(redis_client(settings.redis_url, timeout_s=settings.redis_timeout_s)))
    return waker.call_ended


def this_process_hangs_up(container: Any) -> BackInACall:
    """Without Redis: the automation running in this process (embedded mode, the demo)
    hangs up the terminals back online in a call, on its own event loop."""

    def hang_up(terminal_ids: list[str]) -> None:
        from vks.jobs.assembly import running_automation

        running = running_automation(container.listeners)
        if running is not None:
            running.run(running.automation.hang_up_strays(terminal_ids))

    return hang_up


def install(app: FastAPI, container: Any) -> None:
    """The monitor's API routes, `/metrics` and the database gauges, in the service's app."""
    from vks.api.dependencies import current_principal

    settings: Settings = container.settings
    store = health_store(container.engine)
    config = MonitorConfig.from_settings(settings)
    registry = new_registry()
    registry.register(database_collector(store, settings, config))
    app.state.metrics_registry = registry
    api = MonitorApi(
        store=store,
        principal=current_principal,
        secret_key=settings.secret_key,
        time_zone=settings.monitor_time_zone,
        acknowledged=lambda principal, alert: audit_acknowledgement(container, principal, alert),
    )
    app.include_router(build_router(api), prefix=PREFIX)
    app.include_router(push_router(api), prefix=PREFIX)
    app.include_router(metrics_router(registry))


def attach_monitor(
    app: FastAPI | None, container: Any, config: MonitorConfig | None = None
) -> Stop:
    """Start a monitor in a background thread of this process (embedded mode, the demo, a
    worker); with an app, its poll metrics join the app's `/metrics` and terminal push
    feedback reaches it. `config` defaults to the settings'."""
    registry = getattr(app.state, "metrics_registry", None) if app is not None else None
    store = health_store(container.engine)
    settings: Settings = container.settings
    back = workers_hang_up(settings) or this_process_hangs_up(container)
    thread = MonitorThread(build_monitor(store, settings, registry, config, back, container.engine))
    thread.start()

    async def push(terminal_id: str, news: Push) -> bool:
        return await run_in_threadpool(thread.push, terminal_id, news)

    if app is not None:
        app.state.monitor_push = push

    def stop() -> None:
        if app is not None and getattr(app.state, "monitor_push", None) is push:
            app.state.monitor_push = None
        thread.stop()

    return stop


def worker_monitor(settings: Settings) -> Callable[[], object]:
    """A start-up hook for `vks worker`: a monitor in a background thread of the worker
    process (stopped at exit, its shards given back)."""

    def start() -> object:
        import atexit

        engine = open_engine(settings)
        thread = MonitorThread(build_monitor(health_store(engine), settings, engine=engine))
        thread.start()

        def stop() -> None:
            thread.stop()
            engine.dispose()

        atexit.register(stop)
        return thread

    return start


def monitor_app(monitor: Monitor, registry: CollectorRegistry, settings: Settings) -> FastAPI:
    """What `vks monitor` serves on its port: `/metrics`, terminal push feedback, liveness."""
    app = FastAPI(title="vks monitor", docs_url=None, redoc_url=None, openapi_url=None)
    from vks.api import problems

    problems.install(app)

    redial = workers_redial(settings)

    async def push(terminal_id: str, news: Push) -> bool:
        if news.ended and redial is not None:
            await asyncio.to_thread(redial, terminal_id, news.status)
        return monitor.push(terminal_id, news)  # same event loop

    def nobody() -> None:
        from booking.errors import Forbidden

        raise Forbidden("this port serves metrics and terminal feedback only")

    api = MonitorApi(
        store=monitor.store,
        principal=nobody,
        secret_key=settings.secret_key,
        push_target=push,
        time_zone=settings.monitor_time_zone,
    )
    app.include_router(push_router(api), prefix=PREFIX)
    app.include_router(metrics_router(registry))

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "devices": len(monitor.poller.slots)}

    return app


def run_monitor(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    """`vks monitor`: poll until SIGINT/SIGTERM. Several may run: they split the devices."""
    import uvicorn
    import uvloop

    engine = open_engine(settings)
    store = health_store(engine)
    config = MonitorConfig.from_settings(settings)
    registry = new_registry()
    registry.register(database_collector(store, settings, config))
    monitor = build_monitor(store, settings, registry, engine=engine)
    listen_port = settings.monitor_port if port is None else port
    server = uvicorn.Server(
        uvicorn.Config(
            monitor_app(monitor, registry, settings),
            host=host or settings.host,
            port=listen_port,
            log_level="warning",
            loop="none",
            lifespan="off",
        )
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await monitor.start()
        serving = asyncio.create_task(server.serve()) if listen_port else None
        print(
            f"vks monitor {monitor.instance}: {len(monitor.poller.slots)} devices in "
            f"{len(monitor.leases.owned)} of {config.shards} shards"
            + (
                f"; metrics on http://{host or settings.host}:{listen_port}/metrics"
                if listen_port
                else ""
            ),
            flush=True,
        )
        try:
            await stop.wait()
        finally:
            server.should_exit = True
            if serving is not None:
                with contextlib.suppress(Exception):
                    await serving
            await monitor.stop()

    try:
        uvloop.run(main())
    finally:
        engine.dispose()
    return 0
