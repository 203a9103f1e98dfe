"""ONVIF PTZ service (tptz) of the simulated camera: one node, one configuration shared by both
media profiles, presets, home position, absolute/relative/continuous moves and status."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING

from simulators.onvif.configuration import (
    DEFAULT_PTZ_TIMEOUT_S,
    NODE_TOKEN,
    PROFILES,
    PT_POSITION,
    PT_SPEED,
    PT_TRANSLATION,
    PT_VELOCITY,
    PTZ_CONFIG_TOKEN,
    SERVICE_CAPABILITIES,
    ZOOM_POSITION,
    ZOOM_SPEED,
    ZOOM_TRANSLATION,
    ZOOM_VELOCITY,
    ptz_configuration,
    ptz_node,
)
from simulators.onvif.motion import Position, in_range
from simulators.onvif.soap import (
    NS_TPTZ,
    SoapRequest,
    action_fault,
    attr,
    child,
    child_text,
    sender_fault,
    text,
)

if TYPE_CHECKING:
    from simulators.onvif.camera import OnvifCamera, Site

Handler = Callable[["OnvifCamera", SoapRequest, "Site"], str]

MAX_TIMEOUT_S = 3600.0
MAX_PRESET_NAME = 64


def vector(position: Position, tag: str = "tt") -> str:
    pan, tilt, zoom = position
    return (
        f'<{tag}:PanTilt x="{pan:.4f}" y="{tilt:.4f}" space="{PT_POSITION}"/>'
        f'<{tag}:Zoom x="{zoom:.4f}" space="{ZOOM_POSITION}"/>'
    )


# --- request parsing ------------------------------------------------------------------
def _profile(cam: OnvifCamera, req: SoapRequest) -> str:
    token = child_text(req.body, "ProfileToken")
    if not token or token not in PROFILES:
        raise sender_fault("NoProfile", f"The requested profile token {token!r} does not exist")
    return token


def _float(element: ET.Element, name: str, fault: str) -> float:
    raw = element.get(name)
    try:
        return float(raw) if raw is not None else float("nan")
    except ValueError:
        raise sender_fault(fault, f"Attribute {name!r} is not a number: {raw!r}") from None


def _vector(
    element: ET.Element | None, fault: str, pt_space: str, zoom_space: str
) -> tuple[tuple[float, float] | None, float | None]:
    """(pan, tilt) and zoom from a PTZVector/PTZSpeed element; None where absent."""
    if element is None:
        return None, None
    pan_tilt: tuple[float, float] | None = None
    zoom: float | None = None
    pt = child(element, "PanTilt")
    if pt is not None:
        if pt.get("space") not in (None, "", pt_space):
            raise sender_fault("SpaceNotSupported", f"Space {pt.get('space')} is not supported")
        pan_tilt = (_float(pt, "x", fault), _float(pt, "y", fault))
    z = child(element, "Zoom")
    if z is not None:
        if z.get("space") not in (None, "", zoom_space):
            raise sender_fault("SpaceNotSupported", f"Space {z.get('space')} is not supported")
        zoom = _float(z, "x", fault)
    return pan_tilt, zoom


def _speed(req: SoapRequest) -> tuple[tuple[float, float], float]:
    pan_tilt, zoom = _vector(child(req.body, "Speed"), "InvalidSpeed", PT_SPEED, ZOOM_SPEED)
    pt = pan_tilt if pan_tilt is not None else (1.0, 1.0)
    z = zoom if zoom is not None else 1.0
    if not all(0.0 <= v <= 1.0 for v in (*pt, z)):
        raise sender_fault("InvalidSpeed", "The requested speed is out of bounds")
    return pt, z


_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: str) -> float | None:
    """Seconds in an xs:duration such as `PT5S`, `PT0.5S`, `PT1M30S`; None if malformed."""
    m = _DURATION.match(value.strip())
    if not m or value.strip() in ("P", "PT") or value.strip().endswith("T"):
        return None
    parts = {k: float(v) for k, v in m.groupdict().items() if v}
    return (
        parts.get("d", 0) * 86400
        + parts.get("h", 0) * 3600
        + parts.get("m", 0) * 60
        + parts.get("s", 0)
    )


def _preset_token(cam: OnvifCamera, req: SoapRequest) -> str:
    token = child_text(req.body, "PresetToken")
    if not token or token not in cam.presets:
        raise sender_fault("NoToken", f"The requested preset token {token!r} does not exist")
    return token


# --- operations -----------------------------------------------------------------------
def get_nodes(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    node = ptz_node("tptz:PTZNode", cam.max_presets, True)
    return f"<tptz:GetNodesResponse>{node}</tptz:GetNodesResponse>"


def get_node(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    token = child_text(req.body, "NodeToken")
    if token != NODE_TOKEN:
        raise sender_fault("NoEntity", f"No such PTZ node {token!r}")
    node = ptz_node("tptz:PTZNode", cam.max_presets, True)
    return f"<tptz:GetNodeResponse>{node}</tptz:GetNodeResponse>"


def get_configurations(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return (
        f"<tptz:GetConfigurationsResponse>{ptz_configuration('tptz:PTZConfiguration')}"
        "</tptz:GetConfigurationsResponse>"
    )


def get_configuration(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    token = child_text(req.body, "PTZConfigurationToken")
    if token != PTZ_CONFIG_TOKEN:
        raise sender_fault("NoConfig", f"No such PTZ configuration {token!r}")
    return (
        f"<tptz:GetConfigurationResponse>{ptz_configuration('tptz:PTZConfiguration')}"
        "</tptz:GetConfigurationResponse>"
    )


def get_service_capabilities(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return (
        f"<tptz:GetServiceCapabilitiesResponse>{SERVICE_CAPABILITIES[NS_TPTZ]}"
        "</tptz:GetServiceCapabilitiesResponse>"
    )


def get_presets(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    body = "".join(
        f"<tptz:Preset token={attr(token)}><tt:Name>{text(p.name)}</tt:Name>"
        f"<tt:PTZPosition>{vector(p.position)}</tt:PTZPosition></tptz:Preset>"
        for token, p in cam.presets.items()
    )
    return f"<tptz:GetPresetsResponse>{body}</tptz:GetPresetsResponse>"


def set_preset(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    name = child_text(req.body, "PresetName")
    token = child_text(req.body, "PresetToken") or None
    if name is not None and (not name or len(name) > MAX_PRESET_NAME):
        raise sender_fault("InvalidPresetName", "The preset name is empty or too long")
    if token is not None and token not in cam.presets:
        raise sender_fault("NoToken", f"The requested preset token {token!r} does not exist")
    if name is not None:
        for other_token, preset in cam.presets.items():
            if preset.name == name and other_token != token:
                raise sender_fault("PresetExist", f"A preset named {name!r} already exists")
    if cam.head.moving() != (False, False):
        raise action_fault("MovingPTZ", "Preset cannot be set while PTZ unit is moving")
    if token is None and len(cam.presets) >= cam.max_presets:
        raise action_fault("TooManyPresets", "Maximum number of presets reached")
    token = cam.store_preset(token, name, cam.head.position())
    return (
        f"<tptz:SetPresetResponse><tptz:PresetToken>{text(token)}</tptz:PresetToken>"
        "</tptz:SetPresetResponse>"
    )


def remove_preset(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    token = _preset_token(cam, req)
    del cam.presets[token]
    return "<tptz:RemovePresetResponse/>"


def goto_preset(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    token = _preset_token(cam, req)
    pt_speed, zoom_speed = _speed(req)
    cam.head.move_to(cam.presets[token].position, pt_speed, zoom_speed)
    return "<tptz:GotoPresetResponse/>"


def goto_home_position(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    if cam.home is None:
        raise action_fault("NoHomePosition", "No home position has been defined")
    pt_speed, zoom_speed = _speed(req)
    cam.head.move_to(cam.home, pt_speed, zoom_speed)
    return "<tptz:GotoHomePositionResponse/>"


def set_home_position(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    cam.home = cam.head.position()
    return "<tptz:SetHomePositionResponse/>"


def absolute_move(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    position = child(req.body, "Position")
    if position is None:
        raise sender_fault("InvalidPosition", "Position is required")
    pan_tilt, zoom = _vector(position, "InvalidPosition", PT_POSITION, ZOOM_POSITION)
    current = cam.head.position()
    target: Position = (
        pan_tilt[0] if pan_tilt else current[0],
        pan_tilt[1] if pan_tilt else current[1],
        zoom if zoom is not None else current[2],
    )
    if not in_range(target):
        raise sender_fault("InvalidPosition", "The requested position is out of bounds")
    pt_speed, zoom_speed = _speed(req)
    cam.head.move_to(target, pt_speed, zoom_speed)
    return "<tptz:AbsoluteMoveResponse/>"


def relative_move(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    translation = child(req.body, "Translation")
    if translation is None:
        raise sender_fault("InvalidTranslation", "Translation is required")
    pan_tilt, zoom = _vector(translation, "InvalidTranslation", PT_TRANSLATION, ZOOM_TRANSLATION)
    dp, dt = pan_tilt if pan_tilt else (0.0, 0.0)
    dz = zoom if zoom is not None else 0.0
    if not all(-1.0 <= v <= 1.0 for v in (dp, dt, dz)):
        raise sender_fault("InvalidTranslation", "The requested translation is out of bounds")
    pan, tilt, z = cam.head.position()
    pt_speed, zoom_speed = _speed(req)
    cam.head.move_to((pan + dp, tilt + dt, z + dz), pt_speed, zoom_speed)  # clamped at end stops
    return "<tptz:RelativeMoveResponse/>"


def continuous_move(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    velocity = child(req.body, "Velocity")
    if velocity is None:
        raise sender_fault("InvalidVelocity", "Velocity is required")
    pan_tilt, zoom = _vector(velocity, "InvalidVelocity", PT_VELOCITY, ZOOM_VELOCITY)
    vp, vt = pan_tilt if pan_tilt else (0.0, 0.0)
    vz = zoom if zoom is not None else 0.0
    if not all(-1.0 <= v <= 1.0 for v in (vp, vt, vz)):
        raise sender_fault("InvalidVelocity", "The requested velocity is out of bounds")
    raw_timeout = child_text(req.body, "Timeout")
    timeout = DEFAULT_PTZ_TIMEOUT_S if raw_timeout is None else parse_duration(raw_timeout)
    if timeout is None or not 0 < timeout <= MAX_TIMEOUT_S:
        raise sender_fault("TimeoutNotSupported", f"Timeout {raw_timeout!r} is not supported")
    cam.head.continuous((vp, vt, vz), timeout)
    return "<tptz:ContinuousMoveResponse/>"


def stop(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    pan_tilt = (child_text(req.body, "PanTilt") or "true").lower() in ("true", "1")
    zoom = (child_text(req.body, "Zoom") or "true").lower() in ("true", "1")
    cam.head.stop(pan_tilt, zoom)
    return "<tptz:StopResponse/>"


def get_status(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    _profile(cam, req)
    now = time.monotonic()
    position = cam.head.position(now)
    pt_moving, zoom_moving = cam.head.moving(now)
    utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cam.faults.now()))
    return (
        "<tptz:GetStatusResponse><tptz:PTZStatus>"
        f"<tt:Position>{vector(position)}</tt:Position>"
        f"<tt:MoveStatus><tt:PanTilt>{'MOVING' if pt_moving else 'IDLE'}</tt:PanTilt>"
        f"<tt:Zoom>{'MOVING' if zoom_moving else 'IDLE'}</tt:Zoom></tt:MoveStatus>"
        f"<tt:UtcTime>{utc}</tt:UtcTime>"
        "</tptz:PTZStatus></tptz:GetStatusResponse>"
    )


OPERATIONS: dict[str, Handler] = {
    "GetNodes": get_nodes,
    "GetNode": get_node,
    "GetConfigurations": get_configurations,
    "GetConfiguration": get_configuration,
    "GetServiceCapabilities": get_service_capabilities,
    "GetPresets": get_presets,
    "SetPreset": set_preset,
    "RemovePreset": remove_preset,
    "GotoPreset": goto_preset,
    "GotoHomePosition": goto_home_position,
    "SetHomePosition": set_home_position,
    "AbsoluteMove": absolute_move,
    "RelativeMove": relative_move,
    "ContinuousMove": continuous_move,
    "Stop": stop,
    "GetStatus": get_status,
}
