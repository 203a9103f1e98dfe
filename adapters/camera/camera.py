"""What the service asks of a PTZ camera, in its own words.

Presets are addressed by *name* — the domain books "board", "teacher", "class" — never by the
camera's own tokens, which differ between vendors and change when presets are re-created.
Every failure is a domain error from `booking.errors`:

- wrong credentials → `DeviceAuthFailed`;
- refused, reset, timed out (offline, rebooting, too slow) → `DeviceUnreachable`;
- an unknown preset or a missing home position → `NotFound`; a bad name or value →
  `InvalidInput`; a PTZ unit that is moving when it must not → `DeviceBusy`;
- any other answer we cannot use → `DeviceProtocolError`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from booking.errors import DeviceBusy


@dataclass(frozen=True)
class PtzPosition:
    """In the ONVIF generic spaces: pan and tilt in [-1, 1], zoom in [0, 1]."""

    pan: float
    tilt: float
    zoom: float

    def near(self, other: PtzPosition, tolerance: float = 1e-3) -> bool:
        return (
            abs(self.pan - other.pan) <= tolerance
            and abs(self.tilt - other.tilt) <= tolerance
            and abs(self.zoom - other.zoom) <= tolerance
        )


@dataclass(frozen=True)
class Preset:
    name: str
    token: str
    position: PtzPosition | None = None


@dataclass(frozen=True)
class PtzStatus:
    position: PtzPosition | None
    moving: bool
    """True while pan/tilt or zoom reports MOVING."""
    utc_time: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class DeviceInfo:
    manufacturer: str
    model: str
    firmware: str
    serial_number: str
    hardware_id: str


class Camera(Protocol):
    """One PTZ camera. Implementations are cheap to create and safe to use concurrently."""

    async def device_info(self) -> DeviceInfo: ...

    async def presets(self) -> list[Preset]: ...

    async def set_preset(self, name: str) -> str:
        """Store where the camera points now under `name` (overwriting a preset of that name);
        returns the camera's token for it."""
        ...

    async def remove_preset(self, name: str) -> None: ...

    async def goto_preset(self, name: str, speed: float | None = None) -> None:
        """Start moving to the preset (returns once the camera accepted the command)."""
        ...

    async def go_home(self) -> None: ...

    async def status(self) -> PtzStatus: ...

    async def snapshot(self) -> bytes:
        """A JPEG of what the camera sees now."""
        ...

    async def close(self) -> None: ...


async def settle(camera: Camera, timeout_s: float = 10.0, poll_s: float = 0.2) -> PtzStatus:
    """Poll the camera until it stops moving; `DeviceBusy` if it is still moving after
    `timeout_s` (someone steering it by hand, or a stuck PTZ head)."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = await camera.status()
        if not status.moving:
            return status
        if time.monotonic() >= deadline:
            raise DeviceBusy(f"camera still moving after {timeout_s:g} s")
        await asyncio.sleep(poll_s)
