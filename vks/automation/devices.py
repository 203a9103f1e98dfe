"""What the automation asks of the equipment, in its own words.

The steps (pre-flight, start, end, the reconciler) talk to this Protocol only; the
implementation over the adapters (`vks.automation.hardware`) knows the conference pool,
the terminal dialects and ONVIF. Every method raises the domain's errors only
(`DeviceUnreachable`, `DeviceBusy`, `ServerAtCapacity`, `NotFound` for an unknown preset…).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from booking.automation_store import RoomRecord, SessionRecord
from booking.resources import Camera, Terminal


@dataclass(frozen=True)
class TerminalCheck:
    """A terminal's fitness for a session, as the pre-flight sees it."""

    reachable: bool
    registered: bool
    call_address: str | None  # the remote address of its current call, None when idle
    detail: str = ""

    @property
    def problem(self) -> str:
        if not self.reachable:
            return self.detail or "unreachable"
        if not self.registered:
            return self.detail or "not registered with the SIP server"
        return ""


@dataclass(frozen=True)
class RoomGrant:
    """The room of an occurrence, and whether this call created it (nobody can have
    dialled into a room that did not exist a moment ago)."""

    room: RoomRecord
    created: bool


class Devices(Protocol):
    # --- rooms ------------------------------------------------------------------------
    async def ensure_room(self, session: SessionRecord) -> RoomGrant:
        """The occurrence's one room: the registered one if it is still running (re-created
        on another server if its server is gone), else a new one, registered first."""
        ...

    async def presence(self, room: RoomRecord, session: SessionRecord) -> set[str]:
        """Ids of the session's terminals that the platform reports in the room."""
        ...

    async def people_by_link(self, room: RoomRecord) -> int:
        """How many people are in the room by its web link (participants that are not
        terminals: BBB attendees not dialled in, Jitsi's census less the gateway's calls)."""
        ...

    async def end_room(self, room: RoomRecord) -> None: ...

    async def capacity_problem(self, session: SessionRecord) -> str:
        """ "" if a server can take the session's room now, else why not."""
        ...

    async def tidy(self) -> None:
        """Housekeeping of every reconciler round: a server that came back gets the rooms
        that were moved away from it while it was gone ended."""
        ...

    def is_room_address(self, address: str, room: RoomRecord) -> bool:
        """Is `address` (a terminal's current call) this room's SIP address?"""
        ...

    # --- terminals --------------------------------------------------------------------
    async def dial(self, terminal: Terminal, room: RoomRecord) -> None:
        """Call the room. Idempotent: a terminal already in (or connecting to) this room is
        left alone; one in another call raises `DeviceBusy`."""
        ...

    async def current_call(self, terminal: Terminal) -> str | None:
        """The remote address of the terminal's call, or None when idle."""
        ...

    async def hang_up(self, terminal: Terminal) -> None: ...

    async def reset(self, terminal: Terminal) -> None:
        """Hang up whatever call the terminal is in and open a fresh control session
        (an operator's "reset" of a terminal that is stuck)."""
        ...

    async def check_terminal(self, terminal: Terminal) -> TerminalCheck: ...

    # --- cameras ----------------------------------------------------------------------
    async def goto_preset(self, camera: Camera, preset: str) -> None: ...

    async def go_home(self, camera: Camera) -> None: ...

    async def check_camera(self, camera: Camera) -> str:
        """ "" if the camera answers, else what is wrong."""
        ...
