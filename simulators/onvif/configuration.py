"""The simulated camera's fixed configuration, as XML fragments shared by every instance:
two media profiles (main and sub stream) over one video source, one PTZ node and one PTZ
configuration used by both profiles, and the per-service capabilities. Tokens are consistent
across GetProfiles, GetVideoSources, GetNodes and GetConfigurations.
"""

from __future__ import annotations

from functools import lru_cache

from simulators.onvif.soap import NS_TDS, NS_TPTZ, NS_TRT

VIDEO_SOURCE_TOKEN = "VideoSource_1"
VIDEO_SOURCE_CONFIG_TOKEN = "VideoSourceConfig_1"
NODE_TOKEN = "PTZNode_1"
PTZ_CONFIG_TOKEN = "PTZConfig_1"
DEFAULT_PTZ_TIMEOUT_S = 10.0

# profile token -> (name, encoder token, width, height, frame rate, bitrate kbit/s, stream no.)
PROFILES: dict[str, tuple[str, str, int, int, int, int, int]] = {
    "Profile_1": ("MainStream", "VideoEncoder_1", 1920, 1080, 25, 4096, 101),
    "Profile_2": ("SubStream", "VideoEncoder_2", 640, 360, 15, 512, 102),
}
SOURCE_WIDTH, SOURCE_HEIGHT = 1920, 1080

_SPACES = "http://www.onvif.org/ver10/tptz/"
PT_POSITION = _SPACES + "PanTiltSpaces/PositionGenericSpace"
ZOOM_POSITION = _SPACES + "ZoomSpaces/PositionGenericSpace"
PT_TRANSLATION = _SPACES + "PanTiltSpaces/TranslationGenericSpace"
ZOOM_TRANSLATION = _SPACES + "ZoomSpaces/TranslationGenericSpace"
PT_VELOCITY = _SPACES + "PanTiltSpaces/VelocityGenericSpace"
ZOOM_VELOCITY = _SPACES + "ZoomSpaces/VelocityGenericSpace"
PT_SPEED = _SPACES + "PanTiltSpaces/GenericSpeedSpace"
ZOOM_SPEED = _SPACES + "ZoomSpaces/ZoomGenericSpeedSpace"

_PT, _Z, _SIGNED, _UNIT = (-1.0, 1.0), (0.0, 1.0), (-1.0, 1.0), (0.0, 1.0)


def _range1d(uri: str, x: tuple[float, float]) -> str:
    return (
        f"<tt:URI>{uri}</tt:URI>"
        f"<tt:XRange><tt:Min>{x[0]}</tt:Min><tt:Max>{x[1]}</tt:Max></tt:XRange>"
    )


def _range2d(uri: str, x: tuple[float, float], y: tuple[float, float]) -> str:
    return (
        _range1d(uri, x) + f"<tt:YRange><tt:Min>{y[0]}</tt:Min><tt:Max>{y[1]}</tt:Max></tt:YRange>"
    )


_PTZ_CONFIGURATION_BODY = (
    f"<tt:Name>PTZConfig</tt:Name><tt:UseCount>{len(PROFILES)}</tt:UseCount>"
    f"<tt:NodeToken>{NODE_TOKEN}</tt:NodeToken>"
    f"<tt:DefaultAbsolutePantTiltPositionSpace>{PT_POSITION}"
    "</tt:DefaultAbsolutePantTiltPositionSpace>"
    f"<tt:DefaultAbsoluteZoomPositionSpace>{ZOOM_POSITION}</tt:DefaultAbsoluteZoomPositionSpace>"
    f"<tt:DefaultRelativePanTiltTranslationSpace>{PT_TRANSLATION}"
    "</tt:DefaultRelativePanTiltTranslationSpace>"
    f"<tt:DefaultRelativeZoomTranslationSpace>{ZOOM_TRANSLATION}"
    "</tt:DefaultRelativeZoomTranslationSpace>"
    f"<tt:DefaultContinuousPanTiltVelocitySpace>{PT_VELOCITY}"
    "</tt:DefaultContinuousPanTiltVelocitySpace>"
    f"<tt:DefaultContinuousZoomVelocitySpace>{ZOOM_VELOCITY}"
    "</tt:DefaultContinuousZoomVelocitySpace>"
    f'<tt:DefaultPTZSpeed><tt:PanTilt x="1" y="1" space="{PT_SPEED}"/>'
    f'<tt:Zoom x="1" space="{ZOOM_SPEED}"/></tt:DefaultPTZSpeed>'
    f"<tt:DefaultPTZTimeout>PT{DEFAULT_PTZ_TIMEOUT_S:g}S</tt:DefaultPTZTimeout>"
    f"<tt:PanTiltLimits><tt:Range>{_range2d(PT_POSITION, _PT, _PT)}</tt:Range></tt:PanTiltLimits>"
    f"<tt:ZoomLimits><tt:Range>{_range1d(ZOOM_POSITION, _Z)}</tt:Range></tt:ZoomLimits>"
)


def ptz_configuration(element: str) -> str:
    """The PTZ configuration as `<element token=…>…</element>` (`element` with its prefix)."""
    return f'<{element} token="{PTZ_CONFIG_TOKEN}">{_PTZ_CONFIGURATION_BODY}</{element}>'


_NODE_SPACES = (
    f"<tt:AbsolutePanTiltPositionSpace>{_range2d(PT_POSITION, _PT, _PT)}"
    "</tt:AbsolutePanTiltPositionSpace>"
    f"<tt:AbsoluteZoomPositionSpace>{_range1d(ZOOM_POSITION, _Z)}</tt:AbsoluteZoomPositionSpace>"
    f"<tt:RelativePanTiltTranslationSpace>{_range2d(PT_TRANSLATION, _SIGNED, _SIGNED)}"
    "</tt:RelativePanTiltTranslationSpace>"
    f"<tt:RelativeZoomTranslationSpace>{_range1d(ZOOM_TRANSLATION, _SIGNED)}"
    "</tt:RelativeZoomTranslationSpace>"
    f"<tt:ContinuousPanTiltVelocitySpace>{_range2d(PT_VELOCITY, _SIGNED, _SIGNED)}"
    "</tt:ContinuousPanTiltVelocitySpace>"
    f"<tt:ContinuousZoomVelocitySpace>{_range1d(ZOOM_VELOCITY, _SIGNED)}"
    "</tt:ContinuousZoomVelocitySpace>"
    f"<tt:PanTiltSpeedSpace>{_range1d(PT_SPEED, _UNIT)}</tt:PanTiltSpeedSpace>"
    f"<tt:ZoomSpeedSpace>{_range1d(ZOOM_SPEED, _UNIT)}</tt:ZoomSpeedSpace>"
)


@lru_cache(maxsize=16)
def ptz_node(element: str, max_presets: int, home_supported: bool) -> str:
    return (
        f'<{element} token="{NODE_TOKEN}" FixedHomePosition="false">'
        f"<tt:Name>PTZ</tt:Name><tt:SupportedPTZSpaces>{_NODE_SPACES}</tt:SupportedPTZSpaces>"
        f"<tt:MaximumNumberOfPresets>{max_presets}</tt:MaximumNumberOfPresets>"
        f"<tt:HomeSupported>{str(home_supported).lower()}</tt:HomeSupported>"
        f"</{element}>"
    )


VIDEO_SOURCE_CONFIGURATION_BODY = (
    f"<tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>{len(PROFILES)}</tt:UseCount>"
    f"<tt:SourceToken>{VIDEO_SOURCE_TOKEN}</tt:SourceToken>"
    f'<tt:Bounds x="0" y="0" width="{SOURCE_WIDTH}" height="{SOURCE_HEIGHT}"/>'
)

VIDEO_SOURCE = (
    f'<trt:VideoSources token="{VIDEO_SOURCE_TOKEN}"><tt:Framerate>25</tt:Framerate>'
    f"<tt:Resolution><tt:Width>{SOURCE_WIDTH}</tt:Width><tt:Height>{SOURCE_HEIGHT}</tt:Height>"
    "</tt:Resolution></trt:VideoSources>"
)


def _encoder(name: str, token: str, width: int, height: int, fps: int, kbps: int) -> str:
    return (
        f'<tt:VideoEncoderConfiguration token="{token}">'
        f"<tt:Name>{name}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{width}</tt:Width><tt:Height>{height}</tt:Height></tt:Resolution>"
        "<tt:Quality>5</tt:Quality>"
        f"<tt:RateControl><tt:FrameRateLimit>{fps}</tt:FrameRateLimit>"
        f"<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>{kbps}</tt:BitrateLimit>"
        "</tt:RateControl>"
        f"<tt:H264><tt:GovLength>{fps * 2}</tt:GovLength>"
        "<tt:H264Profile>Main</tt:H264Profile></tt:H264>"
        "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>"
        "</tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
        "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>"
        "</tt:VideoEncoderConfiguration>"
    )


def _profile(element: str, token: str) -> str:
    name, encoder, width, height, fps, kbps, _ = PROFILES[token]
    return (
        f'<{element} token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
        f'<tt:VideoSourceConfiguration token="{VIDEO_SOURCE_CONFIG_TOKEN}">'
        f"{VIDEO_SOURCE_CONFIGURATION_BODY}</tt:VideoSourceConfiguration>"
        f"{_encoder(name, encoder, width, height, fps, kbps)}"
        f"{ptz_configuration('tt:PTZConfiguration')}"
        f"</{element}>"
    )


PROFILES_XML = "".join(_profile("trt:Profiles", token) for token in PROFILES)
PROFILE_XML = {token: _profile("trt:Profile", token) for token in PROFILES}

SERVICE_CAPABILITIES = {
    NS_TDS: (
        "<tds:Capabilities>"
        '<tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" '
        'DynDNS="false" HostnameFromDHCP="false" NTP="0"/>'
        '<tds:Security TLS1.2="false" UsernameToken="true" HttpDigest="false" MaxUsers="1"/>'
        '<tds:System DiscoveryResolve="false" DiscoveryBye="false" RemoteDiscovery="false" '
        'SystemBackup="false" SystemLogging="false" FirmwareUpgrade="false"/>'
        "</tds:Capabilities>"
    ),
    NS_TRT: (
        '<trt:Capabilities SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false">'
        f'<trt:ProfileCapabilities MaximumNumberOfProfiles="{len(PROFILES)}"/>'
        '<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true"/>'
        "</trt:Capabilities>"
    ),
    NS_TPTZ: (
        '<tptz:Capabilities EFlip="false" Reverse="false" GetCompatibleConfigurations="false" '
        'MoveStatus="true" StatusPosition="true"/>'
    ),
}
