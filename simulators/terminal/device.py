"""A simulated VKS room terminal: state and behaviour shared by its control dialects.

The terminal keeps only plain values (call, standby, volume, boot time); everything that
changes with time (call state, duration, uptime, a dropped call, the end of a reboot) is
computed from timestamps when asked, so an idle terminal costs no task or timer.

Dialling a SIP URI places a call through the simulated SIP video gateway
(`simulators.gateway`): the terminal POSTs to the gateway of the dialled host and, once
answered, is a participant of the room; hanging up (or a dropped call, or a reboot)
leaves it. Control dialects: `cisco_xapi` (`xapi.py`) and `poly_rest` (`poly.py`).

Faults: `auth_failure` → 401; `error_rate` → 500; `drop_call_after_s` → an established
call drops that long after connecting; `reboot_s` (also set by the reboot command) →
connections reset while rebooting, then uptime restarts; `extra` knobs:
`sip_registration` ("Registered" | "Failed" | …), `temperature` (°C), `camera`
("Connected" | "Disconnected").
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import zlib
from typing import TYPE_CHECKING, Any

from simulators import gateway, outbound
from simulators.faults import Faults
from simulators.hosting import Receive, Scope, Send, respond
from simulators.terminal import poly, xapi
from simulators.terminal.calls import (
    DROPPED,
    LOCAL_HANGUP,
    MEDIA_TIMEOUT,
    REBOOTED,
    REMOTE_HANGUP,
    Call,
    DialError,
    Disconnect,
    HistoryEntry,
    refusal,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from simulators.hosting import SimHost

VENDORS = ("cisco_xapi", "poly_rest")
HISTORY_SIZE = 20
DEFAULT_TEMPERATURE = 41.5
MODELS = (
    ("Cisco Webex Room Kit", "Room Kit", "ce11.5.1.5.7d3c5ba8e1a"),
    ("Cisco Webex Room 55", "Room 55", "ce11.5.1.5.7d3c5ba8e1a"),
    ("Cisco Webex Codec Plus", "Codec Plus", "ce10.19.3.1.4c9f3e2a7b1"),
)
POLY_MODELS = (("Poly Studio X50", "4.1.0-400123"), ("Poly G7500", "4.1.0-400123"))
BYE_PREFIX = "/sip/bye/"
MEDIA_TIMEOUT_S = 6.0
"""A connected call without media this long is dropped (real codecs: tens of seconds;
short here so a simulated school day shows it)."""


class Terminal:
    """One room system. An ASGI app for `SimHost`."""

    __slots__ = (
        "_auth",
        "_host",
        "answer_delay_s",
        "booted_at",
        "call",
        "call_seq",
        "display_name",
        "faults",
        "feedback_url",
        "history",
        "id",
        "kind",
        "media_timeout_s",
        "model",
        "name",
        "password",
        "reboot_duration_s",
        "routes",
        "serial",
        "sessions",
        "sip_address",
        "software",
        "standby",
        "username",
        "vendor",
        "volume",
    )

    def __init__(
        self,
        id: str,
        username: str = "admin",
        password: str = "secret",
        *,
        vendor: str = "cisco_xapi",
        name: str = "",
        sip_address: str | None = None,
        answer_delay_s: float = 1.5,
        reboot_duration_s: float = 30.0,
        gateway_routes: Mapping[str, str] | None = None,
        feedback_url: str | None = None,
        faults: Faults | None = None,
        media_timeout_s: float = MEDIA_TIMEOUT_S,
    ) -> None:
        if vendor not in VENDORS:
            raise ValueError(f"unknown terminal vendor {vendor!r} (expected one of {VENDORS})")
        self.id = id
        self.kind = "terminal"
        self.faults = faults if faults is not None else Faults()
        self.username = username
        self.password = password
        self._auth = b"Basic " + base64.b64encode(f"{username}:{password}".encode())
        self.vendor = vendor
        self.name = name or id
        self.display_name = self.name
        self.sip_address = sip_address or f"sip:{id}@vks.example.ru"
        self.answer_delay_s = answer_delay_s
        self.reboot_duration_s = reboot_duration_s
        self.routes = gateway_routes
        self.feedback_url = feedback_url
        self.media_timeout_s = media_timeout_s
        seed = zlib.crc32(id.encode())
        if vendor == "cisco_xapi":
            self.model, _platform, self.software = MODELS[seed % len(MODELS)]
        else:
            self.model, self.software = POLY_MODELS[seed % len(POLY_MODELS)]
        self.serial = f"FOC{seed % 10**8:08d}"
        self.booted_at = time.monotonic() - 3600 - seed % 86400
        self.standby = "Off"
        self.volume = 50
        self.call: Call | None = None
        self.call_seq = seed % 50
        self.history: list[HistoryEntry] | None = None
        self.sessions: set[str] | None = None
        self._host: SimHost | None = None

    # --- SimDevice --------------------------------------------------------------------
    def attach(self, host: SimHost) -> None:
        self._host = host

    def describe(self) -> dict[str, Any]:
        now = time.monotonic()
        call = self.current_call(now)
        return {
            "name": self.name,
            "vendor": self.vendor,
            "model": self.model,
            "sip_address": self.sip_address,
            "standby": self.standby,
            "volume": self.volume,
            "call": None
            if call is None
            else {"id": call.id, "number": call.number, "status": call.status(now)},
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith(BYE_PREFIX):
            await self._bye(path[len(BYE_PREFIX) :], send)
            return
        if self.vendor == "cisco_xapi":
            await xapi.handle(self, scope, receive, send)
        else:
            await poly.handle(self, scope, receive, send)

    # --- auth ---------------------------------------------------------------------------
    def basic_auth_ok(self, scope: Scope) -> bool:
        if self.faults.auth_failure:
            return False
        for name, value in scope["headers"]:
            if name == b"authorization":
                return bool(value == self._auth)
        return False

    def credentials_ok(self, username: str, password: str) -> bool:
        if self.faults.auth_failure:
            return False
        return username == self.username and password == self.password

    # --- time-derived state ----------------------------------------------------------------
    def refresh(self, now: float) -> None:
        """Apply what time has done since the last request: reboot ends, dropped calls."""
        faults = self.faults
        if faults.reboot_s > 0:
            back_at = faults.reboot_started + faults.reboot_s
            if back_at > self.booted_at and now >= back_at:
                self.booted_at = back_at
                self.standby = "Off"
                self.volume = 50
        call = self.call
        if call is None:
            return
        if faults.reboot_s > 0 and faults.reboot_started >= call.started:
            self.end_call(REBOOTED, leave=True)
            return
        if faults.drop_call_after_s > 0:
            at = call.connected_at()
            if at is not None and now - at >= faults.drop_call_after_s:
                self.end_call(DROPPED, leave=True)

    def current_call(self, now: float) -> Call | None:
        self.refresh(now)
        return self.call

    def uptime(self, now: float) -> int:
        return max(0, int(now - self.booted_at))

    def temperature(self) -> float:
        return float(self.faults.extra.get("temperature", DEFAULT_TEMPERATURE))

    def sip_registration(self) -> str:
        return str(self.faults.extra.get("sip_registration", "Registered"))

    def camera_status(self) -> str:
        return str(self.faults.extra.get("camera", "Connected"))

    def diagnostics(self) -> list[tuple[str, str, str]]:
        """(level, type, description) messages, as the device's self-check reports them."""
        messages: list[tuple[str, str, str]] = []
        registration = self.sip_registration()
        if registration != "Registered":
            messages.append(
                ("Error", "SIPProfileRegistration", f"SIP registration status: {registration}")
            )
        temperature = self.temperature()
        if temperature >= 70:
            messages.append(
                (
                    "Critical" if temperature >= 85 else "Warning",
                    "TemperatureCheck",
                    f"The device temperature is high: {temperature:.1f} C",
                )
            )
        if self.camera_status() != "Connected":
            messages.append(("Warning", "CameraStatus", "The main camera is not connected"))
        return messages

    # --- commands ------------------------------------------------------------------------
    def dial(self, number: str) -> Call:
        now = time.monotonic()
        if self.current_call(now) is not None:
            raise DialError("Max number of calls reached")
        number = number.strip()
        if not number:
            raise DialError("Missing or invalid parameter(s): Number")
        uri = gateway.parse_sip_uri(number)
        self.standby = "Off"
        self.call_seq += 1
        has_scheme = number.lower().startswith(("sip:", "sips:"))
        remote = number.split(":", 1)[1] if has_scheme else number
        call = Call(
            id=self.call_seq,
            number=number if has_scheme else f"sip:{number}",
            remote=remote,
            started=now,
            started_wall=time.time(),
            answer_s=self.answer_delay_s,
            gateway_base=gateway.gateway_url(uri, self.routes) if uri else None,
            bye_token=secrets.token_hex(8),
        )
        self.call = call
        self._on_call_change(call)
        outbound.spawn(self._place(call, uri))
        return call

    async def _place(self, call: Call, uri: gateway.SipUri | None) -> None:
        if uri is None or call.gateway_base is None:
            outcome = gateway.CallOutcome(404, None, "No route to the dialled number")
        else:
            bye_url = self._bye_url(call)
            outcome = await gateway.place_call(
                call.gateway_base,
                uri.user,
                self.sip_address,
                self.display_name,
                bye_url,
                keepalive=self.media_timeout_s > 0,
            )
        if self.call is not call:  # hung up (or rebooted) while the call was being set up
            if outcome.joined and call.gateway_base and outcome.call_id:
                await gateway.hang_up(call.gateway_base, outcome.call_id)
            return
        if not outcome.joined:
            self.end_call(refusal(outcome.status, outcome.message), leave=False)
            return
        call.gateway_call_id = outcome.call_id
        call.display_name = outcome.display_name
        call.answered = time.monotonic()
        connected_at = call.connected_at() or call.answered
        loop = asyncio.get_running_loop()
        delay = max(0.0, connected_at - time.monotonic())
        if self.faults.drop_call_after_s > 0:
            call.timer = loop.call_later(delay + self.faults.drop_call_after_s, self.refresh_now)
        if self.feedback_url:
            loop.call_later(delay, self._connected_feedback, call)
        if self.media_timeout_s > 0:
            outbound.spawn(self._watch_media(call))

    async def _watch_media(self, call: Call) -> None:
        """A real codec drops a call whose media stopped (its server died, its room ended
        and the BYE never reached it, its own link is down): it asks the gateway every
        `media_timeout_s / 3` whether the call is still up, and ends it after
        `media_timeout_s` without."""
        every = self.media_timeout_s / 3
        silent_since: float | None = None
        while self.call is call:
            await asyncio.sleep(every)
            if self.call is not call or call.gateway_base is None:
                return
            up = not self.faults.unreachable() and bool(call.gateway_call_id)
            if up and call.gateway_call_id is not None:
                up = await gateway.call_up(call.gateway_base, call.gateway_call_id)
            now = time.monotonic()
            if up:
                silent_since = None
            elif silent_since is None:
                silent_since = now
            elif now - silent_since >= self.media_timeout_s - every and self.call is call:
                self.end_call(MEDIA_TIMEOUT, leave=False)
                return

    def _connected_feedback(self, call: Call) -> None:
        if self.call is call:
            self._on_call_change(call)

    def refresh_now(self) -> None:
        self.refresh(time.monotonic())

    def _bye_url(self, call: Call) -> str | None:
        if self._host is None:
            return None
        try:
            return f"{self._host.url_of(self.id)}{BYE_PREFIX}{call.bye_token}"
        except KeyError:
            return None

    def disconnect(self, call_id: int | None = None) -> bool:
        call = self.current_call(time.monotonic())
        if call is None or (call_id is not None and call.id != call_id):
            return False
        self.end_call(LOCAL_HANGUP, leave=True)
        return True

    def end_call(self, cause: Disconnect, *, leave: bool) -> None:
        call = self.call
        if call is None:
            return
        now = time.monotonic()
        self.call = None
        if call.timer is not None:
            call.timer.cancel()
        if self.history is None:
            self.history = []
        self.history.append(
            HistoryEntry(
                call.id,
                call.number,
                call.display_name,
                call.started_wall,
                call.duration(now),
                cause,
            )
        )
        del self.history[:-HISTORY_SIZE]
        if leave and call.gateway_base and call.gateway_call_id:
            outbound.spawn(gateway.hang_up(call.gateway_base, call.gateway_call_id))
        self._on_call_change(call, cause)

    def set_standby(self, state: str) -> None:
        self.standby = state

    def set_volume(self, level: int) -> int:
        self.volume = max(0, min(100, level))
        return self.volume

    def boot(self) -> None:
        """Restart: the call ends, the device is unreachable for `reboot_duration_s`."""
        self.end_call(REBOOTED, leave=True)
        self.faults.update({"reboot_s": self.reboot_duration_s})

    async def _bye(self, token: str, send: Send) -> None:
        call = self.call
        if call is None or call.bye_token != token:
            await respond(send, 481, b"Call/Transaction Does Not Exist")
            return
        call.gateway_call_id = None  # the gateway has already dropped its side
        self.end_call(REMOTE_HANGUP, leave=False)
        await respond(send, 200, b"OK")

    # --- feedback --------------------------------------------------------------------------
    def _on_call_change(self, call: Call, ended: Disconnect | None = None) -> None:
        if not self.feedback_url or self.vendor != "cisco_xapi":
            return
        body = xapi.feedback_document(self, call, ended, time.monotonic())
        outbound.spawn(
            outbound.fire(
                "POST",
                self.feedback_url,
                content=body,
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )
        )
