"""Run one simulated camera as a process (what `vks-sim camera` does), optionally with its
WS-Discovery responder.

    run_camera(port=8080, username="admin", password="secret")

Prints `camera <id> at http://<bind>:<port>` (and the discovery port) once it accepts
connections, then serves until interrupted. The control API answers under `/_sim/` on the
same port (e.g. `PUT /_sim/faults {"offline": true}`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from simulators.faults import Faults
from simulators.hosting import SimHost
from simulators.onvif.camera import DEFAULT_PRESETS, OnvifCamera
from simulators.onvif.discovery import DiscoveryResponder, announcement


async def serve_camera(
    port: int = 0,
    username: str = "admin",
    password: str = "admin",
    *,
    id: str = "camera",
    bind: str = "127.0.0.1",
    presets: Sequence[str] = DEFAULT_PRESETS,
    faults: Faults | None = None,
    discovery_port: int | None = None,
    discovery_multicast: bool = False,
    **options: Any,
) -> None:
    """Serve one camera until the host stops (Ctrl-C). `options` go to `OnvifCamera`."""
    camera = OnvifCamera(id, username, password, presets, faults=faults, **options)
    host = SimHost(bind_host=bind)
    real_port = host.add(camera, port)
    url = host.url_of(camera.id)
    responder: DiscoveryResponder | None = None
    if discovery_port is not None:
        responder = DiscoveryResponder(lambda: [announcement(camera, url)])
        bound = await responder.start(bind, discovery_port, multicast=discovery_multicast)
        print(f"WS-Discovery for {camera.id} on udp://{bind}:{bound}", flush=True)
    print(f"camera {camera.id} at http://{bind}:{real_port}", flush=True)
    try:
        await host.serve()
    finally:
        if responder is not None:
            responder.close()


def run_camera(port: int = 0, username: str = "admin", password: str = "admin", **kw: Any) -> None:
    """Blocking form of `serve_camera` for a command line."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_camera(port, username, password, **kw))
