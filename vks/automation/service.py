"""The automation of one process, assembled: store, planner, dispatcher, reconciler,
webhook deliverer — over one database engine and one set of devices. The runners
(`vks.jobs`) drive it; the API reaches it through `hook()`."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine

from adapters.storage.automation import SqlAutomationStore
from vks.automation.clock import Clock, SystemClock
from vks.automation.config import AutomationConfig
from vks.automation.devices import Devices
from vks.automation.dispatch import Dispatcher
from vks.automation.events import WebhookDeliverer
from vks.automation.hooks import AutomationHook, Waker
from vks.automation.planner import Planner
from vks.automation.reconciler import Reconciler


def worker_identity() -> str:
    """Who holds a lease: host, process and a random tag (a restarted process is new)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Automation:
    config: AutomationConfig
    clock: Clock
    store: SqlAutomationStore
    devices: Devices
    planner: Planner
    dispatcher: Dispatcher
    reconciler: Reconciler
    deliverer: WebhookDeliverer
    owner: str

    def hook(self, waker: Waker) -> AutomationHook:
        return AutomationHook(self.store, self.planner, waker, self.config, self.clock)

    async def warm_up(self) -> None:
        """Prepare the device clients before the first step (off the critical path)."""
        warm_up = getattr(self.devices, "warm_up", None)
        if warm_up is not None:
            await warm_up()

    async def close(self) -> None:
        """Close the device clients (call on the event loop that used them)."""
        close = getattr(self.devices, "close", None)
        if close is not None:
            await close()


def build_automation(
    engine: Engine,
    config: AutomationConfig,
    devices: Devices,
    *,
    clock: Clock | None = None,
    owner: str | None = None,
    store: SqlAutomationStore | None = None,
) -> Automation:
    clock = clock or SystemClock()
    owner = owner or worker_identity()
    store = store or SqlAutomationStore(engine)
    planner = Planner(store, config)
    return Automation(
        config=config,
        clock=clock,
        store=store,
        devices=devices,
        planner=planner,
        dispatcher=Dispatcher(store, devices, planner, config, clock, owner),
        reconciler=Reconciler(store, planner, devices, config, clock),
        deliverer=WebhookDeliverer(
            store,
            config.webhook_url,
            config.webhook_secret,
            timeout_s=config.webhook_timeout_s,
            retry_first=config.webhook_retry_first,
        ),
        owner=owner,
    )


def build_hardware_automation(
    engine: Engine,
    config: AutomationConfig,
    *,
    clock: Clock | None = None,
    owner: str | None = None,
    timeout_s: float = 5.0,
    attempts: int = 2,
) -> Automation:
    """The automation over the real adapters: the conference pool over the active servers
    stored in the database, terminals and cameras from their records."""
    from adapters.storage.unit_of_work import SqlUnitOfWork
    from vks.automation.hardware import HardwareDevices, build_pool
    from vks.automation.rooms import SqlRoomRegistry

    clock = clock or SystemClock()
    store = SqlAutomationStore(engine)
    registry = SqlRoomRegistry(store, clock)
    with SqlUnitOfWork(engine, read_only=True) as uow:
        servers = list(uow.servers.active())
    devices = HardwareDevices(
        build_pool(servers, registry), registry, timeout_s=timeout_s, attempts=attempts
    )
    return build_automation(engine, config, devices, clock=clock, owner=owner, store=store)
