"""BigBlueButton: rooms are meetings created through the bbb-web API.

- Every call is checksum-signed (`bbb_checksum`): sha256 by default, sha1 for old servers.
- The meetingID, the passwords (old servers only) and the first voiceBridge candidate are
  derived from the occurrence id (`identity`), so a retried or concurrent `create` gets
  `duplicateWarning` and the existing meeting back — never a second meeting. A voiceBridge
  clash (`nonUniqueVoiceBridge`) moves on to the next derived candidate.
- `create` carries the booking, occurrence and schools as `meta_vks_*` metadata (so
  getMeetings shows every process what a meeting is for and how many people it expects),
  `meetingExpireIfNoUserJoinedInMinutes` long enough for the set-up buffer (bbb-web's
  default of 5 minutes would end a room created at set-up before the lesson starts) and a
  `duration` that stops a forgotten meeting after the lesson and its allowed overrun.
- Join links use `role=MODERATOR|VIEWER` (BBB 2.4+); `join_with_role=False` falls back to
  the moderator/attendee passwords for older servers and Scalelite.
- FAILED answers map to domain errors by messageKey (`FAILURES`); refused, reset or
  timed-out requests are `DeviceUnreachable`.
- Terminals dial the server's SIP video gateway with the meeting's voiceBridge.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from adapters.conference import identity
from adapters.conference.bbb_checksum import signed_query
from adapters.conference.gateway import SipVideoGateway
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
    DomainError,
    NotFound,
    ServerAtCapacity,
)
from booking.resources import ConferenceServer, PlatformKind

META_PREFIX = "vks_"
DIAL_IN_CLIENT = "dial-in-user"


@dataclass(frozen=True)
class BbbOptions:
    checksum_algorithm: str = "sha256"
    join_with_role: bool = True
    voice_bridge_attempts: int = 8
    overrun: timedelta = timedelta(minutes=30)  # the meeting stops this long after the lesson
    no_show_grace: timedelta = timedelta(minutes=15)  # unjoined meeting lives past the start
    logout_url: str = ""
    end_callback_url: str = ""  # meta_endCallbackUrl: bbb-web GETs it when the meeting ends
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class _VoiceBridgeTaken(Exception):
    pass


def api_base(base_url: str) -> str:
    """`…/bigbluebutton/api` from a base URL given with or without the BBB path."""
    url = base_url.rstrip("/")
    path = urlsplit(url).path.rstrip("/")
    if path.endswith("/bigbluebutton/api"):
        return url
    if path.endswith("/bigbluebutton"):
        return url + "/api"
    return url + "/bigbluebutton/api"


def failure_error(device: str, key: str, message: str) -> DomainError:
    """A FAILED answer as a domain error (`details` keep the messageKey)."""
    text = f"{device}: {key}: {message}".rstrip(": ")
    kind = FAILURES.get(key)
    if kind is None and key == "internalError" and "available" in message.lower():
        kind = ServerAtCapacity  # Scalelite (and our simulator): no server can take it
    if kind is None:
        kind = DeviceProtocolError
    return kind(text, device=device, message_key=key)


FAILURES: dict[str, type[DomainError]] = {
    "checksumError": DeviceAuthFailed,
    "invalidPassword": DeviceAuthFailed,
    "notFound": NotFound,
    "invalidMeetingIdentifier": NotFound,
    "meetingForciblyEnded": NotFound,
    "maxParticipantsReached": ServerAtCapacity,
    "maxMeetingsReached": ServerAtCapacity,
}


class BbbPlatform:
    """One BigBlueButton server (or a Scalelite front, with `join_with_role=False`)."""

    def __init__(
        self,
        server: ConferenceServer,
        secret: str,
        client: httpx.AsyncClient,
        *,
        options: BbbOptions | None = None,
        gateway: SipVideoGateway | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.server = server
        self.secret = secret
        self.client = client
        self.options = options or BbbOptions()
        self.gateway = gateway or SipVideoGateway(
            server.gateway_sip_host, server.gateway_ports, client, name=f"{server.id} gateway"
        )
        self.now = now
        self.api = api_base(server.base_url)

    # --- identity ------------------------------------------------------------------------
    def room_id_for(self, occurrence_id: str) -> str:
        return identity.bbb_meeting_id(occurrence_id)

    def _password(self, occurrence_id: str, role: LinkRole) -> str:
        return identity.bbb_password(self.secret, occurrence_id, role.value)

    # --- the API ---------------------------------------------------------------------------
    def url(self, call: str, params: Sequence[tuple[str, str]]) -> str:
        query = signed_query(call, params, self.secret, self.options.checksum_algorithm)
        return f"{self.api}/{call}?{query}"

    async def _call(self, call: str, params: Sequence[tuple[str, str]]) -> tuple[ET.Element, float]:
        answer = await request(
            self.client,
            "GET",
            self.url(call, params),
            device=self.server.id,
            retry=self.options.retry,
        )
        response = answer.response
        if response.status_code in (401, 403):
            raise DeviceAuthFailed(
                f"{self.server.id}: HTTP {response.status_code}", device=self.server.id
            )
        if response.status_code != 200:
            raise DeviceProtocolError(
                f"{self.server.id}: HTTP {response.status_code} for {call}",
                device=self.server.id,
                status=response.status_code,
            )
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise DeviceProtocolError(
                f"{self.server.id}: {call} answered something that is not XML",
                device=self.server.id,
            ) from exc
        if root.tag != "response":
            raise DeviceProtocolError(
                f"{self.server.id}: {call} answered <{root.tag}>, not <response>",
                device=self.server.id,
            )
        if _text(root, "returncode") != "SUCCESS":
            key, message = _text(root, "messageKey"), _text(root, "message")
            if call == "create" and key == "nonUniqueVoiceBridge":
                raise _VoiceBridgeTaken(message)
            raise failure_error(self.server.id, key, message)
        return root, answer.round_trip_ms

    # --- rooms -------------------------------------------------------------------------------
    def _create_params(self, spec: RoomSpec, voice_bridge: str) -> list[tuple[str, str]]:
        now = self.now()
        opts = self.options
        until_start = max(timedelta(0), spec.starts_at - now)
        expire_min = math.ceil((until_start + opts.no_show_grace).total_seconds() / 60)
        duration_min = math.ceil(
            (max(spec.ends_at - now, timedelta(0)) + opts.overrun).total_seconds() / 60
        )
        name = (spec.title.strip() or f"Занятие {spec.occurrence_id}")[:64].ljust(2, ".")
        params = [
            ("name", name),
            ("meetingID", self.room_id_for(spec.occurrence_id)),
            ("voiceBridge", voice_bridge),
            ("record", "true" if spec.record else "false"),
            ("duration", str(max(1, duration_min))),
            ("meetingExpireIfNoUserJoinedInMinutes", str(max(1, expire_min))),
            (f"meta_{META_PREFIX}origin", "vks"),
            (f"meta_{META_PREFIX}occurrence_id", spec.occurrence_id),
            (f"meta_{META_PREFIX}booking_id", spec.booking_id),
            (f"meta_{META_PREFIX}school_ids", " ".join(spec.school_ids)),
            (f"meta_{META_PREFIX}expected_participants", str(spec.expected_participants)),
            (f"meta_{META_PREFIX}terminals", str(spec.terminals)),
        ]
        if spec.teacher_name:
            params.append((f"meta_{META_PREFIX}teacher", spec.teacher_name))
        if not opts.join_with_role:
            params.append(("attendeePW", self._password(spec.occurrence_id, LinkRole.ATTENDEE)))
            params.append(("moderatorPW", self._password(spec.occurrence_id, LinkRole.MODERATOR)))
        if opts.logout_url:
            params.append(("logoutURL", opts.logout_url))
        if opts.end_callback_url:
            params.append(("meta_endCallbackUrl", opts.end_callback_url))
        return params

    async def create_room(self, spec: RoomSpec) -> Room:
        last: _VoiceBridgeTaken | None = None
        for attempt in range(self.options.voice_bridge_attempts):
            candidate = identity.voice_bridge(self.secret, spec.occurrence_id, attempt)
            try:
                root, _ = await self._call("create", self._create_params(spec, candidate))
            except _VoiceBridgeTaken as taken:
                last = taken
                continue
            voice_bridge = _text(root, "voiceBridge") or candidate
            room = Room(
                occurrence_id=spec.occurrence_id,
                server_id=self.server.id,
                platform=PlatformKind.BBB,
                room_id=_text(root, "meetingID") or self.room_id_for(spec.occurrence_id),
                sip_address="",
                opens_at=spec.opens_at,
                ends_at=spec.ends_at,
                details={
                    "voice_bridge": voice_bridge,
                    "internal_meeting_id": _text(root, "internalMeetingID"),
                    "create_time": _text(root, "createTime"),
                },
                created=_text(root, "messageKey") != "duplicateWarning",
            )
            if self.gateway.configured:
                room = replace(room, sip_address=self.gateway.address(voice_bridge))
            return room
        raise DeviceProtocolError(
            f"{self.server.id}: no free voiceBridge after {self.options.voice_bridge_attempts} "
            f"tries ({last})",
            device=self.server.id,
        )

    async def end_room(self, room: Room) -> None:
        params = [("meetingID", room.room_id)]
        if not self.options.join_with_role:
            params.append(("password", self._password(room.occurrence_id, LinkRole.MODERATOR)))
        try:
            await self._call("end", params)
        except NotFound:
            return  # already ended (or expired): what we wanted

    async def is_running(self, room: Room) -> bool:
        root, _ = await self._call("isMeetingRunning", [("meetingID", room.room_id)])
        return _text(root, "running") == "true"

    async def room_state(self, room: Room) -> RoomState:
        try:
            root, _ = await self._call("getMeetingInfo", [("meetingID", room.room_id)])
        except NotFound:
            return RoomState(room.room_id, exists=False, running=False)
        participants = tuple(_participant(a) for a in root.iterfind("attendees/attendee"))
        addresses: frozenset[str] = frozenset()
        if self.gateway.configured and any(
            p.kind is ParticipantKind.TERMINAL for p in participants
        ):
            status = await self.gateway.status()
            addresses = status.callers_in(
                room.room_id,
                _text(root, "internalMeetingID"),
                _text(root, "voiceBridge"),
            )
        return RoomState(
            room.room_id,
            exists=True,
            running=_text(root, "running") == "true",
            participants=participants,
            terminal_addresses=addresses,
        )

    async def load(self) -> ServerLoad:
        try:
            root, round_trip = await self._call("getMeetings", [])
        except DeviceError as error:
            return ServerLoad(self.server.id, False, error_code=error.code, error=error.message)
        rooms = tuple(_room_load(m) for m in root.iterfind("meetings/meeting"))
        gateway_answering, in_use = False, sum(r.sip_calls for r in rooms)
        if self.gateway.configured:
            try:
                in_use = (await self.gateway.status()).in_use
                gateway_answering = True
            except DeviceError:
                gateway_answering = False
        return ServerLoad(
            self.server.id,
            True,
            rooms=rooms,
            gateway_answering=gateway_answering,
            gateway_ports_in_use=in_use,
            round_trip_ms=round_trip,
        )

    # --- links and addresses --------------------------------------------------------------------
    def join_link(
        self, room: Room, role: LinkRole, display_name: str, user_id: str, email: str = ""
    ) -> str:
        params = [("fullName", display_name), ("meetingID", room.room_id)]
        if self.options.join_with_role:
            params.append(("role", "MODERATOR" if role is LinkRole.MODERATOR else "VIEWER"))
        else:
            params.append(("password", self._password(room.occurrence_id, role)))
        if user_id:
            params.append(("userID", user_id))
        return self.url("join", params)

    def sip_address(self, room: Room) -> str:
        voice_bridge = room.details.get("voice_bridge")
        if not voice_bridge:
            raise DeviceProtocolError(
                f"{self.server.id}: room {room.room_id} has no voiceBridge", device=self.server.id
            )
        return self.gateway.address(voice_bridge)


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _participant(attendee: ET.Element) -> Participant:
    user_id = _text(attendee, "userID")
    dial_in = _text(attendee, "clientType") == DIAL_IN_CLIENT or user_id.startswith("v_")
    role = LinkRole.MODERATOR if _text(attendee, "role") == "MODERATOR" else LinkRole.ATTENDEE
    return Participant(
        name=_text(attendee, "fullName"),
        kind=ParticipantKind.TERMINAL if dial_in else ParticipantKind.PERSON,
        role=role,
        user_id=user_id,
    )


def _room_load(meeting: ET.Element) -> RoomLoad:
    sip_calls = sum(
        1
        for a in meeting.iterfind("attendees/attendee")
        if _participant(a).kind is ParticipantKind.TERMINAL
    )
    expected = _text(meeting, f"metadata/{META_PREFIX}expected_participants")
    try:
        participants = int(_text(meeting, "participantCount") or 0)
    except ValueError:
        participants = 0
    return RoomLoad(
        room_id=_text(meeting, "meetingID"),
        participants=participants,
        sip_calls=sip_calls,
        expected_participants=int(expected) if expected.isdigit() else None,
    )
