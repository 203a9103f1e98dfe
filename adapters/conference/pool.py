"""The conference server pool: where a new room goes, and where it goes when its server dies.

Placement weights by the occurrence's **expected participants**, not by meeting count (the
known weakness of Scalelite, which counts a just-created meeting as nearly empty until
people join — so at the bell every lesson lands on the same "empty" server). A server's
usage is, per room, the larger of what is there now and what was declared for it:

- rooms we placed are reserved locally (expected participants, terminals) until they end;
- rooms other processes placed declare their expected participants in the BBB metadata
  (`meta_vks_expected_participants`), which `getMeetings` returns to everyone;
- the rest is what `load()` reports (participants, gateway calls).

A server fits a room if one more room, the expected participants and the terminals' SIP
gateway ports all stay within its capacity; among those that fit, the one left with the
largest share of free participant places wins (ties: fewer rooms, then server id).

Unusable servers (`unusable`: server id -> reason, e.g. "secret VKS_BBB1_SECRET not set"):
a server the service cannot even authenticate to stays a member (its claimed rooms are
moved, its reason shows in every placement refusal) but is never polled nor chosen.

Health: `ServerHealth` marks a server unavailable after N consecutive failures and back
after M successes; `refresh()` polls every server's `load()` (unavailable ones included).

Never two rooms for one occurrence: the pool claims the occurrence for a server in the
injected `RoomRegistry` before creating the room, and follows a claim another process made.
If the claimed server is unavailable or fails, the room is re-created on another server and
the claim moved (compare-and-set), so no meeting stays pinned to a dead server; the registry
remembers the room left behind, and whichever pool sees that server answer again ends it
(every worker shares the registry: not only the pool that moved the room knows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from adapters.conference.platform import (
    ConferencePlatform,
    LinkRole,
    Room,
    RoomSpec,
    RoomState,
    ServerLoad,
)
from adapters.conference.room_registry import RoomClaim, RoomRegistry
from adapters.conference.server_health import ServerHealth
from booking.errors import (
    DeviceAuthFailed,
    DeviceError,
    DeviceProtocolError,
    DeviceUnreachable,
    NoServerAvailable,
    NotFound,
    ServerAtCapacity,
)
from booking.resources import PlatformKind

SERVER_FAULTS = (DeviceUnreachable, DeviceProtocolError, DeviceAuthFailed)


@dataclass(frozen=True)
class Reservation:
    occurrence_id: str
    room_id: str
    participants: int
    terminals: int
    until: datetime


@dataclass(frozen=True)
class Usage:
    """What a server carries, as placement counts it."""

    server_id: str
    rooms: frozenset[str]
    participants: int
    ports: int


@dataclass
class _Member:
    platform: ConferencePlatform
    health: ServerHealth
    load: ServerLoad | None = None
    load_at: datetime | None = None
    reservations: dict[str, Reservation] = field(default_factory=dict)
    usage: Usage | None = None
    """Computed from `load` and `reservations`; dropped when either changes (placing a
    thousand rooms at a bell asks for every server's usage a thousand times)."""
    usage_until: datetime | None = None  # the first reservation's expiry
    unusable: str = ""
    """Why the server cannot be used at all until the service restarts ("" if it can)."""

    @property
    def id(self) -> str:
        return self.platform.server.id

    def set_load(self, load: ServerLoad, at: datetime) -> None:
        self.load, self.load_at, self.usage = load, at, None

    def reserve(self, reservation: Reservation) -> None:
        self.reservations[reservation.occurrence_id] = reservation
        self.usage = None

    def unreserve(self, occurrence_id: str) -> None:
        if self.reservations.pop(occurrence_id, None) is not None:
            self.usage = None


class ConferencePool:
    def __init__(
        self,
        platforms: Iterable[ConferencePlatform],
        registry: RoomRegistry,
        *,
        down_after: int = 3,
        up_after: int = 2,
        load_max_age: timedelta = timedelta(seconds=30),
        overrun: timedelta = timedelta(minutes=30),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        unusable: Mapping[str, str] | None = None,
    ) -> None:
        self.registry = registry
        self.load_max_age = load_max_age
        self.overrun = overrun
        self.now = now
        self._members: dict[str, _Member] = {}
        for platform in platforms:
            if platform.server.id in self._members:
                raise ValueError(f"server {platform.server.id!r} is in the pool twice")
            self._members[platform.server.id] = _Member(
                platform,
                ServerHealth(down_after=down_after, up_after=up_after),
                unusable=(unusable or {}).get(platform.server.id, ""),
            )
        self._refreshing: asyncio.Task[list[ServerLoad]] | None = None

    # --- members ---------------------------------------------------------------------------
    @property
    def server_ids(self) -> list[str]:
        return list(self._members)

    def _member(self, server_id: str) -> _Member:
        try:
            return self._members[server_id]
        except KeyError:
            raise NotFound(f"no conference server {server_id!r} in the pool") from None

    def platform(self, server_id: str) -> ConferencePlatform:
        return self._member(server_id).platform

    def health(self, server_id: str) -> ServerHealth:
        return self._member(server_id).health

    def last_load(self, server_id: str) -> ServerLoad | None:
        return self._member(server_id).load

    @property
    def unusable(self) -> dict[str, str]:
        """The servers left out of placement for good (until a restart), with the reason."""
        return {m.id: m.unusable for m in self._members.values() if m.unusable}

    # --- health bookkeeping -------------------------------------------------------------------
    def _succeeded(self, member: _Member) -> bool:
        return member.health.success(self.now())

    def _failed(self, member: _Member, error: DeviceError | str) -> None:
        reason = error if isinstance(error, str) else f"{error.code}: {error.message}"
        member.health.failure(reason, self.now())

    # --- load ----------------------------------------------------------------------------------
    async def refresh(self) -> list[ServerLoad]:
        """Poll every server's load now (one poll at a time: concurrent callers share it)."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._refreshing)

    async def _refresh(self) -> list[ServerLoad]:
        members = [m for m in self._members.values() if not m.unusable]
        loads = await asyncio.gather(*(m.platform.load() for m in members))
        answering = []
        for member, load in zip(members, loads, strict=True):
            member.set_load(load, self.now())
            if load.answering:
                self._succeeded(member)
                if member.health.available:
                    answering.append(member)
            else:
                self._failed(member, f"{load.error_code}: {load.error}")
        if answering:
            await self._end_left_behind(answering)
        return list(loads)

    async def _fresh(self) -> None:
        now = self.now()
        if any(
            m.load_at is None or now - m.load_at > self.load_max_age
            for m in self._members.values()
            if not m.unusable
        ):
            await self.refresh()

    def usage(self, server_id: str) -> Usage:
        member = self._member(server_id)
        now = self.now()
        if member.usage is not None and (member.usage_until is None or now <= member.usage_until):
            return member.usage
        for occurrence_id in [o for o, r in member.reservations.items() if r.until < now]:
            del member.reservations[occurrence_id]
        member.usage_until = min((r.until for r in member.reservations.values()), default=None)
        loaded = member.load.rooms if member.load is not None and member.load.answering else ()
        present = {r.room_id: r for r in loaded}
        reserved = {r.room_id: r for r in member.reservations.values()}
        participants = ports = 0
        for room_id in present.keys() | reserved.keys():
            there, held = present.get(room_id), reserved.get(room_id)
            declared = held.participants if held else 0
            if there is not None and held is None:
                declared = there.expected_participants or 0
            participants += max(there.participants if there else 0, declared)
            ports += max(there.sip_calls if there else 0, held.terminals if held else 0)
        gateway_in_use = member.load.gateway_ports_in_use if member.load is not None else 0
        member.usage = Usage(
            member.id,
            frozenset(present.keys() | reserved.keys()),
            participants,
            max(ports, gateway_in_use),
        )
        return member.usage

    # --- placement --------------------------------------------------------------------------
    def _unfit(self, member: _Member, spec: RoomSpec, kind: PlatformKind | None) -> str:
        """Why the member cannot take the room now ("" if it can)."""
        server = member.platform.server
        if kind is not None and server.kind is not kind:
            return f"not a {kind.value} server"
        if not server.active:
            return "switched off"
        if member.unusable:
            return f"unusable ({member.unusable})"
        if not member.health.available:
            return f"unavailable ({member.health.last_error or 'failing'})"
        if member.load is not None and not member.load.answering:
            return f"not answering ({member.load.error_code})"
        usage = self.usage(member.id)
        room_id = member.platform.room_id_for(spec.occurrence_id)
        if room_id in usage.rooms:
            return ""  # its room is there already
        if len(usage.rooms) + 1 > server.max_rooms:
            return f"{len(usage.rooms)} of {server.max_rooms} rooms in use"
        if usage.participants + spec.expected_participants > server.max_participants:
            return (
                f"{usage.participants} of {server.max_participants} participants, "
                f"{spec.expected_participants} more would not fit"
            )
        if spec.terminals:
            if not server.gateway_sip_host or server.gateway_ports <= 0:
                return "no SIP video gateway for the terminals"
            if member.load is not None and not member.load.gateway_answering:
                return "its SIP video gateway does not answer"
            if usage.ports + spec.terminals > server.gateway_ports:
                return (
                    f"{usage.ports} of {server.gateway_ports} gateway ports in use, "
                    f"{spec.terminals} more would not fit"
                )
        return ""

    def _score(self, member: _Member, spec: RoomSpec) -> tuple[float, float, str]:
        server = member.platform.server
        usage = self.usage(member.id)
        free = (server.max_participants - usage.participants - spec.expected_participants) / max(
            1, server.max_participants
        )
        rooms = (len(usage.rooms) + 1) / max(1, server.max_rooms)
        return (-free, rooms, member.id)

    def choose(
        self, spec: RoomSpec, kind: PlatformKind | None = None, exclude: Iterable[str] = ()
    ) -> ConferencePlatform:
        """The server the room should go to now (no network call)."""
        skipped = set(exclude)
        reasons: list[str] = []
        fitting: list[_Member] = []
        for member in self._members.values():
            if member.id in skipped:
                reasons.append(f"{member.id}: already tried")
                continue
            why = self._unfit(member, spec, kind)
            if why:
                reasons.append(f"{member.id}: {why}")
            else:
                fitting.append(member)
        if not fitting:
            wanted = f"{kind.value} " if kind else ""
            raise NoServerAvailable(
                f"no {wanted}server can take the room of occurrence {spec.occurrence_id}: "
                + ("; ".join(reasons) or "the pool is empty"),
                occurrence_id=spec.occurrence_id,
                reasons=reasons,
            )
        return min(fitting, key=lambda m: self._score(m, spec)).platform

    async def capacity_problem(self, spec: RoomSpec, kind: PlatformKind | None = None) -> str:
        """ "" if some server can take the room now, else why none can."""
        await self._fresh()
        try:
            self.choose(spec, kind)
        except NoServerAvailable as error:
            return error.message
        return ""

    def _reserve(self, member: _Member, spec: RoomSpec) -> None:
        member.reserve(
            Reservation(
                spec.occurrence_id,
                member.platform.room_id_for(spec.occurrence_id),
                spec.expected_participants,
                spec.terminals,
                spec.ends_at + self.overrun,
            )
        )

    def _unreserve(self, occurrence_id: str, keep: str | None = None) -> None:
        for member in self._members.values():
            if member.id != keep:
                member.unreserve(occurrence_id)

    # --- rooms ----------------------------------------------------------------------------------
    async def open_room(self, spec: RoomSpec, kind: PlatformKind | None = None) -> Room:
        """The occurrence's one room: created on the best server, or found where it was put
        (by us or another process); re-created elsewhere if that server is gone."""
        await self._fresh()
        claim = await self.registry.current(spec.occurrence_id)
        if claim is None:
            chosen = self._member(self.choose(spec, kind).server.id)
            self._reserve(chosen, spec)  # before any await: concurrent placements see it
            claim = await self.registry.claim(spec.occurrence_id, chosen.id)
        tried: list[str] = []
        errors: list[str] = []
        for _ in range(len(self._members) + 1):
            member = self._members.get(claim.server_id)
            if (
                member is not None
                and not member.unusable
                and member.health.available
                and member.platform.server.active
            ):
                self._reserve(member, spec)
                self._unreserve(spec.occurrence_id, keep=member.id)
                try:
                    room = await member.platform.create_room(spec)
                except ServerAtCapacity as error:
                    self._succeeded(member)
                    errors.append(f"{member.id}: {error.message}")
                except SERVER_FAULTS as error:
                    self._failed(member, error)
                    errors.append(f"{member.id}: {error.message}")
                else:
                    self._succeeded(member)
                    return room
            else:
                why = member.unusable if member is not None and member.unusable else "unavailable"
                errors.append(f"{claim.server_id}: {why}")
            tried.append(claim.server_id)
            claim = await self._relocate(spec, kind, claim, tried, errors)
        raise NoServerAvailable(
            f"no server could take the room of occurrence {spec.occurrence_id}: "
            + "; ".join(errors),
            occurrence_id=spec.occurrence_id,
            reasons=errors,
        )

    async def _relocate(
        self,
        spec: RoomSpec,
        kind: PlatformKind | None,
        claim: RoomClaim,
        tried: list[str],
        errors: list[str],
    ) -> RoomClaim:
        """Move the claim away from a server that could not take or keep the room."""
        self._unreserve(spec.occurrence_id)
        try:
            target = self._member(self.choose(spec, kind, exclude=tried).server.id)
        except NoServerAvailable as error:
            raise NoServerAvailable(
                f"{error.message}; tried: " + "; ".join(errors),
                occurrence_id=spec.occurrence_id,
                reasons=[*errors, *error.details.get("reasons", [])],
            ) from None
        self._reserve(target, spec)
        moved = await self.registry.move(claim, target.id)
        if moved is None:  # another process moved it first: follow its choice
            current = await self.registry.current(spec.occurrence_id)
            moved = current or await self.registry.claim(spec.occurrence_id, target.id)
        return moved

    async def _end_left_behind(self, members: list[_Member]) -> None:
        """Servers that answer: end the rooms left on them when their occurrences' rooms
        moved away (by this pool or any other: the registry is shared), unless the room
        moved back. A server that fails to end one keeps it for the next round."""
        by_id = {m.id: m for m in members}
        left = await self.registry.left_behind(by_id)
        if not left:
            return
        done: list[tuple[str, str]] = []

        async def end(occurrence_id: str, member: _Member, left_at: datetime) -> None:
            claim = await self.registry.current(occurrence_id)
            if claim is None or claim.server_id != member.id:
                room = Room(
                    occurrence_id=occurrence_id,
                    server_id=member.id,
                    platform=member.platform.server.kind,
                    room_id=member.platform.room_id_for(occurrence_id),
                    sip_address="",
                    opens_at=left_at,
                    ends_at=left_at,
                )
                try:
                    await member.platform.end_room(room)
                except NotFound:
                    pass  # never created there, or ended already
                except DeviceError:
                    return  # try again next round
            done.append((occurrence_id, member.id))

        await asyncio.gather(*(end(r.occurrence_id, by_id[r.server_id], r.left_at) for r in left))
        await self.registry.forget_left(done)

    async def end_room(self, room: Room) -> None:
        """End the room on its server and forget it (the claim is released)."""
        member = self._member(room.server_id)
        try:
            await member.platform.end_room(room)
        except SERVER_FAULTS as error:
            self._failed(member, error)
            raise
        finally:
            member.unreserve(room.occurrence_id)
        self._succeeded(member)
        await self.registry.release(room.occurrence_id)

    async def room_state(self, room: Room) -> RoomState:
        member = self._member(room.server_id)
        try:
            state = await member.platform.room_state(room)
        except SERVER_FAULTS as error:
            self._failed(member, error)
            raise
        self._succeeded(member)
        return state

    def join_link(
        self, room: Room, role: LinkRole, display_name: str, user_id: str, email: str = ""
    ) -> str:
        return self.platform(room.server_id).join_link(room, role, display_name, user_id, email)

    def sip_address(self, room: Room) -> str:
        return self.platform(room.server_id).sip_address(room)
