"""What the service asks of a conference platform (Jitsi Meet, BigBlueButton), in its own words.

One `ConferencePlatform` drives one server. Rooms are per occurrence, and a room's identity
is *derived* from the occurrence id (and the server's secret), never drawn at random: a
create that is retried — by the same worker after a timeout, or by another process — finds
the same room instead of making a second one.

People join by link (`join_link`: the teacher as moderator, pupils and schools as
attendees). Hardware terminals join over SIP; SIP into BBB (FreeSWITCH) and into Jitsi
(Jigasi) is audio only, so a video terminal dials the SIP *video* gateway configured for the
server (`ConferenceServer.gateway_sip_host`, `gateway_ports` concurrent calls) and the
gateway joins the room as a participant (`sip_address`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from booking.errors import InvalidInput
from booking.resources import ConferenceServer, PlatformKind


class LinkRole(StrEnum):
    """Who a join link is for: the teacher moderates, pupils and schools attend."""

    MODERATOR = "moderator"
    ATTENDEE = "attendee"


class ParticipantKind(StrEnum):
    PERSON = "person"  # joined by link, in a browser or an app
    TERMINAL = "terminal"  # a hardware room system, through the SIP video gateway


@dataclass(frozen=True)
class RoomSpec:
    """What a room is for: one occurrence of a booking.

    `setup_starts_at` is the lesson start minus the set-up buffer (when terminals dial in and
    the room must exist); `expected_participants` counts every connection the lesson brings
    (people and terminals) and weights placement; `terminals` is the number of SIP video
    calls it needs from the server's gateway.
    """

    occurrence_id: str
    booking_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    setup_starts_at: datetime | None = None
    school_ids: tuple[str, ...] = ()
    expected_participants: int = 2
    terminals: int = 0
    record: bool = False
    teacher_name: str = ""

    def __post_init__(self) -> None:
        if not self.occurrence_id or "," in self.occurrence_id:
            raise InvalidInput("an occurrence id is required (and may not contain commas)")
        for name in ("starts_at", "ends_at", "setup_starts_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidInput(f"{name} must be timezone-aware", field=name)
        if self.ends_at <= self.starts_at:
            raise InvalidInput("a room must end after it starts", field="ends_at")
        if self.setup_starts_at is not None and self.setup_starts_at > self.starts_at:
            raise InvalidInput("set-up cannot start after the lesson", field="setup_starts_at")
        if self.expected_participants < 1:
            raise InvalidInput("expected participants must be at least 1")
        if self.terminals < 0:
            raise InvalidInput("terminals cannot be negative")

    @property
    def opens_at(self) -> datetime:
        """When the room must be usable: the start of the set-up buffer."""
        return self.setup_starts_at or self.starts_at


@dataclass(frozen=True)
class Room:
    """A room on one server. `room_id` is the platform's name for it (BBB meetingID, Jitsi
    room name); `details` holds what the platform returned that later calls need (BBB
    voiceBridge, internal meeting id, create time). `created` is True only on the value
    returned by the `create_room` call that made the room (not persisted)."""

    occurrence_id: str
    server_id: str
    platform: PlatformKind
    room_id: str
    sip_address: str
    opens_at: datetime
    ends_at: datetime
    details: Mapping[str, str] = field(default_factory=dict)
    created: bool = field(default=False, compare=False)

    def as_record(self) -> dict[str, Any]:
        """A JSON-able form (what the automation's room registry stores)."""
        return {
            "occurrence_id": self.occurrence_id,
            "server_id": self.server_id,
            "platform": self.platform.value,
            "room_id": self.room_id,
            "sip_address": self.sip_address,
            "opens_at": self.opens_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "details": dict(self.details),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Room:
        return cls(
            occurrence_id=str(record["occurrence_id"]),
            server_id=str(record["server_id"]),
            platform=PlatformKind(record["platform"]),
            room_id=str(record["room_id"]),
            sip_address=str(record.get("sip_address") or ""),
            opens_at=datetime.fromisoformat(record["opens_at"]),
            ends_at=datetime.fromisoformat(record["ends_at"]),
            details={str(k): str(v) for k, v in dict(record.get("details") or {}).items()},
        )


@dataclass(frozen=True)
class Participant:
    name: str
    kind: ParticipantKind
    role: LinkRole | None = None  # None where the platform does not say (Jitsi's room list)
    user_id: str = ""


@dataclass(frozen=True)
class RoomState:
    """What the platform reports about a room right now.

    `exists`: the room can be joined now (a BBB meeting is created; a Jitsi room always can,
    as its first participant creates it). `running`: somebody is in it.
    `terminal_addresses`: SIP addresses (normalised, see `sip.normalise`) of the terminals the
    server's gateway has connected to this room — the reliable way to tell which terminal is in.
    """

    room_id: str
    exists: bool
    running: bool
    participants: tuple[Participant, ...] = ()
    terminal_addresses: frozenset[str] = frozenset()

    @property
    def people(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.kind is ParticipantKind.PERSON)

    @property
    def terminals(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.kind is ParticipantKind.TERMINAL)

    def has_terminal(self, sip_address: str) -> bool:
        from adapters.conference.sip import normalise

        return normalise(sip_address) in self.terminal_addresses


@dataclass(frozen=True)
class RoomLoad:
    """One room as the server's load report shows it."""

    room_id: str
    participants: int
    sip_calls: int = 0
    expected_participants: int | None = None  # what the creator declared (BBB metadata)


@dataclass(frozen=True)
class ServerLoad:
    """A server's load, or why it did not answer (`answering` False, `error_code` set)."""

    server_id: str
    answering: bool
    rooms: tuple[RoomLoad, ...] = ()
    gateway_answering: bool = False
    gateway_ports_in_use: int = 0
    round_trip_ms: float = 0.0
    error_code: str = ""
    error: str = ""

    @property
    def participants(self) -> int:
        return sum(r.participants for r in self.rooms)


class ConferencePlatform(Protocol):
    """One conference server. Every method raises the domain's errors only
    (`DeviceUnreachable`, `DeviceAuthFailed`, `DeviceProtocolError`, `ServerAtCapacity`,
    `NotFound`, `InvalidInput`), never a transport library's."""

    server: ConferenceServer

    def room_id_for(self, occurrence_id: str) -> str:
        """The room this server gives the occurrence (same input → same room)."""
        ...

    async def create_room(self, spec: RoomSpec) -> Room:
        """Create the occurrence's room, or return it if it exists (idempotent)."""
        ...

    async def end_room(self, room: Room) -> None:
        """End the room and disconnect everyone; a room that is already gone is fine."""
        ...

    async def room_state(self, room: Room) -> RoomState: ...

    async def load(self) -> ServerLoad:
        """The server's load; never raises for an unreachable server (`answering` False)."""
        ...

    def join_link(
        self, room: Room, role: LinkRole, display_name: str, user_id: str, email: str = ""
    ) -> str:
        """A personal link into the room (no network call)."""
        ...

    def sip_address(self, room: Room) -> str:
        """What a video terminal dials to join the room (through the server's gateway)."""
        ...
