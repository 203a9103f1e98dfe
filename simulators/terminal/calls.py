"""A terminal's call, whose state is computed from timestamps (no timers per device).

Dialling → Connecting → Connected: the call shows `Dialling` for a short moment, then
`Connecting` until both the answer delay has passed and the gateway has answered (201),
then `Connected`. A refusal from the gateway ends the call at once (see `Terminal`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

DIALLING_MAX_S = 0.5


class DialError(Exception):
    """The terminal refuses to place the call (reason as the device words it)."""


@dataclass(slots=True)
class Call:
    id: int
    number: str
    """As dialled, e.g. `sip:83412@127.0.0.1:18201`."""
    remote: str
    """Without the scheme, as Cisco shows RemoteNumber."""
    started: float
    """time.monotonic() at dial."""
    started_wall: float
    """time.time() at dial (for history)."""
    answer_s: float
    gateway_base: str | None
    display_name: str = ""
    gateway_call_id: str | None = None
    answered: float | None = None
    """monotonic time of the gateway's 201."""
    bye_token: str = ""
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def connected_at(self) -> float | None:
        if self.answered is None:
            return None
        return max(self.started + self.answer_s, self.answered)

    def is_connected(self, now: float) -> bool:
        at = self.connected_at()
        return at is not None and now >= at

    def status(self, now: float) -> str:
        if self.is_connected(now):
            return "Connected"
        if now - self.started < min(DIALLING_MAX_S, self.answer_s / 3):
            return "Dialling"
        return "Connecting"

    def duration(self, now: float) -> int:
        at = self.connected_at()
        if at is None or now < at:
            return 0
        return int(now - at)


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Why a call ended, in Cisco's CallHistory/CallDisconnect terms."""

    cause_type: str
    """LocalDisconnect, RemoteDisconnect, UnknownRemoteSite, RemoteBusy, NetworkRejected…"""
    cause_code: int
    cause: str
    origin: str = "SIP"


LOCAL_HANGUP = Disconnect("LocalDisconnect", 0, "Normal", "Internal")
REMOTE_HANGUP = Disconnect("RemoteDisconnect", 0, "Normal")
DROPPED = Disconnect("NetworkRejected", 408, "Call dropped: media timeout")
MEDIA_TIMEOUT = Disconnect("NetworkRejected", 408, "Media timeout: the far end is gone")
REBOOTED = Disconnect("LocalDisconnect", 0, "System restart", "Internal")


def refusal(status: int, message: str) -> Disconnect:
    """Map the gateway's answer to a disconnect cause."""
    if status == 404:
        return Disconnect("UnknownRemoteSite", 404, message or "Not Found")
    if status == 486:
        return Disconnect("RemoteBusy", 486, message or "Busy Here")
    if status == 503:
        return Disconnect("NetworkRejected", 503, message or "Service Unavailable")
    if status == 0:
        return Disconnect("NetworkRejected", 408, message or "Request Timeout")
    return Disconnect("Rejected", status, message or "Call rejected")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    call_id: int
    number: str
    display_name: str
    started_wall: float
    duration_s: int
    disconnect: Disconnect
