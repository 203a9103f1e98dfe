"""MUC rooms of the simulated Jitsi deployment. A room exists only while occupied: the
first participant creates it, the last one to leave destroys it."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class Occupant:
    id: str
    nick: str
    """The MUC resource, e.g. `3f9a1c2b`."""
    display_name: str
    email: str
    role: str
    """owner (moderator) or member."""
    via_gateway: bool = False


@dataclass(slots=True)
class Room:
    name: str
    """As first joined (the key is its lowercase form)."""
    created_ms: int
    occupants: dict[str, Occupant] = field(default_factory=dict)


class RoomRegistry:
    def __init__(self, max_rooms: int | None = None, max_participants: int | None = None) -> None:
        self.max_rooms = max_rooms
        self.max_participants = max_participants
        self.rooms: dict[str, Room] = {}
        self.participants = 0

    def get(self, name: str) -> Room | None:
        return self.rooms.get(name.lower())

    def can_join(self, name: str, at_capacity: bool) -> bool:
        if at_capacity:
            return False
        if self.max_participants is not None and self.participants >= self.max_participants:
            return False
        return not (
            self.max_rooms is not None
            and name.lower() not in self.rooms
            and len(self.rooms) >= self.max_rooms
        )

    def join(
        self,
        name: str,
        display_name: str,
        email: str = "",
        *,
        moderator: bool = False,
        auto_owner: bool = True,
        via_gateway: bool = False,
        wall_ms: int | None = None,
    ) -> tuple[Room, Occupant]:
        key = name.lower()
        room = self.rooms.get(key)
        if room is None:
            room = Room(name, wall_ms if wall_ms is not None else int(time.time() * 1000))
            self.rooms[key] = room
        first = not room.occupants
        role = "owner" if moderator or (auto_owner and first and not via_gateway) else "member"
        occupant = Occupant(
            secrets.token_hex(6), secrets.token_hex(4), display_name, email, role, via_gateway
        )
        room.occupants[occupant.id] = occupant
        self.participants += 1
        return room, occupant

    def leave(self, name: str, occupant_id: str) -> bool:
        key = name.lower()
        room = self.rooms.get(key)
        if room is None or room.occupants.pop(occupant_id, None) is None:
            return False
        self.participants -= 1
        if not room.occupants:
            del self.rooms[key]
        return True

    def destroy(self, name: str) -> Room | None:
        """Close the room with everybody in it (prosody's `room:destroy()`); None if absent."""
        room = self.rooms.pop(name.lower(), None)
        if room is not None:
            self.participants -= len(room.occupants)
            room.occupants.clear()
        return room
