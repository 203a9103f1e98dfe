"""A simulated BigBlueButton server (bbb-web API plus what a test needs around it).

    /bigbluebutton/api/                      version (no checksum)
    /bigbluebutton/api/<call>?…&checksum=    create, join, end, isMeetingRunning,
                                             getMeetingInfo, getMeetings, getRecordings,
                                             publishRecordings, deleteRecordings
    GET    /html5client/join?sessionToken=T  where join redirects: following it makes the
                                             user an attendee (a simulated person joins)
    DELETE /sim/sessions/{T}                 that person leaves
    /gateway/calls                           the SIP video gateway (`simulators.gateway`)

Errors are HTTP 200 `FAILED` with bbb-web's messageKeys. Limits: `max_meetings` and
`faults.at_capacity` refuse create with `internalError` "Could not find any available
servers." (what Scalelite answers when no server can take a meeting); `max_participants`
(whole server) and a meeting's `maxParticipants` refuse join with `maxParticipantsReached`
and gateway calls with 503/486. Other faults: `auth_failure` fails every checksum;
`error_rate` answers HTTP 500; `clock_skew_s` shifts createTime and friends.

Meetings nobody joined expire after `meetingExpireIfNoUserJoinedInMinutes` (default 5,
`expire_no_user_s` for a shorter default in tests); meetings everybody left expire after
`expire_last_left_s` (bbb-web default 1 minute). `meta_endCallbackUrl` is called (GET,
with `meetingID` and `recordingmarks`) whenever a meeting ends; recorded meetings that
somebody joined leave a published recording (and `meta_bbb-recording-ready-url` gets the
signed POST).
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt

from simulators import outbound
from simulators.bbb import checksum, responses
from simulators.bbb.meetings import (
    ApiError,
    Attendee,
    Meeting,
    MeetingRegistry,
    Recording,
    missing_meeting_id,
    not_found,
)
from simulators.faults import Faults
from simulators.gateway import GatewayPorts, busy, unavailable
from simulators.gateway import not_found as room_not_found
from simulators.hosting import Receive, Scope, Send, read_body, respond

API_PREFIX = "/bigbluebutton/api"
XML = "text/xml;charset=utf-8"
META_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
DEFAULT_DIAL_NUMBER = "613-555-1234"
ERROR_500_HTML = (
    "<html><head><title>500 Internal Server Error</title></head><body>"
    "<center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center></body></html>"
)


class BbbServer:
    """One BigBlueButton server. An ASGI app for `SimHost`."""

    def __init__(
        self,
        id: str,
        secret: str,
        *,
        max_meetings: int | None = None,
        max_participants: int | None = None,
        gateway_ports: int = 60,
        expire_no_user_s: float = 300.0,
        expire_last_left_s: float = 60.0,
        name: str = "",
        faults: Faults | None = None,
    ) -> None:
        self.id = id
        self.kind = "bbb"
        self.name = name or id
        self.secret = secret
        self.faults = faults if faults is not None else Faults()
        self.gateway = GatewayPorts(gateway_ports)
        self.meetings = MeetingRegistry(
            max_meetings=max_meetings,
            max_participants=max_participants,
            expire_no_user_s=expire_no_user_s,
            expire_last_left_s=expire_last_left_s,
            on_end=self._ended,
        )

    # --- SimDevice ---------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "meetings": len(self.meetings.by_id),
            "participants": self.meetings.participants,
            "max_meetings": self.meetings.max_meetings,
            "max_participants": self.meetings.max_participants,
            "gateway": {"ports": self.gateway.ports, "in_use": len(self.gateway.calls)},
        }

    def wall_ms(self) -> int:
        return int(self.faults.now() * 1000)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if self.faults.should_error():
            await respond(send, 500, ERROR_500_HTML, "text/html")
            return
        self.meetings.sweep()
        self.gateway.sweep(self)
        if path.startswith(API_PREFIX):
            await self._api(path[len(API_PREFIX) :].strip("/"), scope, receive, send)
        elif self.gateway.is_gateway_path(path):
            await self.gateway.handle(self, scope, receive, send)
        elif path == "/html5client/join":
            await self._client_join(scope, send)
        elif path.startswith("/sim/sessions/") and scope["method"] == "DELETE":
            await self._client_leave(path.rsplit("/", 1)[1], send)
        elif path.startswith("/playback/presentation/"):
            await respond(send, 200, "<html><body>Recording playback</body></html>", "text/html")
        else:
            await respond(send, 404, b"Not Found")

    # --- API -----------------------------------------------------------------------------
    async def _api(self, call: str, scope: Scope, receive: Receive, send: Send) -> None:
        if not call:
            await respond(send, 200, responses.version(), XML)
            return
        raw_query: str = scope["query_string"].decode("latin-1")
        query, given = checksum.split_checksum(raw_query)
        params = dict(parse_qsl(query, keep_blank_values=True))
        if scope["method"] == "POST" and _is_form(scope):
            body = dict(parse_qsl((await read_body(receive)).decode(), keep_blank_values=True))
            if set(body) & set(params):
                await respond(
                    send,
                    200,
                    responses.failed(
                        "checksumError", "You did not pass the checksum security check"
                    ),
                    XML,
                )
                return
            params = {**body, **params}
        if self.faults.auth_failure or (
            self.secret and (given is None or not checksum.valid(call, query, given, self.secret))
        ):
            await respond(
                send,
                200,
                responses.failed("checksumError", "You did not pass the checksum security check"),
                XML,
            )
            return
        base = _base_url(scope)
        handler = API_CALLS.get(call)
        if handler is None:
            await respond(
                send,
                200,
                responses.failed("unsupportedRequest", "This request is not supported."),
                XML,
            )
            return
        try:
            answer = handler(self, params, base)
        except ApiError as error:
            await respond(send, 200, responses.failed(error.key, error.message), XML)
            return
        if isinstance(answer, tuple):  # a redirect
            await respond(send, 302, b"", "text/plain", headers=[(b"location", answer[1].encode())])
            return
        await respond(send, 200, answer, XML)

    def _meeting(self, params: dict[str, str]) -> Meeting:
        meeting_id = params.get("meetingID")
        if not meeting_id:
            raise missing_meeting_id()
        meeting = self.meetings.by_id.get(meeting_id)
        if meeting is None:
            raise not_found()
        return meeting

    def api_create(self, params: dict[str, str], base: str) -> str:
        meeting_id = params.get("meetingID", "")
        if not meeting_id:
            raise missing_meeting_id()
        expire = params.get("meetingExpireIfNoUserJoinedInMinutes")
        metadata = {
            key[5:].lower(): value
            for key, value in params.items()
            if key.startswith("meta_") and META_KEY.match(key[5:])
        }
        meeting, duplicate = self.meetings.create(
            meeting_id,
            params.get("name") or meeting_id,
            attendee_pw=params.get("attendeePW"),
            moderator_pw=params.get("moderatorPW"),
            voice_bridge=params.get("voiceBridge") or None,
            dial_number=params.get("dialNumber") or DEFAULT_DIAL_NUMBER,
            duration_min=_int(params.get("duration")),
            max_participants=_int(params.get("maxParticipants")),
            record=params.get("record", "false").lower() == "true",
            metadata=metadata,
            expire_no_user_s=_int(expire) * 60.0 if expire else None,
            wall_ms=self.wall_ms(),
            at_capacity=self.faults.at_capacity,
        )
        if duplicate:
            return responses.success(
                responses.created(meeting),
                "duplicateWarning",
                "This conference was already in existence and may currently be in progress.",
            )
        return responses.success(responses.created(meeting))

    def api_join(self, params: dict[str, str], base: str) -> str | tuple[str, str]:
        meeting_id = params.get("meetingID")
        if not meeting_id:
            raise missing_meeting_id()
        full_name = params.get("fullName")
        if not full_name:
            raise ApiError(
                "missingParamFullName",
                "You must specify a name for the attendee who will be joining the meeting.",
            )
        meeting = self.meetings.by_id.get(meeting_id)
        if meeting is None:
            if meeting_id in self.meetings.forcibly_ended:
                raise ApiError(
                    "meetingForciblyEnded",
                    "You can not re-join a meeting that has already been forcibly ended.",
                )
            raise ApiError(
                "invalidMeetingIdentifier",
                "The meeting ID that you supplied did not match any existing meetings",
            )
        role = params.get("role", "").upper()
        if role not in ("MODERATOR", "VIEWER"):
            password = params.get("password")
            if password is not None and password == meeting.moderator_pw:
                role = "MODERATOR"
            elif password is not None and password == meeting.attendee_pw:
                role = "VIEWER"
            else:
                raise ApiError(
                    "invalidPassword",
                    "You either did not supply a password or the password supplied is neither "
                    "the attendee or moderator password for this conference.",
                )
        create_time = params.get("createTime")
        if create_time and create_time != str(meeting.create_time_ms):
            raise ApiError(
                "mismatchCreateTimeParam",
                "The createTime parameter submitted mismatches with the current meeting.",
            )
        if self.meetings.full(meeting, self.faults.at_capacity):
            raise ApiError(
                "maxParticipantsReached",
                "The number of participants allowed for this meeting has been reached.",
            )
        user_id = params.get("userID") or f"w_{secrets.token_hex(6)}"
        token = self.meetings.register(meeting, Attendee(user_id, full_name, role))
        url = f"{base}/html5client/join?sessionToken={token}"
        if params.get("redirect", "true").lower() == "false":
            return responses.success(
                f"<meeting_id>{meeting.internal_id}</meeting_id>"
                f"<user_id>{responses.esc(user_id)}</user_id>"
                f"<auth_token>{secrets.token_hex(6)}</auth_token>"
                f"<session_token>{token}</session_token><guestStatus>ALLOW</guestStatus>"
                f"<url>{responses.esc(url)}</url>",
                "successfullyJoined",
                "You have joined successfully.",
            )
        return ("redirect", url)

    def api_end(self, params: dict[str, str], base: str) -> str:
        meeting = self._meeting(params)
        password = params.get("password")
        if password is not None and password != meeting.moderator_pw:
            raise ApiError(
                "invalidPassword", "You must supply the moderator password for this call."
            )
        self.meetings.end(meeting, self.wall_ms())
        return responses.success(
            "",
            "sentEndMeetingRequest",
            "A request to end the meeting was sent.  Please wait a few seconds, and then use "
            "the getMeetingInfo or isMeetingRunning API calls to verify that it was ended.",
        )

    def api_is_meeting_running(self, params: dict[str, str], base: str) -> str:
        meeting_id = params.get("meetingID")
        if not meeting_id:
            raise missing_meeting_id()
        meeting = self.meetings.by_id.get(meeting_id)
        running = meeting is not None and meeting.running
        return responses.success(f"<running>{'true' if running else 'false'}</running>")

    def api_get_meeting_info(self, params: dict[str, str], base: str) -> str:
        return responses.success(responses.meeting(self._meeting(params)))

    def api_get_meetings(self, params: dict[str, str], base: str) -> str:
        return responses.meetings(list(self.meetings.by_id.values()))

    def _recordings(self, params: dict[str, str]) -> list[Recording]:
        meeting_ids = _csv(params.get("meetingID"))
        record_ids = _csv(params.get("recordID"))
        states = _csv(params.get("state"))
        meta = {k[5:].lower(): v for k, v in params.items() if k.startswith("meta_")}
        found = []
        for r in self.meetings.recordings:
            if meeting_ids and r.meeting_id not in meeting_ids:
                continue
            if record_ids and not any(r.record_id.startswith(x) for x in record_ids):
                continue
            if states and "any" not in states and r.state not in states:
                continue
            if any(r.metadata.get(k) != v for k, v in meta.items()):
                continue
            found.append(r)
        return found

    def api_get_recordings(self, params: dict[str, str], base: str) -> str:
        return responses.recordings(self._recordings(params), base)

    def _recordings_by_id(self, params: dict[str, str]) -> list[Recording]:
        record_ids = _csv(params.get("recordID"))
        if not record_ids:
            raise ApiError("missingParamRecordID", "You must specify one or more a record IDs.")
        found = [r for r in self.meetings.recordings if r.record_id in record_ids]
        if not found:
            raise ApiError("notFound", "We could not find recordings")
        return found

    def api_publish_recordings(self, params: dict[str, str], base: str) -> str:
        publish = params.get("publish", "").lower()
        if publish not in ("true", "false"):
            raise ApiError(
                "missingParamPublish", "You must specify one a publish value true or false."
            )
        for r in self._recordings_by_id(params):
            r.state = "published" if publish == "true" else "unpublished"
        return responses.success(f"<published>{publish}</published>")

    def api_delete_recordings(self, params: dict[str, str], base: str) -> str:
        for r in self._recordings_by_id(params):
            self.meetings.recordings.remove(r)
        return responses.success("<deleted>true</deleted>")

    # --- simulated people ------------------------------------------------------------------
    async def _client_join(self, scope: Scope, send: Send) -> None:
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        token = params.get("sessionToken", "")
        meeting = self.meetings.by_session.get(token)
        if meeting is None:
            await respond(send, 404, "<html><body>Invalid session token</body></html>", "text/html")
            return
        attendee = meeting.sessions[token]
        if attendee.user_id not in meeting.attendees and self.meetings.full(
            meeting, self.faults.at_capacity
        ):
            await respond(send, 403, "<html><body>Meeting is full</body></html>", "text/html")
            return
        self.meetings.add(meeting, attendee, self.wall_ms())
        await respond(
            send,
            200,
            f"<html><body>Joined {responses.esc(meeting.name)} as "
            f"{responses.esc(attendee.full_name)}</body></html>",
            "text/html; charset=utf-8",
        )

    async def _client_leave(self, token: str, send: Send) -> None:
        meeting = self.meetings.by_session.get(token)
        if meeting is None or not self.meetings.remove(meeting, meeting.sessions[token].user_id):
            await respond(send, 404, b"no such participant")
            return
        await respond(send, 204, b"")

    # --- SIP gateway target ------------------------------------------------------------------
    def gateway_join(self, to: str, caller: str, display_name: str) -> tuple[str, str, str]:
        if self.faults.at_capacity:
            raise unavailable("the server is at capacity")
        meeting = self.meetings.by_voice_bridge.get(to) or self.meetings.by_id.get(to)
        if meeting is None:
            raise room_not_found(f"no running meeting with voice bridge or ID {to!r}")
        limit = self.meetings.max_participants
        if limit is not None and self.meetings.participants >= limit:
            raise unavailable("the server is at capacity")
        if self.meetings.full(meeting, False):
            raise busy("the meeting is full")
        user_id = f"v_{secrets.randbelow(10**6):06d}"
        attendee = Attendee(user_id, display_name, "VIEWER", "dial-in-user", sip=True)
        self.meetings.add(meeting, attendee, self.wall_ms())
        return meeting.internal_id, user_id, meeting.name

    def gateway_leave(self, room_key: str, participant_id: str) -> None:
        for meeting in self.meetings.by_id.values():
            if meeting.internal_id == room_key:
                self.meetings.remove(meeting, participant_id)
                return

    # --- end of a meeting -------------------------------------------------------------------
    def _ended(self, meeting: Meeting, forcibly: bool) -> None:
        self.gateway.room_ended(meeting.internal_id)
        marks = meeting.record and meeting.start_time_ms > 0
        callback = meeting.metadata.get("endcallbackurl")
        if callback:
            sep = "&" if "?" in callback else "?"
            query = urlencode(
                {"meetingID": meeting.meeting_id, "recordingmarks": "true" if marks else "false"}
            )
            outbound.spawn(outbound.fire("GET", f"{callback}{sep}{query}"))
        ready = meeting.metadata.get("bbb-recording-ready-url")
        if ready and marks:
            token = jwt.encode(
                {"meeting_id": meeting.meeting_id, "record_id": meeting.internal_id},
                self.secret,
                algorithm="HS256",
            )
            outbound.spawn(outbound.fire("POST", ready, data={"signed_parameters": token}))


API_CALLS = {
    "create": BbbServer.api_create,
    "join": BbbServer.api_join,
    "end": BbbServer.api_end,
    "isMeetingRunning": BbbServer.api_is_meeting_running,
    "getMeetingInfo": BbbServer.api_get_meeting_info,
    "getMeetings": BbbServer.api_get_meetings,
    "getRecordings": BbbServer.api_get_recordings,
    "publishRecordings": BbbServer.api_publish_recordings,
    "deleteRecordings": BbbServer.api_delete_recordings,
}


def _int(value: str | None) -> int:
    try:
        return int(value) if value else 0
    except ValueError:
        return 0


def _csv(value: str | None) -> set[str]:
    return {v.strip() for v in value.split(",") if v.strip()} if value else set()


def _is_form(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.startswith(b"application/x-www-form-urlencoded")
    return False


def _base_url(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            return f"http://{value.decode('latin-1')}"
    server = scope.get("server") or ("127.0.0.1", 80)
    return f"http://{server[0]}:{server[1]}"
