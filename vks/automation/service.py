"""The automation of one process, assembled: store, planner, dispatcher, reconciler,
webhook deliverer — over one store (the ports of `booking.automation_store`) and one set
of devices. The runners
(`vks.jobs`) drive it; the API reaches it through `hook()`."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from booking.automation_store import AutomationStore
from booking.resources import ConferenceServer
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
    store: AutomationStore
    devices: Devices
    planner: Planner
    dispatcher: Dispatcher
    reconciler: Reconciler
    deliverer: WebhookDeliverer
    owner: str

    def hook(self, waker: Waker) -> AutomationHook:
        return AutomationHook(self.store, self.planner, waker, self.config, self.clock)

    async def hang_up_strays(self, terminal_ids: list[str]) -> dict[str, str]:
        """Terminals back online in a call (the health monitor saw them recover): hang up
        the calls no running occurrence explains; the address hung up per terminal."""
        return await self.dispatcher.stray.hang_up_unexplained(terminal_ids)

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
    store: AutomationStore,
    config: AutomationConfig,
    devices: Devices,
    *,
    clock: Clock | None = None,
    owner: str | None = None,
) -> Automation:
    """The automation over `store` and `devices` (the composition root, `vks.bootstrap`,
    passes the SQL store; specifications pass the in-memory one)."""
    clock = clock or SystemClock()
    owner = owner or worker_identity()
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
    store: AutomationStore,
    servers: Sequence[ConferenceServer],
    config: AutomationConfig,
    *,
    clock: Clock | None = None,
    owner: str | None = None,
    timeout_s: float = 5.0,
    attempts: int = 2,
) -> Automation:
    """The automation over the real device adapters: the conference pool over `servers`
    (the active ones), terminals and cameras from their records."""
    from vks.automation.hardware import HardwareDevices, build_pool
    from vks.automation.rooms import StoredRoomRegistry

    clock = clock or SystemClock()
    registry = StoredRoomRegistry(store, clock)
    devices = HardwareDevices(
        build_pool(servers, registry), registry, timeout_s=timeout_s, attempts=attempts
    )
    return build_automation(store, config, devices, clock=clock, owner=owner)
