"""A simulated ONVIF PTZ camera: SOAP 1.2 device, media and PTZ services plus a snapshot URL.

`OnvifCamera` satisfies the `SimDevice` protocol of `simulators.hosting`, so one can run alone
(`vks-sim camera`) or thousands in one fleet process. Per-camera state is small (identity,
credentials, presets, a PTZ head computed from time); XML templates are shared module constants.

    camera = OnvifCamera(id="cam-kem-20", username="admin", password="secret")
    with SimHost() as host:
        port = host.add(camera)          # http://127.0.0.1:<port>/onvif/device_service

Faults (`camera.faults`, also through the control API): `auth_failure` refuses every
authenticated request with `ter:NotAuthorized`; `error_rate` answers that share of requests with
a `Receiver` fault (HTTP 500); `clock_skew_s` shifts the camera's clock, seen in
GetSystemDateAndTime and in the WS-Security freshness check; `offline`, `latency_ms`,
`flapping_period_s` and `reboot_s` are applied by the host. SystemReboot starts a reboot of
`reboot_duration_s` seconds: connections are reset until it is over, then the camera answers
again, back at its home position.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from simulators import faults as faults_module
from simulators.hosting import Receive, Scope, Send, read_body, respond
from simulators.onvif import device_service, media_service, ptz_service, snapshot
from simulators.onvif.configuration import PROFILES
from simulators.onvif.httpauth import challenges
from simulators.onvif.httpauth import check as check_http_auth
from simulators.onvif.motion import Position, PtzHead, clamp
from simulators.onvif.soap import (
    CONTENT_TYPE,
    NS_TDS,
    NS_TPTZ,
    NS_TRT,
    SoapFault,
    SoapRequest,
    envelope,
    fault_envelope,
    not_authorized,
    parse_request,
)
from simulators.onvif.wsse import token_valid

if TYPE_CHECKING:
    from simulators.hosting import SimHost

Handler = Callable[["OnvifCamera", SoapRequest, "Site"], str]

DEFAULT_PRESETS: tuple[str, ...] = ("teacher", "board", "class")
SOAP_PATHS = frozenset(
    {device_service.DEVICE_PATH, device_service.MEDIA_PATH, device_service.PTZ_PATH}
)
_OPERATIONS: dict[tuple[str, str], Handler] = {
    **{(NS_TDS, op): h for op, h in device_service.OPERATIONS.items()},
    **{(NS_TRT, op): h for op, h in media_service.OPERATIONS.items()},
    **{(NS_TPTZ, op): h for op, h in ptz_service.OPERATIONS.items()},
}
_WITHOUT_AUTH = frozenset((NS_TDS, op) for op in device_service.WITHOUT_AUTH)
_HOST_HEADER = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(:\d{1,5})?$")
_POSITION_EPSILON = 1e-3


@dataclass(frozen=True, slots=True)
class Site:
    """How the client reached the camera, for the URLs the camera hands out."""

    base_url: str
    """`http://host:port` as the client addressed it (XAddrs, snapshot URI)."""
    hostname: str
    local_ip: str


@dataclass(slots=True)
class Preset:
    name: str
    position: Position


def _default_position(name: str, index: int) -> Position:
    spot = snapshot.SCENE_SPOTS.get(name.lower())
    if spot is not None:
        return spot
    return clamp((-0.8 + (index * 0.37) % 1.6, 0.0, 0.2))


class OnvifCamera:
    """One simulated ONVIF PTZ camera (an ASGI app hosted by `SimHost`)."""

    kind = "camera"

    def __init__(
        self,
        id: str,
        username: str = "admin",
        password: str = "admin",
        presets: Sequence[str] = DEFAULT_PRESETS,
        *,
        name: str | None = None,
        model: str = "VKS-PTZ-20X",
        manufacturer: str = "VKS Simulators",
        firmware: str = "5.7.3",
        location: str | None = None,
        max_presets: int = 64,
        pan_tilt_speed: float = 1.0,
        zoom_speed: float = 1.0,
        home: Position | None = (0.0, 0.0, 0.0),
        max_clock_skew_s: float | None = 300.0,
        reboot_duration_s: float = 20.0,
        rtsp_port: int = 554,
        utc_offset_s: int = 7 * 3600,
        posix_tz: str = "<+07>-7",
        faults: faults_module.Faults | None = None,
    ) -> None:
        if len(presets) > max_presets:
            raise ValueError(f"{len(presets)} presets exceed max_presets={max_presets}")
        self.id = id
        self.username = username
        self.password = password
        self.name = name or id
        self.model = model
        self.manufacturer = manufacturer
        self.firmware = firmware
        self.location = location
        self.max_presets = max_presets
        self.max_clock_skew_s = max_clock_skew_s
        self.reboot_duration_s = reboot_duration_s
        self.rtsp_port = rtsp_port
        self.utc_offset_s = utc_offset_s
        self.posix_tz = posix_tz
        self.faults = faults if faults is not None else faults_module.Faults()
        self.home = home
        start = home if home is not None else (0.0, 0.0, 0.0)
        self.head = PtzHead(start, pan_tilt_speed, zoom_speed)
        self.presets: dict[str, Preset] = {}
        self._next_token = 1
        for i, preset_name in enumerate(presets):
            self.store_preset(None, preset_name, _default_position(preset_name, i))
        self._host: SimHost | None = None
        self._reboot_requested = False

    # --- identity ---------------------------------------------------------------------
    @property
    def serial_number(self) -> str:
        return "VKS" + hashlib.sha1(self.id.encode()).hexdigest()[:12].upper()

    @property
    def hardware_id(self) -> str:
        return f"{self.model}-HW1"

    @property
    def mac_address(self) -> str:
        digest = hashlib.sha1(self.id.encode()).digest()
        return "02:" + ":".join(f"{b:02x}" for b in digest[:5])  # locally administered

    @property
    def hostname(self) -> str:
        return re.sub(r"[^A-Za-z0-9-]", "-", self.id)[:63] or "camera"

    def describe(self) -> dict[str, Any]:
        pan, tilt, zoom = self.head.position()
        return {
            "model": self.model,
            "name": self.name,
            "username": self.username,
            "presets": [p.name for p in self.presets.values()],
            "position": {"pan": round(pan, 4), "tilt": round(tilt, 4), "zoom": round(zoom, 4)},
            "moving": any(self.head.moving()),
            "preset": self.preset_at(),
        }

    def attach(self, host: SimHost) -> None:
        self._host = host

    # --- state used by the services ---------------------------------------------------
    def store_preset(self, token: str | None, name: str | None, position: Position) -> str:
        """Create (token None) or overwrite a preset; returns its token."""
        if token is None:
            while str(self._next_token) in self.presets:
                self._next_token += 1
            token = str(self._next_token)
            self._next_token += 1
        previous = self.presets.get(token)
        final_name = name or (previous.name if previous else f"Preset {token}")
        self.presets[token] = Preset(final_name, position)
        return token

    def preset_at(self) -> str | None:
        """The name of the preset the camera stands on (None while moving or elsewhere)."""
        if any(self.head.moving()):
            return None
        here = self.head.position()
        for preset in self.presets.values():
            if all(
                abs(a - b) < _POSITION_EPSILON for a, b in zip(here, preset.position, strict=True)
            ):
                return preset.name
        return None

    def request_reboot(self) -> None:
        """SystemReboot: the reboot starts once the response has been sent."""
        self._reboot_requested = True

    def _begin_reboot(self) -> None:
        self._reboot_requested = False
        if self.home is not None:
            self.head.jump(self.home)
        self.faults.update({"reboot_s": self.reboot_duration_s})

    # --- SOAP ---------------------------------------------------------------------------
    def handle_soap(self, data: bytes, site: Site) -> tuple[int, bytes]:
        """Answer one SOAP request: (HTTP status, response envelope)."""
        try:
            request = parse_request(data)
            key = (request.namespace, request.operation)
            if self.faults.should_error():
                raise SoapFault("Receiver", ["Action"], "Internal device error (simulated)")
            if key not in _WITHOUT_AUTH:
                self._authenticate(request)
            handler = _OPERATIONS.get(key)
            if handler is None:
                raise SoapFault(
                    "Receiver",
                    ["ActionNotSupported"],
                    f"Optional action {request.operation} is not implemented",
                )
            return 200, envelope(handler(self, request, site))
        except SoapFault as fault:
            return fault.http_status, fault_envelope(fault)

    def _authenticate(self, request: SoapRequest) -> None:
        if self.faults.auth_failure or not token_valid(
            request.security,
            self.username,
            self.password,
            self.faults.now(),
            self.max_clock_skew_s,
        ):
            raise not_authorized()

    # --- ASGI ---------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self.faults.unreachable() and self._host is not None:
            # a kept-alive connection during a reboot or a flap: cut it, as the device would
            self._host.drop_connections(self.id)
            await asyncio.sleep(0)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        site = _site(scope)
        if path in SOAP_PATHS:
            if method != "POST":
                await respond(send, 405, "SOAP endpoint: use POST\n", headers=[(b"allow", b"POST")])
                return
            status, body = self.handle_soap(await read_body(receive), site)
            rebooting = self._reboot_requested
            headers = [(b"connection", b"close")] if rebooting else None
            await respond(send, status, body, CONTENT_TYPE, headers)
            if rebooting:
                self._begin_reboot()
            return
        if path == media_service.SNAPSHOT_PATH:
            await self._snapshot(scope, send)
            return
        await respond(send, 404, "Not Found\n")

    async def _snapshot(self, scope: Scope, send: Send) -> None:
        method: str = scope["method"]
        if method not in ("GET", "HEAD"):
            await respond(send, 405, "Method Not Allowed\n", headers=[(b"allow", b"GET")])
            return
        if self.faults.should_error():
            await respond(send, 500, "Internal Server Error\n")
            return
        authorization = _header(scope, b"authorization")
        query_string = bytes(scope.get("query_string", b"")).decode("latin-1")
        target = scope.get("raw_path", scope["path"].encode())
        target = bytes(target).decode("latin-1") + (f"?{query_string}" if query_string else "")
        verdict = (
            "denied"
            if self.faults.auth_failure
            else check_http_auth(authorization, method, target, self.username, self.password)
        )
        if verdict != "ok":
            await respond(send, 401, "Unauthorized\n", headers=challenges(stale=verdict == "stale"))
            return
        query = parse_qs(query_string)
        profile = (query.get("profile") or ["Profile_1"])[0]
        if profile not in PROFILES:
            await respond(send, 404, f"No profile {profile}\n")
            return
        moving = any(self.head.moving())
        clock = time.strftime(
            "%Y-%m-%d %H:%M:%S", time.gmtime(self.faults.now() + self.utc_offset_s)
        )
        jpeg = await asyncio.to_thread(
            snapshot.render, self.name, self.head.position(), self.preset_at(), moving, clock
        )
        await respond(send, 200, b"" if method == "HEAD" else jpeg, "image/jpeg")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _site(scope: Scope) -> Site:
    server = scope.get("server") or ("127.0.0.1", 80)
    local_ip = str(server[0])
    host = _header(scope, b"host")
    if host is None or not _HOST_HEADER.match(host):
        host = f"{local_ip}:{server[1]}"
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return Site(base_url=f"http://{host}", hostname=hostname, local_ip=local_ip)
