"""A simulated Jitsi Meet deployment, as seen on prosody's HTTP port.

    GET    /room-size?room=&domain=[&subdomain=][&token=]   mod_muc_size: {"participants":N}
                                                  (404 no such room, 400 no query,
                                                  403 bad token when verification is on)
    GET    /room?room=&domain=…                   mod_muc_size: [{"jid","email","display_name"}]
    GET    /sessions                              mod_muc_size: a plain integer
    GET    /room-census                           mod_muc_census: {"room_census":[…]}
    POST   /end-meeting?conference=<room JID>     mod_muc_end_meeting, with
           Authorization: Bearer <JWT>            `[&silent-reconnect=true]`: destroys the room
                                                  → 200 (every occupant out, every gateway
                                                  call ended with a BYE to its terminal);
                                                  400 no query / no `conference`; 401 token
                                                  missing, not `Bearer`, or refused; 404 no
                                                  such room (checked after the token)
    POST   /sim/rooms/{room}/participants         a simulated person joins, presenting the
           {"token": JWT, "display_name"?, "email"?}   JWT of the meeting link (`?jwt=` works
                                                  too) → 201 {"id","jid","room","role"};
                                                  401 refused token, 403 token not valid for
                                                  this room, 503 at capacity
    GET    /sim/rooms/{room}/participants         who is there
    DELETE /sim/rooms/{room}/participants/{id}    that person leaves (204)
    /gateway/calls                                the SIP video gateway (`simulators.gateway`)

Rooms live at `<room>@conference.<domain>`; with `domain=None` any `domain` query value is
accepted and the census names rooms under `meet.jitsi`.

End-meeting differs from the real module in one way: prosody checks a *system* token signed
with a separate key pair (`prosody_password_public_key_repo_url`); the simulator checks it
like a participant token (app secret, issuer, audience, exp/nbf, room claim present). As in
the real module the token is not bound to the room it ends. `silent-reconnect` is accepted;
simulated clients do not reconnect. The census subtracts the focus
(jicofo) as the real module does; so does room-size (it counts focus + N and subtracts 1).

Faults: `auth_failure` refuses every token; `clock_skew_s` moves the clock the token
`exp`/`nbf` are checked against; `at_capacity` (and `max_participants`/`max_rooms`)
refuse joins with 503 and gateway calls with 503; `error_rate` answers HTTP 500.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote

from simulators.faults import Faults
from simulators.gateway import GatewayPorts, unavailable
from simulators.hosting import Receive, Scope, Send, read_body, respond, respond_json
from simulators.jitsi.rooms import Room, RoomRegistry
from simulators.jitsi.tokens import TokenPolicy, TokenRejected

SIM_ROOMS = "/sim/rooms/"
DEFAULT_DOMAIN = "meet.jitsi"


class JitsiServer:
    """One Jitsi deployment (prosody side). An ASGI app for `SimHost`."""

    def __init__(
        self,
        id: str,
        app_secret: str,
        *,
        app_id: str = "vks",
        accepted_issuers: Sequence[str] = (),
        accepted_audiences: Sequence[str] = ("*",),
        domain: str | None = None,
        muc_prefix: str = "conference",
        max_rooms: int | None = None,
        max_participants: int | None = None,
        gateway_ports: int = 60,
        allow_empty_token: bool = False,
        roomsize_token_verification: bool = False,
        enable_domain_verification: bool = False,
        auto_owner: bool = True,
        name: str = "",
        faults: Faults | None = None,
    ) -> None:
        self.id = id
        self.kind = "jitsi"
        self.name = name or id
        self.faults = faults if faults is not None else Faults()
        self.policy = TokenPolicy(
            app_id=app_id,
            app_secret=app_secret,
            accepted_issuers=tuple(accepted_issuers),
            accepted_audiences=tuple(accepted_audiences),
            enable_domain_verification=enable_domain_verification,
        )
        self.domain = domain
        self.muc_prefix = muc_prefix
        self.allow_empty_token = allow_empty_token
        self.roomsize_token_verification = roomsize_token_verification
        self.auto_owner = auto_owner
        self.rooms = RoomRegistry(max_rooms, max_participants)
        self.gateway = GatewayPorts(gateway_ports)

    # --- SimDevice ---------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "domain": self.domain or DEFAULT_DOMAIN,
            "rooms": len(self.rooms.rooms),
            "participants": self.rooms.participants,
            "max_rooms": self.rooms.max_rooms,
            "max_participants": self.rooms.max_participants,
            "gateway": {"ports": self.gateway.ports, "in_use": len(self.gateway.calls)},
        }

    def muc_domain(self, domain: str | None = None) -> str:
        return f"{self.muc_prefix}.{domain or self.domain or DEFAULT_DOMAIN}"

    def room_jid(self, room: Room) -> str:
        return f"{room.name.lower()}@{self.muc_domain()}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self.faults.should_error():
            await respond(send, 500, b"Internal Server Error")
            return
        path: str = scope["path"]
        method: str = scope["method"]
        self.gateway.sweep(self)
        if method == "GET" and path in ("/room-size", "/room"):
            await self._room_size(path == "/room", scope, send)
        elif method == "GET" and path == "/room-census":
            await self._census(send)
        elif method == "POST" and path == "/end-meeting":
            await self._end_meeting(scope, send)
        elif method == "GET" and path == "/sessions":
            await respond(send, 200, str(self.rooms.participants))
        elif path.startswith(SIM_ROOMS):
            await self._participants(path[len(SIM_ROOMS) :], method, scope, receive, send)
        elif self.gateway.is_gateway_path(path):
            await self.gateway.handle(self, scope, receive, send)
        else:
            await respond(send, 404, b"Not Found")

    # --- mod_muc_size / mod_muc_census ---------------------------------------------------
    async def _room_size(self, details: bool, scope: Scope, send: Send) -> None:
        raw: bytes = scope["query_string"]
        if not raw:
            await respond(send, 400, b"")
            return
        params = {k: unquote(v) for k, v in parse_qsl(raw.decode("latin-1"))}
        name, domain = params.get("room", ""), params.get("domain", "")
        if self.roomsize_token_verification and not self._token_allows(
            params.get("token"), name, domain
        ):
            await respond(send, 403, b"")
            return
        room = self.rooms.get(name) if name else None
        if room is None or (self.domain is not None and domain.lower() != self.domain.lower()):
            await respond(send, 404, b"")
            return
        if not details:
            body = '{"participants":' + str(len(room.occupants)) + "}"
            await respond(send, 200, body, "application/json")
            return
        jid = self.room_jid(room)
        await respond_json(
            send,
            200,
            [
                {"jid": f"{jid}/{o.nick}", "email": o.email, "display_name": o.display_name}
                for o in room.occupants.values()
            ],
        )

    def _claims(self, token: str) -> dict[str, Any]:
        """Prosody's token check on the server's clock; raises TokenRejected."""
        if self.faults.auth_failure:
            raise TokenRejected("authentication failure")
        return self.policy.verify(token, self.faults.now())

    def _token_allows(self, token: str | None, room: str, domain: str) -> bool:
        if not token:
            return False
        try:
            claims = self._claims(token)
        except TokenRejected:
            return False
        return self.policy.allows_room(claims, room, domain or self.domain or DEFAULT_DOMAIN)

    async def _census(self, send: Send) -> None:
        census = [
            {
                "room_name": self.room_jid(room),
                "participants": len(room.occupants),
                "created_time": room.created_ms,
                "leaked": False,
            }
            for room in self.rooms.rooms.values()
        ]
        await respond(
            send,
            200,
            '{"room_census":' + (json.dumps(census) if census else "[]") + "}",
            "application/json",
        )

    # --- mod_muc_end_meeting ------------------------------------------------------------
    async def _end_meeting(self, scope: Scope, send: Send) -> None:
        raw: bytes = scope["query_string"]
        conference = dict(parse_qsl(raw.decode("latin-1"))).get("conference") if raw else None
        if not conference:
            await respond(send, 400, b"")
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if not authorization.startswith("Bearer "):
            await respond(send, 401, b"")
            return
        try:
            self._claims(authorization[len("Bearer ") :])
        except TokenRejected:
            await respond(send, 401, b"")
            return
        name = self._room_of_jid(conference)
        room = self.rooms.destroy(name) if name else None
        if room is None:
            await respond(send, 404, b"")
            return
        self.gateway.room_ended(room.name.lower())
        await respond(send, 200, b"")

    def _room_of_jid(self, jid: str) -> str | None:
        """`room@conference.<domain>` → `room`; None when the JID is not one of our MUC's."""
        node, at, muc = jid.strip().partition("@")
        if not at or not node:
            return None
        muc = muc.split("/", 1)[0].lower()
        if self.domain is None:
            accepted = muc.startswith(self.muc_prefix.lower() + ".")
        else:
            accepted = muc == self.muc_domain().lower()
        return node if accepted else None

    # --- simulated participants ---------------------------------------------------------
    async def _participants(
        self, rest: str, method: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        parts = [unquote(p) for p in rest.split("/") if p]
        if len(parts) == 2 and parts[1] == "participants" and method == "POST":
            await self._join(parts[0], scope, receive, send)
        elif len(parts) == 2 and parts[1] == "participants" and method == "GET":
            room = self.rooms.get(parts[0])
            await respond_json(
                send,
                200,
                [
                    {
                        "id": o.id,
                        "display_name": o.display_name,
                        "role": o.role,
                        "via_gateway": o.via_gateway,
                    }
                    for o in (room.occupants.values() if room else [])
                ],
            )
        elif len(parts) == 3 and parts[1] == "participants" and method == "DELETE":
            if self.rooms.leave(parts[0], parts[2]):
                self.gateway.participant_removed(parts[2])
                await respond(send, 204, b"")
            else:
                await respond_json(send, 404, {"error": "item-not-found"})
        else:
            await respond_json(send, 404, {"error": "item-not-found"})

    async def _join(self, room_name: str, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = json.loads(await read_body(receive) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            await respond_json(send, 400, {"error": "bad-request", "reason": str(exc)})
            return
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        token = body.get("token") or query.get("jwt")
        user: dict[str, Any] = {}
        moderator = False
        if token or not self.allow_empty_token:
            if not token:
                await respond_json(
                    send, 401, {"error": "not-authorized", "reason": "token required"}
                )
                return
            try:
                claims = self._claims(str(token))
            except TokenRejected as rejected:
                await respond_json(send, 401, {"error": rejected.error, "reason": rejected.reason})
                return
            if not self.policy.allows_room(claims, room_name, self.domain or DEFAULT_DOMAIN):
                await respond_json(
                    send, 403, {"error": "not-allowed", "reason": "token not valid for this room"}
                )
                return
            context = claims.get("context")
            raw_user = context.get("user") if isinstance(context, dict) else None
            user = raw_user if isinstance(raw_user, dict) else {}
            moderator = str(user.get("moderator", "")).lower() == "true" or user.get(
                "affiliation"
            ) in ("owner", "moderator", "teacher")
        if not self.rooms.can_join(room_name, self.faults.at_capacity):
            await respond_json(
                send, 503, {"error": "service-unavailable", "reason": "server at capacity"}
            )
            return
        room, occupant = self.rooms.join(
            room_name,
            str(body.get("display_name") or user.get("name") or "Гость"),
            str(body.get("email") or user.get("email") or ""),
            moderator=moderator,
            auto_owner=self.auto_owner,
            wall_ms=int(self.faults.now() * 1000),
        )
        await respond_json(
            send,
            201,
            {
                "id": occupant.id,
                "jid": f"{self.room_jid(room)}/{occupant.nick}",
                "room": room.name,
                "role": occupant.role,
                "display_name": occupant.display_name,
            },
        )

    # --- SIP gateway target ------------------------------------------------------------------
    def gateway_join(self, to: str, caller: str, display_name: str) -> tuple[str, str, str]:
        if not self.rooms.can_join(to, self.faults.at_capacity):
            raise unavailable("the server is at capacity")
        room, occupant = self.rooms.join(
            to, display_name, "", via_gateway=True, wall_ms=int(self.faults.now() * 1000)
        )
        return room.name.lower(), occupant.id, room.name

    def gateway_leave(self, room_key: str, participant_id: str) -> None:
        self.rooms.leave(room_key, participant_id)
