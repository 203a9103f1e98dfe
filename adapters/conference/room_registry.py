"""Which server holds the room of an occurrence: the pool's guard against two rooms.

Room *identity* is derived per server, so two processes creating an occurrence's room on the
same server get the same room. What must not happen is two processes choosing *different*
servers. The pool therefore claims the occurrence for a server before creating anything:
`claim` is insert-if-absent and returns the standing claim (ours, or the one a racing
process made first); `move` re-homes a room whose server died, as a compare-and-set on the
claim's generation, so two processes never both move it. The automation backs this with the
database (`automation_rooms`: `register_room` / `replace_room` / `room_ended`);
`InMemoryRoomRegistry` serves tests and single-process use.

A move leaves a room behind on the server it left (`left_behind`): the registry is shared
by every worker, so whichever pool sees that server answer again ends those rooms, not
only the one that moved them (a restarted worker included).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from booking.automation_store import LeftRoom


@dataclass(frozen=True)
class RoomClaim:
    occurrence_id: str
    server_id: str
    generation: int = 1  # +1 each time the room moves to another server


class RoomRegistry(Protocol):
    async def current(self, occurrence_id: str) -> RoomClaim | None: ...

    async def claim(self, occurrence_id: str, server_id: str) -> RoomClaim:
        """Claim the occurrence for `server_id` unless it is claimed; return the standing claim."""
        ...

    async def move(self, claim: RoomClaim, server_id: str) -> RoomClaim | None:
        """Move the room to `server_id` if `claim` is still the standing one; None otherwise.
        The server it moved from is remembered as holding a room left behind."""
        ...

    async def left_behind(self, server_ids: Iterable[str]) -> list[LeftRoom]:
        """Rooms left behind on these servers (by any process), not yet ended."""
        ...

    async def forget_left(self, rooms: Iterable[tuple[str, str]]) -> None:
        """These (occurrence id, server id) rooms left behind are ended or in use again."""
        ...

    async def release(self, occurrence_id: str) -> None:
        """The room has ended: the occurrence may get a new room later."""
        ...


class InMemoryRoomRegistry:
    def __init__(self) -> None:
        self._claims: dict[str, RoomClaim] = {}
        self._left: dict[tuple[str, str], LeftRoom] = {}
        self._lock = asyncio.Lock()

    async def current(self, occurrence_id: str) -> RoomClaim | None:
        return self._claims.get(occurrence_id)

    async def claim(self, occurrence_id: str, server_id: str) -> RoomClaim:
        async with self._lock:
            return self._claims.setdefault(occurrence_id, RoomClaim(occurrence_id, server_id))

    async def move(self, claim: RoomClaim, server_id: str) -> RoomClaim | None:
        async with self._lock:
            if self._claims.get(claim.occurrence_id) != claim:
                return None
            moved = RoomClaim(claim.occurrence_id, server_id, claim.generation + 1)
            self._claims[claim.occurrence_id] = moved
            left = LeftRoom(claim.occurrence_id, claim.server_id, datetime.now(UTC))
            self._left[(claim.occurrence_id, claim.server_id)] = left
            return moved

    async def left_behind(self, server_ids: Iterable[str]) -> list[LeftRoom]:
        servers = set(server_ids)
        return [r for r in self._left.values() if r.server_id in servers]

    async def forget_left(self, rooms: Iterable[tuple[str, str]]) -> None:
        async with self._lock:
            for key in rooms:
                self._left.pop(key, None)

    async def release(self, occurrence_id: str) -> None:
        async with self._lock:
            self._claims.pop(occurrence_id, None)
