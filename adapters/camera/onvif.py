"""`Camera` over ONVIF (device, media and PTZ services), on the `onvif-zeep-async` library.

Why onvif-zeep-async and not onvif-zeep: both are zeep-based clients of the same ONVIF WSDLs
and even import under the same name, `onvif`. onvif-zeep (FalkTannhaeuser) had its last
release, 0.2.12, in 2018 and is synchronous: every call would block a thread, and the service
moves cameras at lesson start and polls thousands of them for health from asyncio code.
onvif-zeep-async (openvideolibs, the client Home Assistant uses) is maintained, async
(aiohttp), sends WS-Security `Created` in the `…Z` form strict cameras want, can compensate a
camera's clock skew (`adjust_time`), and fetches snapshots with HTTP Digest. Our simulator is
checked against both (tests/simulators/test_onvif_conformance.py).

Costs, measured over loopback against the simulator running in another process: the first
client in a process parses the WSDLs (0.3-0.7 s; the library keeps the parsed documents for the
whole process, and `preload_wsdl()` does it ahead of time, off the event loop). Creating a
client costs ~0.02 ms (nothing happens before the first call); the first call connects (clock,
GetServices, GetProfiles: four SOAP round trips) in ~20-30 ms, most of it zeep parsing the
replies; later calls take ~3-10 ms each, and one process drives ~250-480 GetStatus calls per
second (zeep's CPU cost, not the network). A connected client holds ~40 KB (three aiohttp
sessions and zeep proxies), so a monitor polling thousands of cameras can keep its clients.

A client connects lazily on its first call, remembers the PTZ profile, and reconnects after a
failed connect. Every public call is bounded by `timeout_s` as a whole and maps every failure
to a domain error (see `adapters.camera.camera`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import onvif
import zeep.exceptions
from onvif import ONVIFCamera, ONVIFService
from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError

from adapters.camera.camera import DeviceInfo, Preset, PtzPosition, PtzStatus
from booking.errors import (
    DeviceAuthFailed,
    DeviceBusy,
    DeviceError,
    DeviceProtocolError,
    DeviceUnreachable,
    DomainError,
    InvalidInput,
    NotFound,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
_WSDL_DIR = Path(onvif.__file__).parent / "wsdl"
_SERVICES = (
    ("devicemgmt.wsdl", "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"),
    ("media.wsdl", "{http://www.onvif.org/ver10/media/wsdl}MediaBinding"),
    ("ptz.wsdl", "{http://www.onvif.org/ver20/ptz/wsdl}PTZBinding"),
)

# ONVIF fault subcodes (the innermost one decides) -> what they mean for the domain
_NOT_FOUND = {"NoToken", "NoProfile", "NoPTZProfile", "NoEntity", "NoConfig", "NoHomePosition"}
_INVALID = {
    "InvalidPosition",
    "InvalidSpeed",
    "InvalidTranslation",
    "InvalidVelocity",
    "InvalidPresetName",
    "PresetExist",
    "SpaceNotSupported",
    "TimeoutNotSupported",
}
_BUSY = {"MovingPTZ", "ConflictingOperation"}

T = TypeVar("T")


async def preload_wsdl() -> None:
    """Parse the device/media/PTZ WSDLs once for the process (off the event loop), so the
    first camera call at lesson start does not pay for it."""
    for wsdl, binding in _SERVICES:
        service = ONVIFService(
            "http://127.0.0.1/onvif/device_service",
            None,
            None,
            str(_WSDL_DIR / wsdl),
            no_cache=True,
            binding_name=binding,
        )
        await service.setup()
        await service.close()


class _Session:
    """A connected library client: the camera's services, its PTZ profile, and (once a
    snapshot was asked for) the snapshot URI and an HTTP session to fetch it."""

    def __init__(self, client: ONVIFCamera, media: Any, ptz: Any, profile: str) -> None:
        self.client = client
        self.media = media
        self.ptz = ptz
        self.profile = profile
        self.snapshot_uri: str | None = None
        self.http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        await _close_quietly(self.client)


class OnvifCameraClient:
    """A `Camera` reached at `url` (`http://host:port`, the ONVIF device service's origin)."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        device_id: str | None = None,
        adjust_time: bool = True,
    ) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"not an ONVIF camera URL: {url!r}", field="url")
        if timeout_s <= 0:
            raise InvalidInput("timeout must be positive", field="timeout_s")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.hostname if parts.scheme == "http" else f"https://{parts.hostname}"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._username = username
        self._password = password
        self.timeout_s = timeout_s
        self.device = device_id or self.url
        self._adjust_time = adjust_time
        self._session: _Session | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"OnvifCameraClient({self.url!r}, device={self.device!r})"

    # --- the Camera protocol --------------------------------------------------------------------
    async def device_info(self) -> DeviceInfo:
        async def call(s: _Session) -> DeviceInfo:
            devicemgmt = await s.client.create_devicemgmt_service()
            info = await devicemgmt.GetDeviceInformation()
            return DeviceInfo(
                manufacturer=str(info.Manufacturer or ""),
                model=str(info.Model or ""),
                firmware=str(info.FirmwareVersion or ""),
                serial_number=str(info.SerialNumber or ""),
                hardware_id=str(info.HardwareId or ""),
            )

        return await self._run("device information", call)

    async def presets(self) -> list[Preset]:
        return await self._run("list presets", self._presets)

    async def set_preset(self, name: str) -> str:
        name = _preset_name(name)

        async def call(s: _Session) -> str:
            existing = _find(await self._presets(s), name)
            request: dict[str, Any] = {"ProfileToken": s.profile, "PresetName": name}
            if existing is not None:
                request["PresetToken"] = existing.token
            token = await s.ptz.SetPreset(request)
            return str(token)

        return await self._run(f"set preset {name!r}", call)

    async def remove_preset(self, name: str) -> None:
        name = _preset_name(name)

        async def call(s: _Session) -> None:
            preset = self._require(await self._presets(s), name)
            await s.ptz.RemovePreset({"ProfileToken": s.profile, "PresetToken": preset.token})

        await self._run(f"remove preset {name!r}", call)

    async def goto_preset(self, name: str, speed: float | None = None) -> None:
        name = _preset_name(name)
        if speed is not None and not 0.0 < speed <= 1.0:
            raise InvalidInput("speed must be in (0, 1]", field="speed")

        async def call(s: _Session) -> None:
            preset = self._require(await self._presets(s), name)
            request: dict[str, Any] = {"ProfileToken": s.profile, "PresetToken": preset.token}
            if speed is not None:
                request["Speed"] = {"PanTilt": {"x": speed, "y": speed}, "Zoom": {"x": speed}}
            await s.ptz.GotoPreset(request)

        await self._run(f"go to preset {name!r}", call)

    async def go_home(self) -> None:
        async def call(s: _Session) -> None:
            await s.ptz.GotoHomePosition({"ProfileToken": s.profile})

        await self._run("go home", call)

    async def status(self) -> PtzStatus:
        async def call(s: _Session) -> PtzStatus:
            status = await s.ptz.GetStatus({"ProfileToken": s.profile})
            return _status(status)

        return await self._run("PTZ status", call)

    async def snapshot(self) -> bytes:
        async def call(s: _Session) -> bytes:
            if s.snapshot_uri is None:
                answer = await s.media.GetSnapshotUri({"ProfileToken": s.profile})
                s.snapshot_uri = str(answer.Uri)
            return await self._fetch_jpeg(s, s.snapshot_uri)

        return await self._run("snapshot", call)

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    # --- plumbing ---------------------------------------------------------------------------------
    async def _run(self, what: str, call: Callable[[_Session], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self.timeout_s):
                session = await self._connected()
                return await call(session)
        except DomainError as exc:
            exc.details.setdefault("device", self.device)
            raise
        except TimeoutError as exc:
            raise DeviceUnreachable(
                f"camera did not answer ({what}) within {self.timeout_s:g} s", device=self.device
            ) from exc
        except Exception as exc:
            raise _domain_error(exc, what, self.device) from exc

    async def _connected(self) -> _Session:
        if self._session is not None:
            return self._session
        async with self._lock:
            if self._session is not None:
                return self._session
            client = ONVIFCamera(
                self._host,
                self._port,
                self._username,
                self._password,
                no_cache=True,
                adjust_time=self._adjust_time,
            )
            try:
                await client.update_xaddrs()
                media = await client.create_media_service()
                ptz = await client.create_ptz_service()
                profiles = await media.GetProfiles()
            except BaseException:
                await _close_quietly(client)
                raise
            profile = next((p for p in profiles or [] if p.PTZConfiguration is not None), None)
            if profile is None:
                await _close_quietly(client)
                raise DeviceProtocolError(
                    "camera has no media profile with PTZ", device=self.device
                )
            self._session = _Session(client, media, ptz, str(profile.token))
            return self._session

    async def _drop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _fetch_jpeg(self, s: _Session, uri: str) -> bytes:
        """GET the snapshot with HTTP Digest, falling back to Basic when only that is offered
        (cameras protect the snapshot URL with HTTP auth, not WS-Security)."""
        if s.http is None:
            s.http = aiohttp.ClientSession()
        digest = aiohttp.DigestAuthMiddleware(self._username, self._password, preemptive=False)
        async with s.http.get(uri, middlewares=(digest,)) as response:
            challenge = response.headers.getall("WWW-Authenticate", [])
            status, body, kind = response.status, await response.read(), response.content_type
        if status == 401 and any(c.lower().startswith("basic") for c in challenge):
            basic = aiohttp.BasicAuth(self._username, self._password)
            async with s.http.get(uri, auth=basic) as response:
                status, body, kind = response.status, await response.read(), response.content_type
        if status in (401, 403):
            raise DeviceAuthFailed("camera refused the credentials (snapshot)", status=status)
        if status != 200 or not body:
            raise DeviceProtocolError(f"snapshot answered HTTP {status}", status=status)
        if kind != "image/jpeg" and not body.startswith(b"\xff\xd8"):
            raise DeviceProtocolError(f"snapshot is not a JPEG ({kind})")
        return body

    async def _presets(self, s: _Session) -> list[Preset]:
        raw = await s.ptz.GetPresets({"ProfileToken": s.profile})
        return [_preset(p) for p in raw or [] if p.token is not None]

    def _require(self, presets: list[Preset], name: str) -> Preset:
        preset = _find(presets, name)
        if preset is None:
            raise NotFound(
                f"camera has no preset {name!r}",
                device=self.device,
                preset=name,
                known=sorted(p.name for p in presets),
            )
        return preset


# --- mapping --------------------------------------------------------------------------------------
def _preset_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("a preset name is 1 to 64 characters", field="name")
    return name


def _find(presets: list[Preset], name: str) -> Preset | None:
    """Exact name first, then the same name in another case ("Board" for "board")."""
    for preset in presets:
        if preset.name == name:
            return preset
    folded = [p for p in presets if p.name.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def _position(vector: Any) -> PtzPosition | None:
    if vector is None or vector.PanTilt is None:
        return None
    zoom = vector.Zoom.x if vector.Zoom is not None else 0.0
    return PtzPosition(float(vector.PanTilt.x), float(vector.PanTilt.y), float(zoom))


def _preset(raw: Any) -> Preset:
    return Preset(
        name=str(raw.Name or raw.token), token=str(raw.token), position=_position(raw.PTZPosition)
    )


def _status(raw: Any) -> PtzStatus:
    move = raw.MoveStatus
    moving = move is not None and "MOVING" in (str(move.PanTilt), str(move.Zoom))
    utc = raw.UtcTime if isinstance(raw.UtcTime, datetime) else None
    return PtzStatus(
        position=_position(raw.Position), moving=moving, utc_time=utc, error=raw.Error or None
    )


def _fault_code(fault: zeep.exceptions.Fault) -> str | None:
    subcodes = getattr(fault, "subcodes", None) or []
    if subcodes:
        last = subcodes[-1]
        return str(getattr(last, "localname", last)).rpartition(":")[2]
    return None


def _domain_error(exc: BaseException, what: str, device: str) -> DeviceError | DomainError:
    """Map whatever the library or the network raised to a domain error."""
    if isinstance(exc, zeep.exceptions.Fault):
        code = _fault_code(exc)
        message = str(exc.message or code or "fault")
        details = {"device": device, "fault": code, "reason": message}
        if code == "NotAuthorized" or "not authorized" in message.lower():
            return DeviceAuthFailed(f"camera refused the credentials ({what})", **details)
        if code in _NOT_FOUND:
            return NotFound(f"camera: {message} ({what})", **details)
        if code in _INVALID:
            return InvalidInput(f"camera: {message} ({what})", **details)
        if code in _BUSY:
            return DeviceBusy(f"camera is busy: {message} ({what})", **details)
        return DeviceProtocolError(f"camera fault: {message} ({what})", **details)
    if isinstance(exc, zeep.exceptions.TransportError):
        if exc.status_code in (401, 403):
            return DeviceAuthFailed(f"camera refused the credentials ({what})", device=device)
        return DeviceProtocolError(
            f"camera answered HTTP {exc.status_code} ({what})",
            device=device,
            status=exc.status_code,
        )
    if isinstance(exc, ONVIFAuthError):
        return DeviceAuthFailed(f"camera refused the credentials ({what})", device=device)
    if isinstance(exc, ONVIFTimeoutError | TimeoutError):
        return DeviceUnreachable(f"camera did not answer ({what})", device=device)
    if isinstance(exc, aiohttp.ClientResponseError):
        return DeviceProtocolError(f"camera answered HTTP {exc.status} ({what})", device=device)
    if isinstance(exc, aiohttp.ClientConnectionError | ConnectionError | OSError):
        return DeviceUnreachable(f"camera unreachable ({what}): {exc}", device=device)
    if isinstance(exc, ONVIFError) and exc.__cause__ is not None:
        return _domain_error(exc.__cause__, what, device)
    log.debug("unexpected camera error for %s", device, exc_info=exc)
    return DeviceProtocolError(f"camera answer not understood ({what}): {exc}", device=device)


async def _close_quietly(client: ONVIFCamera) -> None:
    try:
        await client.close()
    except Exception:  # closing a half-open client must not hide the real error
        log.debug("closing ONVIF client failed", exc_info=True)
