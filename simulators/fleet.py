"""A fleet: every device of a region in one `SimHost`, each on its own loopback port.

From a region file (docs/region-file.md): terminals listen on the port of their
`control_url`, cameras on the port of their `onvif_url`, servers on the port of their
`base_url` (which also serves their SIP video gateway). `port_offset` shifts every port, so
two fleets of the same region can run side by side. Terminals route gateway calls to the
servers of the fleet over loopback HTTP: the SIP host a terminal dials (a server's
`gateway.sip_host`, or the host:port of its `base_url`) maps to the server's real URL.

Generated fleets (`generate`) put N devices on consecutive ports from `port_base`: every
hundredth device is a conference server (BBB and Jitsi in turn), the others are terminals
and cameras half and half. Devices are plain objects with no task or timer of their own,
so ten thousand of them fit in one process.

Optional per-server keys beyond the region format: `app_id` and `domain` (Jitsi token
issuer and XMPP domain; defaults "vks" and any domain).
"""

from __future__ import annotations

import os
import resource
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from simulators.bbb import BbbServer
from simulators.faults import Faults
from simulators.hosting import SimDevice, SimHost
from simulators.jitsi import JitsiServer
from simulators.terminal import Terminal

GENERATED_SECRET = "fleet-secret"
GENERATED_PASSWORD = "secret"
SPARE_FDS = 4096
"""File descriptors kept for connections, on top of one listener per device."""


class FleetError(Exception):
    """A region file or fleet layout that cannot be started (message for the user)."""


FaultsFactory = Callable[[], Faults]


@dataclass
class DevicePlan:
    device: SimDevice
    port: int


@dataclass
class Fleet:
    """What a fleet hosts: devices with their ports, and the gateway routing table."""

    plans: list[DevicePlan] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(plan.device.kind for plan in self.plans)

    def start_on(self, host: SimHost) -> None:
        """Bind every device on the host (raises OSError if a port is taken)."""
        raise_fd_limit(len(self.plans) + SPARE_FDS)
        for plan in self.plans:
            try:
                host.add(plan.device, plan.port)
            except OSError as exc:
                raise OSError(
                    exc.errno,
                    f"cannot listen on port {plan.port} for {plan.device.id}: {exc.strerror}",
                ) from exc


def raise_fd_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards `needed` (up to the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return int(soft)


# --- region files ---------------------------------------------------------------------
def load_region(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise FleetError(f"region file not found: {file}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FleetError(f"{file}: not a valid YAML file: {exc}") from exc
    if not isinstance(data, dict):
        raise FleetError(f"{file}: expected a mapping with terminals/cameras/servers")
    return data


def _port(url: str, what: str, offset: int) -> int:
    try:
        port = urlsplit(url).port
    except ValueError as exc:
        raise FleetError(f"{what}: bad URL {url!r}: {exc}") from exc
    if port is None:
        raise FleetError(f"{what}: URL {url!r} has no port")
    shifted = port + offset
    if not 0 < shifted < 65536:
        raise FleetError(f"{what}: port {port} + offset {offset} is out of range")
    return shifted


def _secret(value: Any, what: str) -> str:
    text = str(value if value is not None else "")
    if text.startswith("env:"):
        name = text[4:]
        if name not in os.environ:
            raise FleetError(f"{what}: environment variable {name} is not set")
        return os.environ[name]
    return text


def _items(region: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = region.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise FleetError(f"'{key}' must be a list of mappings")
    for item in items:
        if not item.get("id"):
            raise FleetError(f"an entry of '{key}' has no id")
    return items


def from_region(
    region: dict[str, Any],
    *,
    port_offset: int = 0,
    faults: FaultsFactory = Faults,
    answer_delay_s: float = 1.5,
) -> Fleet:
    fleet = Fleet()
    camera_class = _camera_class(fleet)
    servers = _items(region, "servers")
    for server in servers:
        sid = str(server["id"])
        base_url = str(server.get("base_url") or "")
        port = _port(base_url, f"server {sid}", port_offset)
        gateway = server.get("gateway") or {}
        ports = int(gateway.get("ports", 60))
        kind = server.get("kind")
        device: SimDevice
        if kind == "bbb":
            device = BbbServer(
                sid,
                _secret(server.get("secret"), f"server {sid}"),
                max_meetings=server.get("max_rooms"),
                max_participants=server.get("max_participants"),
                gateway_ports=ports,
                name=str(server.get("name") or sid),
                faults=faults(),
            )
        elif kind == "jitsi":
            device = JitsiServer(
                sid,
                _secret(server.get("secret"), f"server {sid}"),
                app_id=str(server.get("app_id") or "vks"),
                domain=server.get("domain"),
                max_rooms=server.get("max_rooms"),
                max_participants=server.get("max_participants"),
                gateway_ports=ports,
                name=str(server.get("name") or sid),
                faults=faults(),
            )
        else:
            raise FleetError(f"server {sid}: unknown kind {kind!r} (expected bbb or jitsi)")
        fleet.plans.append(DevicePlan(device, port))
        url = f"http://127.0.0.1:{port}"
        parsed = urlsplit(base_url)
        fleet.routes[f"{parsed.hostname}:{parsed.port}".lower()] = url
        if gateway.get("sip_host"):
            fleet.routes[str(gateway["sip_host"]).lower()] = url
    for term in _items(region, "terminals"):
        tid = str(term["id"])
        fleet.plans.append(
            DevicePlan(
                Terminal(
                    tid,
                    str(term.get("username") or "admin"),
                    _secret(term.get("password"), f"terminal {tid}"),
                    vendor=str(term.get("vendor") or "cisco_xapi"),
                    name=str(term.get("name") or tid),
                    sip_address=term.get("sip_address"),
                    answer_delay_s=answer_delay_s,
                    gateway_routes=fleet.routes,
                    faults=faults(),
                ),
                _port(str(term.get("control_url") or ""), f"terminal {tid}", port_offset),
            )
        )
    for cam in _items(region, "cameras"):
        cid = str(cam["id"])
        if camera_class is None:
            continue
        fleet.plans.append(
            DevicePlan(
                camera_class(
                    cid,
                    str(cam.get("username") or "admin"),
                    _secret(cam.get("password"), f"camera {cid}"),
                    presets=list(cam.get("presets") or ["teacher", "board", "class"]),
                    faults=faults(),
                ),
                _port(str(cam.get("onvif_url") or ""), f"camera {cid}", port_offset),
            )
        )
    _check_unique(fleet.plans)
    return fleet


def _camera_class(fleet: Fleet) -> Any:
    try:
        from simulators.onvif import OnvifCamera
    except ImportError as exc:  # the camera simulator is optional for a fleet
        fleet.warnings.append(f"cameras skipped: simulators.onvif unavailable ({exc})")
        return None
    return OnvifCamera


def _check_unique(plans: Iterable[DevicePlan]) -> None:
    ids: set[str] = set()
    ports: dict[int, str] = {}
    for plan in plans:
        if plan.device.id in ids:
            raise FleetError(f"device id {plan.device.id!r} appears twice")
        ids.add(plan.device.id)
        if plan.port in ports:
            raise FleetError(
                f"port {plan.port} is used by both {ports[plan.port]} and {plan.device.id}"
            )
        ports[plan.port] = plan.device.id


# --- generated fleets -------------------------------------------------------------------
def generate(
    count: int,
    *,
    port_base: int = 20000,
    port_offset: int = 0,
    faults: FaultsFactory = Faults,
    answer_delay_s: float = 1.5,
) -> Fleet:
    if count < 1:
        raise FleetError("--generate needs a positive number of devices")
    first = port_base + port_offset
    if first < 1 or first + count - 1 > 65535:
        raise FleetError(f"ports {first}..{first + count - 1} do not fit in 1..65535")
    fleet = Fleet()
    camera_class = _camera_class(fleet)
    for i in range(count):
        port = first + i
        device: SimDevice
        if i % 100 == 0:
            if (i // 100) % 2 == 0:
                device = BbbServer(
                    f"gen-bbb-{i:05d}",
                    GENERATED_SECRET,
                    max_meetings=40,
                    max_participants=400,
                    faults=faults(),
                )
            else:
                device = JitsiServer(
                    f"gen-jitsi-{i:05d}",
                    GENERATED_SECRET,
                    max_rooms=40,
                    max_participants=400,
                    faults=faults(),
                )
            fleet.routes[f"127.0.0.1:{port}"] = f"http://127.0.0.1:{port}"
        elif i % 2 == 0 and camera_class is not None:
            device = camera_class(f"gen-cam-{i:05d}", "admin", GENERATED_PASSWORD, faults=faults())
        else:
            device = Terminal(
                f"gen-term-{i:05d}",
                "admin",
                GENERATED_PASSWORD,
                sip_address=f"sip:gen-term-{i:05d}@vks.example.ru",
                answer_delay_s=answer_delay_s,
                gateway_routes=fleet.routes,
                faults=faults(),
            )
        fleet.plans.append(DevicePlan(device, port))
    return fleet
