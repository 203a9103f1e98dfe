"""Meetings, attendees and recordings of the simulated BigBlueButton server, with the
rules bbb-web applies to them (idempotent create, passwords and roles, voice bridges,
participant limits, expiry of meetings nobody joined or everybody left).

Expiry is lazy: `sweep()` runs at the start of every API call, so no timer runs per meeting.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

FORCIBLY_ENDED_MEMORY = 1024
SWEEP_INTERVAL_S = 0.2


class ApiError(Exception):
    """A `FAILED` answer with a real bbb-web messageKey."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def missing_meeting_id() -> ApiError:
    return ApiError("missingParamMeetingID", "You must specify a meeting ID for the meeting.")


def not_found() -> ApiError:
    return ApiError(
        "notFound",
        "We could not find a meeting with that meeting ID - perhaps the meeting is not yet "
        "running?",
    )


@dataclass(slots=True)
class Attendee:
    user_id: str
    full_name: str
    role: str
    """MODERATOR or VIEWER."""
    client_type: str = "HTML5"
    """HTML5 for web users, dial-in-user for SIP callers."""
    sip: bool = False

    @property
    def has_video(self) -> bool:
        return self.sip

    @property
    def has_joined_voice(self) -> bool:
        return True

    @property
    def listening_only(self) -> bool:
        return False


@dataclass(slots=True)
class Meeting:
    meeting_id: str
    name: str
    internal_id: str
    attendee_pw: str
    moderator_pw: str
    voice_bridge: str
    dial_number: str
    create_time_ms: int
    created: float
    """time.monotonic() at create."""
    duration_min: int = 0
    max_participants: int = 0
    record: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    expire_no_user_s: float = 300.0
    expire_last_left_s: float = 60.0
    attendees: dict[str, Attendee] = field(default_factory=dict)
    sessions: dict[str, Attendee] = field(default_factory=dict)
    """Join session tokens handed out by `join`, attendee to be once the client connects."""
    start_time_ms: int = 0
    started: float = 0.0
    end_time_ms: int = 0
    last_left: float | None = None
    peak: int = 0
    forcibly_ended: bool = False

    @property
    def create_date(self) -> str:
        moment = datetime.fromtimestamp(self.create_time_ms / 1000, UTC)
        return moment.strftime("%a %b %d %H:%M:%S UTC %Y")

    @property
    def running(self) -> bool:
        return self.start_time_ms > 0 and self.end_time_ms == 0

    @property
    def has_user_joined(self) -> bool:
        return self.start_time_ms > 0

    def expired(self, now: float) -> bool:
        if self.attendees:
            return (
                self.duration_min > 0
                and self.started > 0
                and now - self.started >= self.duration_min * 60
            )
        if self.start_time_ms == 0:
            return now - self.created >= self.expire_no_user_s
        return self.last_left is not None and now - self.last_left >= self.expire_last_left_s


@dataclass(slots=True)
class Recording:
    record_id: str
    meeting_id: str
    internal_id: str
    name: str
    start_time_ms: int
    end_time_ms: int
    participants: int
    metadata: dict[str, str]
    state: str = "published"

    @property
    def published(self) -> bool:
        return self.state == "published"


EndHook = Callable[[Meeting, bool], None]
"""Called with (meeting, forcibly) when a meeting ends (end call or expiry)."""


class MeetingRegistry:
    """Every meeting of one server, and the limits it enforces."""

    def __init__(
        self,
        *,
        max_meetings: int | None = None,
        max_participants: int | None = None,
        expire_no_user_s: float = 300.0,
        expire_last_left_s: float = 60.0,
        on_end: EndHook | None = None,
    ) -> None:
        self.max_meetings = max_meetings
        self.max_participants = max_participants
        self.expire_no_user_s = expire_no_user_s
        self.expire_last_left_s = expire_last_left_s
        self.on_end = on_end
        self.by_id: dict[str, Meeting] = {}
        self.by_voice_bridge: dict[str, Meeting] = {}
        self.by_session: dict[str, Meeting] = {}
        self.forcibly_ended: dict[str, float] = {}
        self.recordings: list[Recording] = []
        self.participants = 0
        self._swept = 0.0

    # --- lifecycle ---------------------------------------------------------------------
    def sweep(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now - self._swept < SWEEP_INTERVAL_S:
            return
        self._swept = now
        for meeting in [m for m in self.by_id.values() if m.expired(now)]:
            self._finish(meeting, forcibly=False, wall_ms=int(time.time() * 1000))

    def create(
        self,
        meeting_id: str,
        name: str,
        *,
        attendee_pw: str | None,
        moderator_pw: str | None,
        voice_bridge: str | None,
        dial_number: str,
        duration_min: int,
        max_participants: int,
        record: bool,
        metadata: dict[str, str],
        expire_no_user_s: float | None,
        wall_ms: int,
        at_capacity: bool,
    ) -> tuple[Meeting, bool]:
        """Create (or find) a meeting; returns (meeting, duplicate)."""
        existing = self.by_id.get(meeting_id)
        if existing is not None:
            if (attendee_pw is not None and attendee_pw != existing.attendee_pw) or (
                moderator_pw is not None and moderator_pw != existing.moderator_pw
            ):
                raise ApiError(
                    "idNotUnique",
                    "A meeting already exists with that meeting ID.  Please use a different "
                    "meeting ID.",
                )
            return existing, True
        if at_capacity or (self.max_meetings is not None and len(self.by_id) >= self.max_meetings):
            raise ApiError("internalError", "Could not find any available servers.")
        if voice_bridge:
            if voice_bridge in self.by_voice_bridge:
                raise ApiError(
                    "nonUniqueVoiceBridge", "The selected voice bridge is already in use."
                )
        else:
            voice_bridge = self._free_voice_bridge()
        internal = f"{hashlib.sha1(meeting_id.encode()).hexdigest()}-{wall_ms}"
        meeting = Meeting(
            meeting_id=meeting_id,
            name=name,
            internal_id=internal,
            attendee_pw=attendee_pw if attendee_pw is not None else secrets.token_urlsafe(6),
            moderator_pw=moderator_pw if moderator_pw is not None else secrets.token_urlsafe(6),
            voice_bridge=voice_bridge,
            dial_number=dial_number,
            create_time_ms=wall_ms,
            created=time.monotonic(),
            duration_min=duration_min,
            max_participants=max_participants,
            record=record,
            metadata=metadata,
            expire_no_user_s=expire_no_user_s
            if expire_no_user_s is not None
            else self.expire_no_user_s,
            expire_last_left_s=self.expire_last_left_s,
        )
        self.by_id[meeting_id] = meeting
        self.by_voice_bridge[voice_bridge] = meeting
        self.forcibly_ended.pop(meeting_id, None)
        return meeting, False

    def _free_voice_bridge(self) -> str:
        while True:
            candidate = str(random.randint(10000, 99999))
            if candidate not in self.by_voice_bridge:
                return candidate

    def end(self, meeting: Meeting, wall_ms: int) -> None:
        self._finish(meeting, forcibly=True, wall_ms=wall_ms)

    def _finish(self, meeting: Meeting, *, forcibly: bool, wall_ms: int) -> None:
        if self.by_id.get(meeting.meeting_id) is not meeting:
            return
        del self.by_id[meeting.meeting_id]
        self.by_voice_bridge.pop(meeting.voice_bridge, None)
        for token in meeting.sessions:
            self.by_session.pop(token, None)
        self.participants -= len(meeting.attendees)
        meeting.end_time_ms = wall_ms
        meeting.forcibly_ended = forcibly
        if forcibly:
            self.forcibly_ended[meeting.meeting_id] = time.monotonic()
            while len(self.forcibly_ended) > FORCIBLY_ENDED_MEMORY:
                del self.forcibly_ended[next(iter(self.forcibly_ended))]
        if meeting.record and meeting.start_time_ms:
            self.recordings.append(
                Recording(
                    record_id=meeting.internal_id,
                    meeting_id=meeting.meeting_id,
                    internal_id=meeting.internal_id,
                    name=meeting.name,
                    start_time_ms=meeting.start_time_ms,
                    end_time_ms=wall_ms,
                    participants=meeting.peak,
                    metadata=dict(meeting.metadata),
                )
            )
        if self.on_end is not None:
            self.on_end(meeting, forcibly)

    # --- people ----------------------------------------------------------------------------
    def full(self, meeting: Meeting, at_capacity: bool) -> bool:
        if at_capacity:
            return True
        if meeting.max_participants > 0 and len(meeting.attendees) >= meeting.max_participants:
            return True
        return self.max_participants is not None and self.participants >= self.max_participants

    def register(self, meeting: Meeting, attendee: Attendee) -> str:
        """A successful join call: a session token the client will connect with."""
        token = secrets.token_urlsafe(12)
        meeting.sessions[token] = attendee
        self.by_session[token] = meeting
        return token

    def add(self, meeting: Meeting, attendee: Attendee, wall_ms: int) -> None:
        if attendee.user_id in meeting.attendees:
            return
        meeting.attendees[attendee.user_id] = attendee
        self.participants += 1
        meeting.peak = max(meeting.peak, len(meeting.attendees))
        meeting.last_left = None
        if meeting.start_time_ms == 0:
            meeting.start_time_ms = wall_ms
            meeting.started = time.monotonic()

    def remove(self, meeting: Meeting, user_id: str) -> bool:
        if meeting.attendees.pop(user_id, None) is None:
            return False
        self.participants -= 1
        if not meeting.attendees:
            meeting.last_left = time.monotonic()
        return True
