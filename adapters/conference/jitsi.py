"""Jitsi Meet: rooms are MUC rooms that exist while occupied; access is by per-person JWT.

This module is the "jitsi-meet-api-wrapper" the project card names: no package of that
name exists on PyPI (nor a maintained Python library for Jitsi rooms and tokens), so the
wrapper is ours — PyJWT for the tokens (`jitsi_token`) and httpx for prosody's HTTP modules.

- Room names are derived with HMAC from the occurrence id and the deployment's app secret
  (`identity.jitsi_room_name`): the same occurrence always gets the same room (so a retried
  start never makes a second one), and nobody can guess the room of a lesson.
- A Jitsi room needs no create call — its first participant creates it. `create_room`
  therefore checks the server answers and has room left (census against `max_rooms` and
  `max_participants`), and returns the room.
- Presence: `/room-size` and `/room` (mod_muc_size), `/room-census` (mod_muc_census) for the
  load; with `roomsize_token=True` a short service token is sent, for deployments that set
  `enable_roomsize_token_verification`.
- Ending: `POST /end-meeting?conference=<room JID>` with a bearer service token
  (jitsi-meet's `mod_muc_end_meeting`); a 404 for a room that still has people means the
  module is missing, which is a `DeviceProtocolError`, not a silent success.
- Terminals dial the server's SIP video gateway with the room name; the gateway's status
  says which terminal is in which room. Jitsi's room list has no roles and no client type,
  so occupants are told apart by the gateway's call count (occupants without an e-mail, as
  a gateway joins, count as terminals); `RoomState.terminal_addresses` is the reliable part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from adapters.conference import identity
from adapters.conference.gateway import SipVideoGateway
from adapters.conference.jitsi_token import TokenIssuer
from adapters.conference.platform import (
    LinkRole,
    Participant,
    ParticipantKind,
    Room,
    RoomLoad,
    RoomSpec,
    RoomState,
    ServerLoad,
)
from adapters.conference.transport import RetryPolicy, request
from booking.errors import (
    DeviceAuthFailed,
    DeviceError,
    DeviceProtocolError,
    ServerAtCapacity,
)
from booking.resources import ConferenceServer, PlatformKind

SERVICE_USER = "vks-service"


@dataclass(frozen=True)
class JitsiOptions:
    app_id: str = "vks"
    audience: str = "jitsi"
    domain: str = ""  # XMPP domain (`sub`, `domain=`); "" → the host of the web URL
    web_url: str = ""  # what links open, e.g. https://meet.kuzbass.example.ru; "" → base_url
    muc_prefix: str = "conference"
    roomsize_token: bool = False
    clock_leeway: timedelta = timedelta(minutes=5)  # nbf this much before the set-up starts
    overrun: timedelta = timedelta(minutes=30)  # exp this much after the lesson ends
    service_token_ttl: timedelta = timedelta(minutes=5)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class JitsiPlatform:
    """One Jitsi Meet deployment; `server.base_url` is prosody's HTTP base."""

    def __init__(
        self,
        server: ConferenceServer,
        app_secret: str,
        client: httpx.AsyncClient,
        *,
        options: JitsiOptions | None = None,
        gateway: SipVideoGateway | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.server = server
        self.app_secret = app_secret
        self.client = client
        self.options = opts = options or JitsiOptions()
        self.api = server.base_url.rstrip("/")
        self.web_url = (opts.web_url or _origin(server.base_url)).rstrip("/")
        self.domain = opts.domain or (urlsplit(self.web_url).hostname or "meet.jitsi")
        self.tokens = TokenIssuer(opts.app_id, app_secret, opts.audience, self.domain)
        self.gateway = gateway or SipVideoGateway(
            server.gateway_sip_host, server.gateway_ports, client, name=f"{server.id} gateway"
        )
        self.now = now

    # --- identity and tokens ------------------------------------------------------------------
    def room_id_for(self, occurrence_id: str) -> str:
        return identity.jitsi_room_name(self.app_secret, occurrence_id)

    def room_jid(self, room_name: str) -> str:
        return f"{room_name}@{self.options.muc_prefix}.{self.domain}"

    def token(
        self, room: Room, role: LinkRole, display_name: str, user_id: str, email: str = ""
    ) -> str:
        """The participant's JWT, valid from the set-up buffer to the end plus overrun."""
        return self.tokens.token(
            room.room_id,
            not_before=room.opens_at - self.options.clock_leeway,
            expires=room.ends_at + self.options.overrun,
            user_id=user_id,
            name=display_name,
            email=email,
            moderator=role is LinkRole.MODERATOR,
        )

    def _service_token(self, room_name: str) -> str:
        now = self.now()
        return self.tokens.token(
            room_name,
            not_before=now - self.options.clock_leeway,
            expires=now + self.options.service_token_ttl,
            user_id=SERVICE_USER,
            name="VKS",
            moderator=True,
        )

    # --- HTTP ------------------------------------------------------------------------------
    async def _get(
        self, path: str, params: dict[str, str] | None = None
    ) -> tuple[httpx.Response, float]:
        url = self.api + path + (("?" + urlencode(params)) if params else "")
        answer = await request(
            self.client, "GET", url, device=self.server.id, retry=self.options.retry
        )
        if answer.response.status_code in (401, 403):
            raise DeviceAuthFailed(
                f"{self.server.id}: HTTP {answer.response.status_code} for {path}",
                device=self.server.id,
            )
        return answer.response, answer.round_trip_ms

    def _json(self, response: httpx.Response, what: str) -> Any:
        if response.status_code != 200:
            raise DeviceProtocolError(
                f"{self.server.id}: HTTP {response.status_code} for {what}",
                device=self.server.id,
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise DeviceProtocolError(
                f"{self.server.id}: {what} answered something that is not JSON",
                device=self.server.id,
            ) from exc

    async def _census(self) -> tuple[tuple[RoomLoad, ...], float]:
        response, round_trip = await self._get("/room-census")
        data = self._json(response, "room-census")
        try:
            rooms = tuple(
                RoomLoad(
                    room_id=str(r["room_name"]).split("@", 1)[0].lower(),
                    participants=int(r.get("participants", 0)),
                )
                for r in data["room_census"]
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DeviceProtocolError(
                f"{self.server.id}: unreadable room census ({exc})", device=self.server.id
            ) from exc
        return rooms, round_trip

    def _room_params(self, room_name: str) -> dict[str, str]:
        params = {"room": room_name, "domain": self.domain}
        if self.options.roomsize_token:
            params["token"] = self._service_token(room_name)
        return params

    # --- rooms ------------------------------------------------------------------------------
    async def create_room(self, spec: RoomSpec) -> Room:
        name = self.room_id_for(spec.occurrence_id)
        rooms, _ = await self._census()
        present = any(r.room_id == name for r in rooms)
        if not present:
            if len(rooms) >= self.server.max_rooms:
                raise ServerAtCapacity(
                    f"{self.server.id}: {len(rooms)} rooms open, limit {self.server.max_rooms}",
                    device=self.server.id,
                )
            people = sum(r.participants for r in rooms)
            if people + spec.expected_participants > self.server.max_participants:
                raise ServerAtCapacity(
                    f"{self.server.id}: {people} participants now, {spec.expected_participants} "
                    f"more would pass the limit of {self.server.max_participants}",
                    device=self.server.id,
                )
        sip = self.gateway.address(name) if self.gateway.configured else ""
        return Room(
            occurrence_id=spec.occurrence_id,
            server_id=self.server.id,
            platform=PlatformKind.JITSI,
            room_id=name,
            sip_address=sip,
            opens_at=spec.opens_at,
            ends_at=spec.ends_at,
            details={"domain": self.domain},
            created=not present,
        )

    async def end_room(self, room: Room) -> None:
        url = self.api + "/end-meeting?" + urlencode({"conference": self.room_jid(room.room_id)})
        answer = await request(
            self.client,
            "POST",
            url,
            device=self.server.id,
            retry=self.options.retry,
            headers={"Authorization": f"Bearer {self._service_token(room.room_id)}"},
        )
        status = answer.response.status_code
        if status in (200, 204):
            return
        if status == 404:
            # "no such room" — or no end-meeting module on this deployment: tell them apart
            if await self.room_size(room) == 0:
                return
            raise DeviceProtocolError(
                f"{self.server.id}: cannot end room {room.room_id}: POST /end-meeting is not "
                "served (is mod_muc_end_meeting enabled?)",
                device=self.server.id,
            )
        if status in (401, 403):
            raise DeviceAuthFailed(
                f"{self.server.id}: end-meeting refused our token", device=self.server.id
            )
        raise DeviceProtocolError(
            f"{self.server.id}: HTTP {status} for end-meeting", device=self.server.id
        )

    async def room_size(self, room: Room) -> int:
        """Participants in the room (0 when nobody is in it, so it does not exist)."""
        response, _ = await self._get("/room-size", self._room_params(room.room_id))
        if response.status_code == 404:
            return 0
        data = self._json(response, "room-size")
        try:
            return int(data["participants"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DeviceProtocolError(
                f"{self.server.id}: unreadable room-size ({exc})", device=self.server.id
            ) from exc

    async def room_state(self, room: Room) -> RoomState:
        response, _ = await self._get("/room", self._room_params(room.room_id))
        if response.status_code == 404:
            return RoomState(room.room_id, exists=True, running=False)
        data = self._json(response, "room")
        if not isinstance(data, list):
            raise DeviceProtocolError(
                f"{self.server.id}: the room list is not a list", device=self.server.id
            )
        addresses: frozenset[str] = frozenset()
        gateway_calls = 0
        if self.gateway.configured:
            status = await self.gateway.status()
            addresses = status.callers_in(room.room_id)
            gateway_calls = sum(1 for c in status.calls if c.room == room.room_id.lower())
        participants = []
        for occupant in data:
            if not isinstance(occupant, dict):
                continue
            jid = str(occupant.get("jid", ""))
            email = str(occupant.get("email") or "")
            is_terminal = not email and gateway_calls > 0
            if is_terminal:
                gateway_calls -= 1
            participants.append(
                Participant(
                    name=str(occupant.get("display_name") or ""),
                    kind=ParticipantKind.TERMINAL if is_terminal else ParticipantKind.PERSON,
                    role=None,
                    user_id=jid.rsplit("/", 1)[-1],
                )
            )
        return RoomState(
            room.room_id,
            exists=True,
            running=bool(participants),
            participants=tuple(participants),
            terminal_addresses=addresses,
        )

    async def load(self) -> ServerLoad:
        try:
            rooms, round_trip = await self._census()
        except DeviceError as error:
            return ServerLoad(self.server.id, False, error_code=error.code, error=error.message)
        gateway_answering, in_use = False, 0
        if self.gateway.configured:
            try:
                status = await self.gateway.status()
            except DeviceError:
                pass
            else:
                gateway_answering, in_use = True, status.in_use
                calls: dict[str, int] = {}
                for call in status.calls:
                    calls[call.room] = calls.get(call.room, 0) + 1
                rooms = tuple(
                    RoomLoad(r.room_id, r.participants, calls.get(r.room_id, 0)) for r in rooms
                )
        return ServerLoad(
            self.server.id,
            True,
            rooms=rooms,
            gateway_answering=gateway_answering,
            gateway_ports_in_use=in_use,
            round_trip_ms=round_trip,
        )

    # --- links and addresses -------------------------------------------------------------------
    def join_link(
        self, room: Room, role: LinkRole, display_name: str, user_id: str, email: str = ""
    ) -> str:
        token = self.token(room, role, display_name, user_id, email)
        return f"{self.web_url}/{room.room_id}?jwt={token}"

    def sip_address(self, room: Room) -> str:
        return self.gateway.address(room.room_id)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme else url
