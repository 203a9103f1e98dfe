"""The automation on in-memory fakes: the Kuzbass lessons of `region.py` as the automation
sees them (`SessionRecord`s), devices that answer at once (`FakeDevices`), the memory
store and a frozen clock — for specifications of its decisions that run in milliseconds.

A lesson is at 09:00 in Kemerovo (02:00 UTC) with production lead times: checked at 01:30,
started at 01:55, given up on at 02:10, ended at its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from booking.automation_memory import MemoryAutomationStore
from booking.automation_store import RoomRecord, RoomStore, SessionRecord
from booking.bookings import BookingStatus, OccurrenceState, Participant, SessionKind
from booking.errors import DeviceBusy, DeviceUnreachable
from booking.lifecycle import Timing
from booking.resources import Camera, PlatformKind, Terminal
from tests.automation.region import SCHOOL_12, SCHOOL_20, SCHOOL_NAMES, TERMINALS
from tests.builders import TEACHER, a_camera, a_terminal
from vks.automation.clock import Clock, FrozenClock
from vks.automation.config import AutomationConfig
from vks.automation.devices import RoomGrant, TerminalCheck
from vks.automation.dispatch import DispatchReport
from vks.automation.reconciler import ReconcileReport
from vks.automation.service import Automation, build_automation

S = OccurrenceState
LESSON = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 09:00 in Kemerovo
SERVER = "bbb-1"


def terminal(terminal_id: str) -> Terminal:
    site, name = next((s, n) for t, s, n in TERMINALS if t == terminal_id)
    return a_terminal(terminal_id, site, name, credentials_ref="")


def camera(terminal_id: str) -> Camera:
    return a_camera(terminal_id, credentials_ref="")


def lesson(
    occurrence_id: str = "occ-physics-8",
    *,
    start: datetime = LESSON,
    minutes: int = 40,
    participants: Sequence[Participant] = (SCHOOL_20, SCHOOL_12),
    kind: SessionKind = SessionKind.FULL_BROADCAST,
    state: OccurrenceState = S.SCHEDULED,
    title: str = "Физика 8 класс: законы Ньютона",
    **changes: Any,
) -> SessionRecord:
    """One occurrence of a lesson of «СОШ №20» with «СОШ №12», as the store loads it."""
    terminal_ids = [p.terminal_id for p in participants if p.terminal_id]
    session = SessionRecord(
        occurrence_id=occurrence_id,
        booking_id=f"booking-{occurrence_id}",
        title=title,
        kind=kind,
        booking_status=BookingStatus.CONFIRMED,
        platform=PlatformKind.BBB,
        expected_participants=30,
        teacher=TEACHER,
        host_school_id="kem-school-20",
        start=start,
        end=start + timedelta(minutes=minutes),
        setup_start=start,
        broadcast_offset_minutes=None,
        broadcast_minutes=None,
        state=state,
        state_reason="",
        at_risk="",
        cancelled=False,
        occurrence_version=1,
        booking_version=1,
        terminal_ids=terminal_ids,
        participants=list(participants),
        terminals={t: terminal(t) for t in terminal_ids},
        cameras={t: camera(t) for t in terminal_ids},
        site_names=dict(SCHOOL_NAMES),
    )
    return replace(session, **changes)


def config(**changes: Any) -> AutomationConfig:
    """Production lead times; presence is asked once right after dialling (no polling)."""
    values: dict[str, Any] = {
        "timing": Timing(),
        "presence_poll": timedelta(0),
        "presence_timeout": timedelta(0),
    }
    return AutomationConfig(**(values | changes))


@dataclass
class FakeDevices:
    """The `Devices` Protocol in memory: one conference server whose rooms are registered in
    the store (as the real pool does), terminals that join a room when they dial it,
    cameras that move to a preset. Faults are sets the specification fills."""

    rooms: RoomStore
    clock: Clock
    unreachable: set[str] = field(default_factory=set)  # terminal or camera ids
    never_join: set[str] = field(default_factory=set)  # dial without error, never arrive
    server_down: bool = False
    capacity: str = ""  # "" or why no server can take the room
    calls: dict[str, str] = field(default_factory=dict)  # terminal id → remote address
    open_rooms: set[str] = field(default_factory=set)  # SIP addresses of running rooms
    presets: dict[str, str] = field(default_factory=dict)  # camera id → last preset
    created: list[str] = field(default_factory=list)  # occurrence ids
    dialled: list[str] = field(default_factory=list)
    hung_up: list[str] = field(default_factory=list)
    tidied: int = 0  # housekeeping rounds
    by_link: dict[str, int] = field(default_factory=dict)  # occurrence id → people by link

    async def ensure_room(self, session: SessionRecord) -> RoomGrant:
        if self.server_down:
            raise DeviceUnreachable(f"{SERVER}: no answer in time", device=SERVER)
        standing = self.rooms.rooms([session.occurrence_id]).get(session.occurrence_id)
        if standing is not None and standing.sip_address in self.open_rooms:
            return RoomGrant(standing, created=False)
        now = self.clock.now()
        if standing is not None and standing.ended_at is None:  # its room vanished: re-home
            claimed = self.rooms.move_room(session.occurrence_id, standing.generation, SERVER, now)
        else:
            claimed = self.rooms.claim_rooms([(session.occurrence_id, SERVER)], now)[
                session.occurrence_id
            ]
        assert claimed is not None
        room_id = f"vks-{session.occurrence_id}-{claimed.generation}"
        room = replace(
            claimed,
            room_id=room_id,
            platform="bbb",
            sip_address=f"sip:{room_id}@{SERVER}.rcc.example.ru",
            details={"meeting_id": room_id},
        )
        self.rooms.record_rooms([room])
        self.open_rooms.add(room.sip_address)
        self.created.append(session.occurrence_id)
        return RoomGrant(room, created=True)

    async def presence(self, room: RoomRecord, session: SessionRecord) -> set[str]:
        if room.sip_address not in self.open_rooms:
            return set()
        return {t for t in session.terminal_ids if self.calls.get(t) == room.sip_address}

    async def people_by_link(self, room: RoomRecord) -> int:
        if self.server_down:
            raise DeviceUnreachable(f"{SERVER}: no answer in time", device=SERVER)
        return self.by_link.get(room.occurrence_id, 0) if room.sip_address in self.open_rooms else 0

    async def end_room(self, room: RoomRecord) -> None:
        if self.server_down:
            raise DeviceUnreachable(f"{SERVER}: no answer in time", device=SERVER)
        self.open_rooms.discard(room.sip_address)
        # the gateway drops the room's calls; a codec cut off from the network does not
        # hear of it and stays in its call
        self.calls = {
            t: a for t, a in self.calls.items() if a != room.sip_address or t in self.unreachable
        }

    async def capacity_problem(self, session: SessionRecord) -> str:
        return self.capacity

    async def tidy(self) -> None:
        self.tidied += 1

    def is_room_address(self, address: str, room: RoomRecord) -> bool:
        return address == room.sip_address

    async def dial(self, terminal: Terminal, room: RoomRecord) -> None:
        self._reach(terminal.id)
        current = self.calls.get(terminal.id)
        if current == room.sip_address:
            return
        if current is not None:
            raise DeviceBusy(f"{terminal.id}: in a call with {current}", device=terminal.id)
        self.dialled.append(terminal.id)
        if terminal.id not in self.never_join:
            self.calls[terminal.id] = room.sip_address

    async def current_call(self, terminal: Terminal) -> str | None:
        self._reach(terminal.id)
        return self.calls.get(terminal.id)

    async def hang_up(self, terminal: Terminal) -> None:
        self._reach(terminal.id)
        self.calls.pop(terminal.id, None)
        self.hung_up.append(terminal.id)

    async def reset(self, terminal: Terminal) -> None:
        await self.hang_up(terminal)

    async def check_terminal(self, terminal: Terminal) -> TerminalCheck:
        if terminal.id in self.unreachable:
            return TerminalCheck(False, False, None, "connection refused")
        return TerminalCheck(True, True, self.calls.get(terminal.id))

    async def goto_preset(self, camera: Camera, preset: str) -> None:
        self._reach(camera.id)
        self.presets[camera.id] = preset

    async def go_home(self, camera: Camera) -> None:
        self._reach(camera.id)
        self.presets[camera.id] = "home"

    async def check_camera(self, camera: Camera) -> str:
        return "unreachable" if camera.id in self.unreachable else ""

    def drop(self, terminal_id: str) -> None:
        """The codec drops its call (a network glitch at the school)."""
        self.calls.pop(terminal_id, None)

    def _reach(self, device: str) -> None:
        if device in self.unreachable:
            raise DeviceUnreachable(f"{device}: connection refused", device=device)


class NoteWakeUps:
    """A runner that only remembers when it was asked to wake."""

    def __init__(self) -> None:
        self.instants: list[datetime] = []
        self.now: list[str] = []

    def wake_at(self, instants: list[datetime]) -> None:
        self.instants.extend(instants)

    def wake_now(self, tag: str = "now") -> None:
        self.now.append(tag)


@dataclass
class Bench:
    """The automation of one worker over the memory store, fake devices and a frozen clock."""

    store: MemoryAutomationStore
    clock: FrozenClock
    devices: FakeDevices
    automation: Automation
    waker: NoteWakeUps

    def add(self, *sessions: SessionRecord) -> list[str]:
        for session in sessions:
            self.store.add_session(session)
        return [s.occurrence_id for s in sessions]

    def announce(self, *occurrence_ids: str) -> None:
        """What the API does after a booking change: the hook replans at once."""
        self.automation.hook(self.waker).occurrences_changed(occurrence_ids)

    def at(self, instant: datetime) -> None:
        self.clock.at = instant

    def run_due(self) -> DispatchReport:
        return asyncio.run(self.automation.dispatcher.run_due())

    def reconcile(self) -> ReconcileReport:
        return asyncio.run(self.automation.reconciler.run(self.waker))

    def state(self, occurrence_id: str) -> OccurrenceState:
        return self.store.sessions([occurrence_id])[occurrence_id].state

    def session(self, occurrence_id: str) -> SessionRecord:
        return self.store.sessions([occurrence_id])[occurrence_id]

    def causes(self, occurrence_id: str) -> list[tuple[str, str]]:
        return [(h.to_state, h.cause) for h in self.store.history(occurrence_id)]

    def event_types(self, occurrence_id: str) -> list[str]:
        return [e.type for e in self.store.events(occurrence_id)]

    def checked_lesson(self, **changes: Any) -> str:
        """A lesson whose pre-flight passed, planned: its start is due at 01:55."""
        (occurrence,) = self.add(lesson(state=S.CHECKING, **changes))
        self.announce(occurrence)
        return occurrence

    def live_lesson(self) -> str:
        """A lesson started at 01:55 with both schools in its room."""
        occurrence = self.checked_lesson()
        self.at(LESSON - timedelta(minutes=5))
        self.run_due()
        assert self.state(occurrence) is S.LIVE
        return occurrence

    def spares(self, terminal_ids: Iterable[str]) -> None:
        for t in terminal_ids:
            self.store.add_spare(terminal(t))


def bench(now: datetime = LESSON - timedelta(hours=1), **changes: Any) -> Bench:
    """A fresh bench at `now` (default: an hour before the lesson); `changes` go to the
    configuration."""
    store = MemoryAutomationStore()
    clock = FrozenClock(now)
    devices = FakeDevices(store, clock)
    automation = build_automation(store, config(**changes), devices, clock=clock, owner="w-1")
    return Bench(store, clock, devices, automation, NoteWakeUps())
