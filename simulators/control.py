"""The simulators' control API, served under `/_sim/` on every device port and on the
host's control port.

    GET    /_sim/devices                    listing: id, kind, port, url, faults, details
    GET    /_sim/devices/{id}               one device
    GET    /_sim/devices/{id}/faults        its faults
    PUT    /_sim/devices/{id}/faults        partial update, e.g. {"offline": true}
    DELETE /_sim/devices/{id}/faults        back to healthy
    GET|PUT|DELETE /_sim/faults             the same, for the device whose port was called
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulators.faults import Faults
from simulators.hosting import Receive, Scope, Send, read_body, respond_json

if TYPE_CHECKING:
    from simulators.hosting import SimDevice, SimHost


def describe(host: SimHost, device: SimDevice) -> dict[str, Any]:
    return {
        "id": device.id,
        "kind": device.kind,
        "port": host.port_of(device.id),
        "url": host.url_of(device.id),
        "faults": device.faults.as_dict(),
        **device.describe(),
    }


async def handle_control(
    host: SimHost, device: SimDevice | None, scope: Scope, receive: Receive, send: Send
) -> None:
    method: str = scope["method"]
    parts = [p for p in scope["path"].split("/") if p][1:]  # drop "_sim"
    if parts == ["devices"] and method == "GET":
        await respond_json(send, 200, [describe(host, d) for d in host.devices()])
        return
    target: SimDevice | None = None
    rest: list[str] = []
    if len(parts) >= 2 and parts[0] == "devices":
        try:
            target = host.device(parts[1])
        except KeyError:
            await respond_json(send, 404, {"error": f"no device {parts[1]!r}"})
            return
        rest = parts[2:]
    elif parts and parts[0] == "faults" and device is not None:
        target, rest = device, parts
    if target is None:
        await respond_json(send, 404, {"error": "unknown control path", "path": scope["path"]})
        return
    if rest == [] and method == "GET":
        await respond_json(send, 200, describe(host, target))
        return
    if rest == ["faults"]:
        # listeners are synced before the answer, so "offline" is in force once acknowledged
        await _faults(target, method, receive, send, host.sync_listeners_once)
        return
    await respond_json(send, 404, {"error": "unknown control path", "path": scope["path"]})


async def _faults(
    device: SimDevice, method: str, receive: Receive, send: Send, applied: Callable[[], None]
) -> None:
    if method == "GET":
        await respond_json(send, 200, device.faults.as_dict())
        return
    if method == "DELETE":
        device.faults.update({k: v for k, v in Faults().as_dict().items()})
        applied()
        await respond_json(send, 200, device.faults.as_dict())
        return
    if method in ("PUT", "PATCH", "POST"):
        try:
            changes = json.loads(await read_body(receive) or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("body must be a JSON object")
            device.faults.update(changes)
        except (ValueError, TypeError) as exc:
            await respond_json(send, 400, {"error": str(exc)})
            return
        applied()
        await respond_json(send, 200, device.faults.as_dict())
        return
    await respond_json(send, 405, {"error": f"method {method} not allowed"})
