"""The Poly (VideoOS, Studio X / G7500) REST dialect of the simulated terminal.

POST   /rest/session  (or /rest/current/session)  {"user", "password"}
       → 200 {"success": true, "sessionId"} + Set-Cookie session_id=…; 403 on bad login
DELETE /rest/session                               log out
every other call needs the cookie (401 without a valid one):
GET    /rest/system                    model, serial, software, uptime, state
GET    /rest/system/status             self-check items
GET    /rest/system/sipservers         SIP registration
GET    /rest/current/devicemanagement/devices   peripherals (camera)
GET    /rest/audio/volume              → 50;  POST {"volume": 40}
POST   /rest/system/reboot
POST   /rest/conferences               {"address": "sip:…", "dialType", "rate"}
       → 200 {"href": "/rest/conferences/<id>"}; 409 while already in a call
GET    /rest/conferences[/active]      the active call, [] when idle
GET    /rest/conferences/{id}
DELETE /rest/conferences/{id}          hang up (also POST …/connections/{n}
                                       {"action": "hangup"} as older firmware)
"""

from __future__ import annotations

import json
import secrets
import time
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

from simulators.hosting import Receive, Scope, Send, read_body, respond, respond_json
from simulators.terminal.calls import Call, DialError

if TYPE_CHECKING:
    from simulators.terminal.device import Terminal

MAX_SESSIONS = 64
STATES = {"Dialling": "DIALING", "Connecting": "CONNECTING", "Connected": "CONNECTED"}


async def handle(t: Terminal, scope: Scope, receive: Receive, send: Send) -> None:
    method: str = scope["method"]
    path: str = scope["path"].rstrip("/")
    if path in ("/rest/session", "/rest/current/session"):
        await _session(t, method, scope, receive, send)
        return
    if _session_of(t, scope) is None:
        await respond_json(send, 401, {"success": False, "reason": "Not authenticated"})
        return
    if t.faults.should_error():
        await respond_json(send, 500, {"success": False, "reason": "Internal error"})
        return
    now = time.monotonic()
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["rest", "conferences"]:
        await _conferences(t, method, parts[2:], receive, send, now)
    elif path == "/rest/system" and method == "GET":
        await respond_json(send, 200, _system(t, now))
    elif path == "/rest/system/status" and method == "GET":
        await respond_json(send, 200, _status(t))
    elif path == "/rest/system/sipservers" and method == "GET":
        await respond_json(send, 200, _sip(t))
    elif path == "/rest/current/devicemanagement/devices" and method == "GET":
        await respond_json(send, 200, _devices(t))
    elif path == "/rest/audio/volume":
        await _volume(t, method, receive, send)
    elif path == "/rest/system/reboot" and method == "POST":
        t.boot()
        await respond_json(send, 200, {"success": True})
    else:
        await respond_json(send, 404, {"success": False, "reason": "Not found"})


async def _session(t: Terminal, method: str, scope: Scope, receive: Receive, send: Send) -> None:
    if method == "DELETE":
        session = _session_of(t, scope)
        if session is not None and t.sessions is not None:
            t.sessions.discard(session)
        await respond(send, 204, b"")
        return
    if method != "POST":
        await respond_json(send, 405, {"success": False})
        return
    try:
        body = json.loads(await read_body(receive) or b"{}")
        user, password = str(body["user"]), str(body["password"])
    except (ValueError, KeyError, TypeError):
        await respond_json(send, 400, {"success": False, "reason": "Bad request"})
        return
    if not t.credentials_ok(user, password):
        await respond_json(send, 403, {"success": False, "reason": "Invalid credentials"})
        return
    session = secrets.token_hex(16)
    if t.sessions is None:
        t.sessions = set()
    if len(t.sessions) >= MAX_SESSIONS:
        t.sessions.pop()
    t.sessions.add(session)
    payload = json.dumps({"success": True, "sessionId": session}).encode()
    await respond(
        send,
        200,
        payload,
        "application/json",
        headers=[(b"set-cookie", f"session_id={session}; Path=/; HttpOnly".encode())],
    )


def _session_of(t: Terminal, scope: Scope) -> str | None:
    if t.faults.auth_failure or not t.sessions:
        return None
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(value.decode("latin-1"))
            morsel = cookie.get("session_id")
            if morsel is not None and morsel.value in t.sessions:
                return morsel.value
    return None


def conference(call: Call, now: float) -> dict[str, Any]:
    return {
        "id": call.id,
        "href": f"/rest/conferences/{call.id}",
        "isActive": True,
        "connections": [
            {
                "id": 0,
                "address": call.number,
                "callType": "VIDEO",
                "state": STATES[call.status(now)],
                "direction": "OUTGOING",
                "durationSeconds": call.duration(now),
                "rate": 1920,
            }
        ],
    }


async def _conferences(
    t: Terminal, method: str, rest: list[str], receive: Receive, send: Send, now: float
) -> None:
    call = t.current_call(now)
    if not rest or rest == ["active"]:
        if method == "GET":
            await respond_json(send, 200, [] if call is None else [conference(call, now)])
            return
        if method == "POST" and not rest:
            try:
                body = json.loads(await read_body(receive) or b"{}")
                address = str(body["address"])
            except (ValueError, KeyError, TypeError):
                await respond_json(send, 400, {"success": False, "reason": "address is required"})
                return
            try:
                placed = t.dial(address)
            except DialError as exc:
                await respond_json(send, 409, {"success": False, "reason": str(exc)})
                return
            await respond_json(send, 200, {"href": f"/rest/conferences/{placed.id}"})
            return
    elif call is not None and rest[0] == str(call.id):
        if method == "GET" and len(rest) == 1:
            await respond_json(send, 200, conference(call, now))
            return
        hangup = method == "DELETE" and len(rest) == 1
        if method == "POST" and len(rest) == 3 and rest[1] == "connections":
            try:
                hangup = json.loads(await read_body(receive) or b"{}").get("action") == "hangup"
            except (ValueError, AttributeError):
                hangup = False
        if hangup:
            t.disconnect(call.id)
            await respond(send, 204, b"")
            return
    await respond_json(send, 404, {"success": False, "reason": "No such conference"})


def _system(t: Terminal, now: float) -> dict[str, Any]:
    return {
        "model": t.model,
        "serialNumber": t.serial,
        "softwareVersion": t.software,
        "systemName": t.name,
        "uptime": t.uptime(now),
        "state": "READY" if t.standby == "Off" else "SLEEP",
        "sipAddress": t.sip_address,
    }


def _status(t: Terminal) -> list[dict[str, Any]]:
    registered = t.sip_registration() == "Registered"
    temperature = t.temperature()
    camera = t.camera_status() == "Connected"
    return [
        {"name": "sip", "stateList": ["green" if registered else "red"]},
        {"name": "camera", "stateList": ["green" if camera else "red"]},
        {
            "name": "temperature",
            "stateList": ["green" if temperature < 70 else "red"],
            "value": temperature,
        },
    ]


def _sip(t: Terminal) -> list[dict[str, Any]]:
    return [
        {
            "address": t.sip_address,
            "registrationStatus": t.sip_registration().upper(),
            "transport": "TCP",
        }
    ]


def _devices(t: Terminal) -> list[dict[str, Any]]:
    connected = t.camera_status() == "Connected"
    return [
        {
            "deviceType": "CAMERA",
            "productName": "Poly EagleEye IV",
            "deviceState": "CONNECTED" if connected else "DISCONNECTED",
            "serialNumber": f"{t.serial}-CAM",
        }
    ]


async def _volume(t: Terminal, method: str, receive: Receive, send: Send) -> None:
    if method == "GET":
        await respond_json(send, 200, t.volume)
        return
    try:
        body = json.loads(await read_body(receive) or b"{}")
        level = int(body["volume"] if isinstance(body, dict) else body)
    except (ValueError, KeyError, TypeError):
        await respond_json(send, 400, {"success": False, "reason": "volume is required"})
        return
    t.set_volume(level)
    await respond_json(send, 200, t.volume)
