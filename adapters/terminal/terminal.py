"""What the service asks of a VKS room terminal, whatever its vendor.

`dial` places a SIP video call (to the room's gateway address), `hang_up` ends it,
`call_status` reads the call, `health` reads everything the monitor watches in one go.
Every method raises the domain's errors only: `DeviceUnreachable` (refused, reset — as while
rebooting — or timed out), `DeviceAuthFailed`, `DeviceBusy` (already in another call),
`DeviceProtocolError` (an answer we cannot use). `health` is the exception: it reports an
unreachable or refusing terminal in its result instead of raising, as the monitor polls
thousands of them and records whatever it finds.

A call that ends by itself (refused by the gateway, dropped, a reboot) shows as idle;
`last_call_end` says why, and `call_end_error` turns that into the matching domain error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from booking.errors import (
    DeviceError,
    DeviceUnreachable,
    NotFound,
    ServerAtCapacity,
)


class CallState(StrEnum):
    IDLE = "idle"
    DIALLING = "dialling"
    CONNECTING = "connecting"  # ringing, early media, waiting for the far end
    CONNECTED = "connected"


@dataclass(frozen=True)
class CallInfo:
    """A call just placed."""

    call_id: str
    remote_number: str


@dataclass(frozen=True)
class CallStatus:
    state: CallState
    call_id: str = ""
    remote_number: str = ""  # as the terminal shows it (Cisco drops the `sip:` scheme)
    duration_s: int = 0

    @property
    def in_call(self) -> bool:
        return self.state is not CallState.IDLE


@dataclass(frozen=True)
class CallEnd:
    """Why the last call ended, as the terminal's call history says."""

    remote_number: str
    cause_type: str  # LocalDisconnect, RemoteDisconnect, UnknownRemoteSite, RemoteBusy, …
    cause_code: int  # the SIP status where there is one (404, 486, 503, 408…)
    cause: str
    duration_s: int = 0


@dataclass(frozen=True)
class Peripheral:
    kind: str  # camera, touch panel, microphone…
    name: str
    connected: bool


@dataclass(frozen=True)
class TerminalHealth:
    reachable: bool
    round_trip_ms: float | None = None
    sip_registered: bool | None = None
    in_call: bool | None = None
    call_remote: str = ""
    uptime_s: int | None = None
    temperature_c: float | None = None
    standby: bool | None = None
    camera_connected: bool | None = None
    peripherals: tuple[Peripheral, ...] = ()
    model: str = ""
    software: str = ""
    diagnostics: tuple[str, ...] = ()  # the device's own self-check messages
    error_code: str = ""  # the domain error code when the terminal did not answer properly
    error: str = ""

    @property
    def ok(self) -> bool:
        return (
            self.reachable
            and not self.error_code
            and self.sip_registered is not False
            and self.camera_connected is not False
        )


class Terminal(Protocol):
    """One room system's control API."""

    device_id: str

    async def dial(self, sip_uri: str) -> CallInfo:
        """Call `sip_uri`. Already connected (or connecting) to it: the current call is
        returned, nothing is dialled. In a call to anything else: `DeviceBusy`."""
        ...

    async def hang_up(self) -> None:
        """End the current call; no call is fine."""
        ...

    async def call_status(self) -> CallStatus: ...

    async def last_call_end(self) -> CallEnd | None:
        """Why the most recent call ended (None if the terminal cannot say)."""
        ...

    async def health(self) -> TerminalHealth: ...


def call_end_error(end: CallEnd | None, device: str) -> DeviceError | NotFound:
    """The domain error for a call that did not connect or did not last."""
    if end is None:
        return DeviceUnreachable(
            f"{device}: the call ended, the terminal does not say why", device=device
        )
    text = (
        f"{device}: call to {end.remote_number} ended: "
        f"{end.cause_type} {end.cause_code} {end.cause}"
    )
    details = {"device": device, "cause_type": end.cause_type, "cause_code": end.cause_code}
    if end.cause_code == 404 or end.cause_type == "UnknownRemoteSite":
        return NotFound(text, **details)  # no such room behind the gateway
    if end.cause_code in (486, 503) or end.cause_type == "RemoteBusy":
        return ServerAtCapacity(text, **details)  # gateway ports all busy, room or server full
    return DeviceUnreachable(text, **details)  # dropped (408 media timeout), restart, …
