"""ONVIF Media service (trt) of the simulated camera: profiles, video sources, stream and
snapshot URIs. The snapshot URI points back at this camera, which serves a JPEG at it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from simulators.onvif.configuration import (
    PROFILE_XML,
    PROFILES,
    PROFILES_XML,
    SERVICE_CAPABILITIES,
    VIDEO_SOURCE,
)
from simulators.onvif.soap import NS_TRT, SoapRequest, child, child_text, sender_fault, text

if TYPE_CHECKING:
    from simulators.onvif.camera import OnvifCamera, Site

Handler = Callable[["OnvifCamera", SoapRequest, "Site"], str]

SNAPSHOT_PATH = "/onvif/snapshot"
_STREAM_TYPES = {"RTP-Unicast", "RTP-Multicast"}
_TRANSPORTS = {"UDP", "TCP", "RTSP", "HTTP"}


def _profile_token(req: SoapRequest) -> str:
    token = child_text(req.body, "ProfileToken")
    if not token or token not in PROFILES:
        raise sender_fault("NoProfile", f"The requested profile token {token!r} does not exist")
    return token


def _media_uri(element: str, uri: str) -> str:
    return (
        f"<{element}><trt:MediaUri><tt:Uri>{text(uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
        f"<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></{element}>"
    )


def get_profiles(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return f"<trt:GetProfilesResponse>{PROFILES_XML}</trt:GetProfilesResponse>"


def get_profile(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    token = _profile_token(req)
    return f"<trt:GetProfileResponse>{PROFILE_XML[token]}</trt:GetProfileResponse>"


def get_video_sources(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return f"<trt:GetVideoSourcesResponse>{VIDEO_SOURCE}</trt:GetVideoSourcesResponse>"


def get_stream_uri(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    token = _profile_token(req)
    setup = child(req.body, "StreamSetup")
    stream = child_text(setup, "Stream")
    protocol = child_text(child(setup, "Transport"), "Protocol")
    if stream not in _STREAM_TYPES or protocol not in _TRANSPORTS:
        raise sender_fault(
            "InvalidStreamSetup", f"Stream setup {stream}/{protocol} is not supported"
        )
    channel = PROFILES[token][6]
    uri = f"rtsp://{site.hostname}:{cam.rtsp_port}/Streaming/Channels/{channel}"
    return _media_uri("trt:GetStreamUriResponse", uri)


def get_snapshot_uri(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    token = _profile_token(req)
    uri = f"{site.base_url}{SNAPSHOT_PATH}?profile={quote(token)}"
    return _media_uri("trt:GetSnapshotUriResponse", uri)


def get_service_capabilities(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return (
        f"<trt:GetServiceCapabilitiesResponse>{SERVICE_CAPABILITIES[NS_TRT]}"
        "</trt:GetServiceCapabilitiesResponse>"
    )


OPERATIONS: dict[str, Handler] = {
    "GetProfiles": get_profiles,
    "GetProfile": get_profile,
    "GetVideoSources": get_video_sources,
    "GetStreamUri": get_stream_uri,
    "GetSnapshotUri": get_snapshot_uri,
    "GetServiceCapabilities": get_service_capabilities,
}
