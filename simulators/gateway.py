"""The simulated SIP video gateway between terminals and conference servers.

A real VKS terminal dials `sip:<room>@<gateway>`; a video SIP gateway (Jibri SIP gateway,
SIPMediaGW…) answers and joins the room as a participant with audio and video. The
simulators replace the SIP leg by a small HTTP contract that the BBB and Jitsi simulators
serve **on their own port**, next to their API:

    POST   /gateway/calls
           {"to": "<room name | BBB voiceBridge | BBB meetingID>",
            "from": "sip:term-kem-20@vks.example.ru",
            "display_name": "МБОУ «СОШ №20» — Актовый зал",
            "bye_url": "http://127.0.0.1:18001/sip/bye/<token>"}      (optional)
        201 {"call_id", "room", "participant_id", "display_name"}  joined the room
        400 {"error": "bad-request", ...}      malformed body
        404 {"error": "not-found", ...}        no such room (BBB: no running meeting)
        486 {"error": "busy-here", ...}        every gateway port busy, or the room is full
        503 {"error": "service-unavailable"}   the server is at capacity
    DELETE /gateway/calls/{call_id}            204 left the room; 404 unknown call
    GET    /gateway/calls                      {"ports": N, "in_use": k, "calls": [...]}

When the conference side ends a call (the meeting is ended, the room closes) the gateway
sends the SIP BYE: an empty `POST bye_url`, so the terminal goes back to idle.

The number of gateway ports (concurrent SIP calls) is set per server. `to` is matched by
the server: BBB looks for a running meeting with that voiceBridge, then that meetingID;
Jitsi joins (and so creates) the room of that name.

Terminal side: `parse_sip_uri()`, `place_call()` and `hang_up()`; the terminal maps the
SIP host of the dialled URI to the gateway's HTTP base URL through its routing table
(a fleet routes to its own servers; by default `http://<host:port>`).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from simulators import outbound
from simulators.hosting import Receive, Scope, Send, read_body, respond, respond_json

CALLS_PATH = "/gateway/calls"
GATEWAY_MEDIA_TIMEOUT_S = 10.0
"""A call whose caller's keep-alives stopped this long is dropped (a terminal asks every
2 s by default: `simulators.terminal.device.MEDIA_TIMEOUT_S / 3`)."""


class GatewayRefusal(Exception):
    """The conference side refuses the call (`status` is the SIP-like answer)."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def not_found(message: str) -> GatewayRefusal:
    return GatewayRefusal(404, "not-found", message)


def busy(message: str) -> GatewayRefusal:
    return GatewayRefusal(486, "busy-here", message)


def unavailable(message: str) -> GatewayRefusal:
    return GatewayRefusal(503, "service-unavailable", message)


class GatewayTarget(Protocol):
    """What a conference server offers its gateway."""

    def gateway_join(self, to: str, caller: str, display_name: str) -> tuple[str, str, str]:
        """Join the room `to`; return (room key, participant id, room display name)
        or raise GatewayRefusal."""
        ...

    def gateway_leave(self, room_key: str, participant_id: str) -> None: ...


@dataclass(slots=True)
class GatewayCall:
    call_id: str
    room_key: str
    participant_id: str
    caller: str
    bye_url: str | None
    heard_at: float | None = None
    """When the caller last asked whether its call is up (its media keep-alive), from the
    call's set-up if it promised keep-alives; None for a caller that sends none (it is
    never timed out)."""


class GatewayPorts:
    """The gateway of one conference server: a fixed number of SIP ports. Like a real
    gateway on RTP timeout, it drops a call whose caller went silent (stopped its media
    keep-alives for `media_timeout_s`: its link went down) — without a BYE, which could
    not reach it."""

    __slots__ = ("calls", "media_timeout_s", "ports")

    def __init__(self, ports: int = 60, media_timeout_s: float = GATEWAY_MEDIA_TIMEOUT_S) -> None:
        self.ports = ports
        self.media_timeout_s = media_timeout_s
        self.calls: dict[str, GatewayCall] = {}

    def sweep(self, target: GatewayTarget) -> None:
        """Drop the calls whose caller has been silent too long (each request runs it)."""
        if self.media_timeout_s <= 0:
            return
        silent_since = time.monotonic() - self.media_timeout_s
        for call in list(self.calls.values()):
            if call.heard_at is not None and call.heard_at < silent_since:
                del self.calls[call.call_id]
                target.gateway_leave(call.room_key, call.participant_id)

    def is_gateway_path(self, path: str) -> bool:
        return path == CALLS_PATH or path.startswith(CALLS_PATH + "/")

    async def handle(
        self, target: GatewayTarget, scope: Scope, receive: Receive, send: Send
    ) -> None:
        method: str = scope["method"]
        rest = scope["path"][len(CALLS_PATH) :].strip("/")
        if not rest and method == "POST":
            await self._place(target, receive, send)
        elif not rest and method == "GET":
            await respond_json(
                send,
                200,
                {
                    "ports": self.ports,
                    "in_use": len(self.calls),
                    "calls": [
                        {"call_id": c.call_id, "room": c.room_key, "from": c.caller}
                        for c in self.calls.values()
                    ],
                },
            )
        elif rest and method == "GET":  # the caller's media keep-alive: is my call up?
            call = self.calls.get(rest)
            if call is not None:
                call.heard_at = time.monotonic()
            known = call is not None
            await respond_json(send, 200 if known else 404, {"call_id": rest, "up": known})
        elif rest and method == "DELETE":
            call = self.calls.pop(rest, None)
            if call is None:
                await respond_json(send, 404, {"error": "not-found", "message": "no such call"})
                return
            target.gateway_leave(call.room_key, call.participant_id)
            await respond(send, 204, b"")
        else:
            await respond_json(send, 405, {"error": "method-not-allowed"})

    async def _place(self, target: GatewayTarget, receive: Receive, send: Send) -> None:
        try:
            body = json.loads(await read_body(receive) or b"{}")
            to = str(body["to"]).strip()
            caller = str(body.get("from") or "")
            display_name = str(body.get("display_name") or caller or "SIP")
            bye_url = body.get("bye_url") or None
            keepalive = bool(body.get("keepalive"))
            if not to:
                raise ValueError("empty 'to'")
        except (ValueError, KeyError, TypeError) as exc:
            await respond_json(send, 400, {"error": "bad-request", "message": str(exc)})
            return
        if len(self.calls) >= self.ports:
            await respond_json(
                send, 486, {"error": "busy-here", "message": "all gateway ports are busy"}
            )
            return
        try:
            room_key, participant_id, room_name = target.gateway_join(to, caller, display_name)
        except GatewayRefusal as refusal:
            await respond_json(
                send, refusal.status, {"error": refusal.error, "message": refusal.message}
            )
            return
        call = GatewayCall(
            secrets.token_hex(8),
            room_key,
            participant_id,
            caller,
            bye_url,
            heard_at=time.monotonic() if keepalive else None,
        )
        self.calls[call.call_id] = call
        await respond_json(
            send,
            201,
            {
                "call_id": call.call_id,
                "room": room_key,
                "participant_id": participant_id,
                "display_name": room_name,
            },
        )

    def room_ended(self, room_key: str) -> None:
        """The conference side closed the room: drop its calls and send each caller a BYE."""
        ended = [c for c in self.calls.values() if c.room_key == room_key]
        for call in ended:
            del self.calls[call.call_id]
            if call.bye_url:
                outbound.spawn(outbound.fire("POST", call.bye_url))

    def participant_removed(self, participant_id: str) -> None:
        """A participant that came through the gateway was removed by the conference side."""
        for call in list(self.calls.values()):
            if call.participant_id == participant_id:
                del self.calls[call.call_id]
                if call.bye_url:
                    outbound.spawn(outbound.fire("POST", call.bye_url))


# --- terminal side -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SipUri:
    user: str
    host: str
    """host[:port], as written in the URI."""


def parse_sip_uri(number: str) -> SipUri | None:
    """`sip:room@host:port;transport=tcp` → SipUri("room", "host:port"); None without a host."""
    text = number.strip()
    lowered = text.lower()
    for scheme in ("sips:", "sip:"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    text = text.split(";", 1)[0].split("?", 1)[0]
    user, at, host = text.partition("@")
    if not at or not user or not host:
        return None
    return SipUri(user, host.lower())


def gateway_url(uri: SipUri, routes: Mapping[str, str] | None) -> str:
    """The HTTP base URL of the gateway that serves the URI's SIP host."""
    if routes:
        routed = routes.get(uri.host)
        if routed:
            return routed.rstrip("/")
    return f"http://{uri.host}"


@dataclass(frozen=True, slots=True)
class CallOutcome:
    status: int
    """201 when joined; the gateway's refusal (404/486/503…); 0 when unreachable."""
    call_id: str | None = None
    message: str = ""
    display_name: str = ""

    @property
    def joined(self) -> bool:
        return self.status == 201 and self.call_id is not None


async def place_call(
    base_url: str,
    to: str,
    caller: str,
    display_name: str,
    bye_url: str | None,
    *,
    keepalive: bool = False,
) -> CallOutcome:
    """Place a call; with `keepalive` the caller promises media keep-alives (`call_up`),
    and the gateway drops the call once they stop."""
    payload: dict[str, Any] = {"to": to, "from": caller, "display_name": display_name}
    if bye_url:
        payload["bye_url"] = bye_url
    if keepalive:
        payload["keepalive"] = True
    try:
        answer = await outbound.request("POST", base_url + CALLS_PATH, json=payload)
    except outbound.OutboundError as exc:
        return CallOutcome(0, None, f"gateway unreachable: {exc}")
    try:
        data = answer.json()
    except ValueError:
        data = {}
    if answer.status == 201 and isinstance(data, dict) and data.get("call_id"):
        return CallOutcome(201, str(data["call_id"]), "", str(data.get("display_name") or ""))
    message = data.get("message", "") if isinstance(data, dict) else ""
    return CallOutcome(answer.status, None, str(message))


async def call_up(base_url: str, call_id: str) -> bool:
    """Does the gateway still carry this call (media flows)? False when it answers that it
    does not, or does not answer at all (its server died)."""
    try:
        answer = await outbound.request("GET", f"{base_url}{CALLS_PATH}/{call_id}")
    except outbound.OutboundError:
        return False
    return answer.status == 200


async def hang_up(base_url: str, call_id: str) -> None:
    await outbound.fire("DELETE", f"{base_url}{CALLS_PATH}/{call_id}")
