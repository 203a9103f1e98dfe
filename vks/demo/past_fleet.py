"""The simulated devices the demo's past is lived on: a second fleet of the demo region
(every terminal, camera and conference server of `region.yaml`), in this process, on
ephemeral loopback ports, answering at once (no call set-up delay, no added latency) —
and the automation's devices pointed at it.

The database keeps the devices' real addresses (the ports of the demo's own fleet, which
starts after the history); `ReroutedDevices` is the automation's ordinary
`HardwareDevices` with each terminal's, camera's and server's address swapped for its
twin's in this fleet. The terminals route their SIP calls to this fleet's servers (both
by the servers' addresses in the database and by their ports here).

Faults are set through the simulators' own control API (`PUT /_sim/devices/{id}/faults`,
as `vks-sim` and the demo's today lessons use it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from sqlalchemy import Engine

from adapters.conference.transport import RetryPolicy
from adapters.storage.automation import SqlAutomationStore
from adapters.storage.unit_of_work import SqlUnitOfWork
from adapters.terminal.terminal import Terminal as TerminalClient
from booking.resources import Camera, ConferenceServer, Terminal
from vks.automation.clock import Clock
from vks.automation.config import AutomationConfig
from vks.automation.hardware import (
    GatewayPresence,
    HardwareDevices,
    TerminalFactory,
    build_pool,
    default_terminal_factory,
)
from vks.automation.rooms import StoredRoomRegistry
from vks.automation.service import Automation, build_automation

ADDRESS = re.compile(r"127\.0\.0\.1:(\d+)")


class PastFleet:
    """The demo region's devices on ephemeral ports (a context manager: started on
    entry, stopped on exit)."""

    def __init__(self, region_file: Path) -> None:
        # imported here, as in vks.demo.runner: a production install has no simulators
        from simulators.fleet import from_region, load_region
        from simulators.hosting import SimHost

        region = load_region(region_file)
        self.fleet = from_region(region, answer_delay_s=0.0)
        self.terminals_at: dict[str, list[str]] = {}
        """School → the ids of its terminals (the backups too)."""
        for terminal in region.get("terminals") or []:
            self.terminals_at.setdefault(str(terminal.get("site")), []).append(str(terminal["id"]))
        self.servers = [str(s["id"]) for s in region.get("servers") or []]
        self.camera_of = {
            str(c["terminal"]): str(c["id"])
            for c in region.get("cameras") or []
            if c.get("terminal")
        }
        """Terminal → the camera beside it."""
        self.host = SimHost(control_port=0)
        self.moved: dict[str, str] = {}
        """Original `127.0.0.1:port` → this fleet's `127.0.0.1:port`."""
        self._control: httpx.Client | None = None

    def start(self) -> PastFleet:
        for plan in self.fleet.plans:
            port = self.host.add(plan.device, 0)
            self.moved[f"127.0.0.1:{plan.port}"] = f"127.0.0.1:{port}"
        for key, url in list(self.fleet.routes.items()):  # gateways: old and new addresses
            new = self.move(url)
            self.fleet.routes[key] = new
            self.fleet.routes[new.removeprefix("http://")] = new
        self.host.start()
        self._control = httpx.Client(
            base_url=f"http://127.0.0.1:{self.host.control_port}/_sim/devices",
            timeout=5.0,
            trust_env=False,
        )
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
        self.host.stop()

    def __enter__(self) -> PastFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def move(self, url: str) -> str:
        """`url` with its loopback address replaced by its twin's in this fleet."""
        return ADDRESS.sub(lambda m: self.moved.get(m.group(0), m.group(0)), url)

    # --- faults, through the simulators' control API ---------------------------------------
    def _client(self) -> httpx.Client:
        if self._control is None:
            raise RuntimeError("the past fleet is not started")
        return self._control

    def set_faults(self, device_id: str, **faults: Any) -> None:
        self._client().put(f"/{device_id}/faults", json=faults).raise_for_status()

    def clear_faults(self, device_id: str) -> None:
        self._client().delete(f"/{device_id}/faults").raise_for_status()

    def describe(self, device_id: str) -> dict[str, Any]:
        answer = self._client().get(f"/{device_id}")
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def drop_call(self, terminal_id: str) -> bool:
        """The terminal's call drops now (its `drop_call_after_s` fault, made to take
        effect at once by asking the device for its state), and the terminal stays off the
        network (`offline`) until its faults are cleared. True if a call was dropped."""
        in_call = self.describe(terminal_id).get("call") is not None
        self.set_faults(terminal_id, drop_call_after_s=0.001)
        dropped = in_call and self.describe(terminal_id).get("call") is None
        self.set_faults(terminal_id, offline=True)
        return dropped

    def join_by_link(self, link: str, server_url: str) -> None:
        """Someone opens a room's personal link in a browser: BigBlueButton's `join`
        redirects to its client, and following it makes the attendee; Jitsi's web app hands
        the link's token to the room (the simulator's participants API on `server_url`)."""
        parts = urlsplit(link)
        token = dict(parse_qsl(parts.query)).get("jwt")
        with httpx.Client(timeout=5.0, trust_env=False, follow_redirects=True) as browser:
            if token is None:
                browser.get(link).raise_for_status()
            else:
                room = parts.path.rsplit("/", 1)[-1]
                browser.post(
                    f"{server_url}/sim/rooms/{room}/participants", json={"token": token}
                ).raise_for_status()

    def gateway_calls(self, server_id: str) -> int:
        return int(self.describe(server_id).get("gateway", {}).get("in_use", 0))


class ReroutedDevices(HardwareDevices):
    """The automation's devices, each addressed at its twin in a `PastFleet`."""

    def __init__(self, fleet: PastFleet, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fleet = fleet
        # one gateway answer is shared by the rooms asking within a window of real time;
        # here hours of the past pass within it: every presence poll asks
        self.gateway_presence = GatewayPresence(window_s=0.0)

    def terminal(self, terminal: Terminal) -> Any:
        return super().terminal(
            replace(terminal, control_url=self.fleet.move(terminal.control_url))
        )

    def camera(self, camera: Camera) -> Any:
        return super().camera(replace(camera, onvif_url=self.fleet.move(camera.onvif_url)))


def rerouted_servers(
    fleet: PastFleet, servers: Iterable[ConferenceServer]
) -> list[ConferenceServer]:
    """The servers as the past's automation sees them: at their twins' addresses."""
    return [
        replace(
            s,
            base_url=fleet.move(s.base_url),
            gateway_sip_host=fleet.move(s.gateway_sip_host),
        )
        for s in servers
    ]


def single_try_terminals(timeout_s: float) -> TerminalFactory:
    """Terminal adapters that try a request once: on loopback with nothing in between, a
    refused connection means the device is off (the service retries once after 0.2 s, for
    the networks of real schools)."""
    build = default_terminal_factory(timeout_s)

    def make(terminal: Terminal, password: str, client: httpx.AsyncClient) -> TerminalClient:
        adapter = build(terminal, password, client)
        if hasattr(adapter, "attempts"):
            adapter.attempts = 1
        return adapter

    return make


def past_automation(
    engine: Engine, fleet: PastFleet, config: AutomationConfig, clock: Clock
) -> Automation:
    """The service's automation over the demo's database, its devices rerouted to `fleet`
    and every instant read from `clock` (the past's)."""
    with SqlUnitOfWork(engine, read_only=True) as uow:
        servers = rerouted_servers(fleet, uow.servers.active())
    store = SqlAutomationStore(engine)
    registry = StoredRoomRegistry(store, clock)
    devices = ReroutedDevices(
        fleet,
        build_pool(servers, registry, now=clock.now, retry=RetryPolicy(attempts=1)),
        registry,
        timeout_s=2.0,
        terminal_factory=single_try_terminals(2.0),
    )
    return build_automation(store, config, devices, clock=clock, owner="vks-demo-history")


def links_into(automation: Automation) -> ReroutedDevices:
    """The past automation's devices (`past_automation` builds them rerouted)."""
    devices = automation.devices
    assert isinstance(devices, ReroutedDevices)
    return devices
