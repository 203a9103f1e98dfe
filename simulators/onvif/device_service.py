"""ONVIF Device service (tds) of the simulated camera."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from simulators.onvif.configuration import SERVICE_CAPABILITIES
from simulators.onvif.soap import (
    NS_TDS,
    NS_TPTZ,
    NS_TRT,
    SoapFault,
    SoapRequest,
    child_text,
    children,
    text,
)

if TYPE_CHECKING:
    from simulators.onvif.camera import OnvifCamera, Site

Handler = Callable[["OnvifCamera", SoapRequest, "Site"], str]

DEVICE_PATH = "/onvif/device_service"
MEDIA_PATH = "/onvif/media_service"
PTZ_PATH = "/onvif/ptz_service"

_SERVICES: tuple[tuple[str, str, int, int], ...] = (
    (NS_TDS, DEVICE_PATH, 2, 60),
    (NS_TRT, MEDIA_PATH, 2, 60),
    (NS_TPTZ, PTZ_PATH, 2, 60),
)

_CATEGORIES = {"All", "Device", "Media", "PTZ", "Analytics", "Events", "Imaging"}


def get_device_information(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return (
        "<tds:GetDeviceInformationResponse>"
        f"<tds:Manufacturer>{text(cam.manufacturer)}</tds:Manufacturer>"
        f"<tds:Model>{text(cam.model)}</tds:Model>"
        f"<tds:FirmwareVersion>{text(cam.firmware)}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>{text(cam.serial_number)}</tds:SerialNumber>"
        f"<tds:HardwareId>{text(cam.hardware_id)}</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def _date_time(t: time.struct_time) -> str:
    return (
        f"<tt:Time><tt:Hour>{t.tm_hour}</tt:Hour><tt:Minute>{t.tm_min}</tt:Minute>"
        f"<tt:Second>{t.tm_sec}</tt:Second></tt:Time>"
        f"<tt:Date><tt:Year>{t.tm_year}</tt:Year><tt:Month>{t.tm_mon}</tt:Month>"
        f"<tt:Day>{t.tm_mday}</tt:Day></tt:Date>"
    )


def get_system_date_and_time(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    now = cam.faults.now()
    utc = time.gmtime(now)
    local = time.gmtime(now + cam.utc_offset_s)
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType>"
        "<tt:DaylightSavings>false</tt:DaylightSavings>"
        f"<tt:TimeZone><tt:TZ>{text(cam.posix_tz)}</tt:TZ></tt:TimeZone>"
        f"<tt:UTCDateTime>{_date_time(utc)}</tt:UTCDateTime>"
        f"<tt:LocalDateTime>{_date_time(local)}</tt:LocalDateTime>"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def get_capabilities(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    wanted = {c for c in (e.text.strip() for e in children(req.body, "Category") if e.text) if c}
    unknown = wanted - _CATEGORIES
    if unknown:
        raise SoapFault("Sender", ["InvalidArgVal"], f"Unknown category {sorted(unknown)[0]}")
    if not wanted or "All" in wanted:
        wanted = {"Device", "Media", "PTZ"}
    if not wanted & {"Device", "Media", "PTZ"}:
        raise SoapFault(
            "Receiver",
            ["ActionNotSupported", "NoSuchService"],
            "The requested service is not supported",
        )
    parts = ["<tds:GetCapabilitiesResponse><tds:Capabilities>"]
    if "Device" in wanted:
        parts.append(
            f"<tt:Device><tt:XAddr>{site.base_url}{DEVICE_PATH}</tt:XAddr>"
            "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false"
            "</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6>"
            "<tt:DynDNS>false</tt:DynDNS></tt:Network>"
            "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve>"
            "<tt:DiscoveryBye>false</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery>"
            "<tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging>"
            "<tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>"
            "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>"
            "</tt:SupportedVersions></tt:System>"
            "<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2>"
            "<tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration>"
            "<tt:AccessPolicyConfig>false</tt:AccessPolicyConfig>"
            "<tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken>"
            "<tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken>"
            "</tt:Security></tt:Device>"
        )
    if "Media" in wanted:
        parts.append(
            f"<tt:Media><tt:XAddr>{site.base_url}{MEDIA_PATH}</tt:XAddr>"
            "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
            "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
            "</tt:StreamingCapabilities></tt:Media>"
        )
    if "PTZ" in wanted:
        parts.append(f"<tt:PTZ><tt:XAddr>{site.base_url}{PTZ_PATH}</tt:XAddr></tt:PTZ>")
    parts.append("</tds:Capabilities></tds:GetCapabilitiesResponse>")
    return "".join(parts)


def get_services(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    include = (child_text(req.body, "IncludeCapability") or "false").lower() in ("true", "1")
    parts = ["<tds:GetServicesResponse>"]
    for ns, path, major, minor in _SERVICES:
        capabilities = (
            f"<tds:Capabilities>{SERVICE_CAPABILITIES[ns]}</tds:Capabilities>" if include else ""
        )
        parts.append(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace>"
            f"<tds:XAddr>{site.base_url}{path}</tds:XAddr>{capabilities}"
            f"<tds:Version><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor></tds:Version>"
            "</tds:Service>"
        )
    parts.append("</tds:GetServicesResponse>")
    return "".join(parts)


def get_service_capabilities(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return (
        "<tds:GetServiceCapabilitiesResponse>"
        f"{SERVICE_CAPABILITIES[NS_TDS]}</tds:GetServiceCapabilitiesResponse>"
    )


def get_network_interfaces(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return (
        "<tds:GetNetworkInterfacesResponse>"
        '<tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled>'
        f"<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>{cam.mac_address}</tt:HwAddress>"
        "<tt:MTU>1500</tt:MTU></tt:Info>"
        "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config>"
        f"<tt:Manual><tt:Address>{text(site.local_ip)}</tt:Address>"
        "<tt:PrefixLength>24</tt:PrefixLength></tt:Manual>"
        "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
        "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
    )


def get_hostname(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    return (
        "<tds:GetHostnameResponse><tds:HostnameInformation>"
        f"<tt:FromDHCP>false</tt:FromDHCP><tt:Name>{text(cam.hostname)}</tt:Name>"
        "</tds:HostnameInformation></tds:GetHostnameResponse>"
    )


def scopes(cam: OnvifCamera) -> list[str]:
    """The camera's ONVIF scopes (also announced by WS-Discovery)."""
    items = [
        "onvif://www.onvif.org/type/video_encoder",
        "onvif://www.onvif.org/type/ptz",
        "onvif://www.onvif.org/Profile/Streaming",
        f"onvif://www.onvif.org/hardware/{quote(cam.model, safe='')}",
        f"onvif://www.onvif.org/name/{quote(cam.name, safe='')}",
    ]
    if cam.location:
        items.append(f"onvif://www.onvif.org/location/{quote(cam.location, safe='/')}")
    return items


def get_scopes(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    body = "".join(
        f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{text(s)}</tt:ScopeItem>"
        "</tds:Scopes>"
        for s in scopes(cam)
    )
    return f"<tds:GetScopesResponse>{body}</tds:GetScopesResponse>"


def system_reboot(cam: OnvifCamera, req: SoapRequest, site: Site) -> str:
    cam.request_reboot()
    seconds = round(cam.reboot_duration_s)
    return (
        "<tds:SystemRebootResponse>"
        f"<tds:Message>Rebooting in {seconds} seconds</tds:Message>"
        "</tds:SystemRebootResponse>"
    )


OPERATIONS: dict[str, Handler] = {
    "GetDeviceInformation": get_device_information,
    "GetSystemDateAndTime": get_system_date_and_time,
    "GetCapabilities": get_capabilities,
    "GetServices": get_services,
    "GetServiceCapabilities": get_service_capabilities,
    "GetNetworkInterfaces": get_network_interfaces,
    "GetHostname": get_hostname,
    "GetScopes": get_scopes,
    "SystemReboot": system_reboot,
}

WITHOUT_AUTH = frozenset({"GetSystemDateAndTime"})
"""Answered without credentials, as real cameras do (clients use it to learn the clock)."""
