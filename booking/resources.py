"""The equipment: VKS terminals, PTZ cameras and conference servers.

Credentials are never stored in clear in the domain: `credentials_ref` / `secret_ref`
name where the secret lives (`env:VKS_TERM_KEM20_PASSWORD`, or `inline:secret` in demo
and test data); `vks/secrets.py` resolves a reference when a device is contacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TerminalVendor(StrEnum):
    CISCO_XAPI = "cisco_xapi"
    POLY_REST = "poly_rest"


class PlatformKind(StrEnum):
    JITSI = "jitsi"
    BBB = "bbb"


@dataclass
class Terminal:
    """A hardware room system (codec with a SIP address) at a school or at the RCC."""

    id: str
    site_id: str  # the school (or the region, for the RCC's own terminals) it stands in
    name: str
    vendor: TerminalVendor
    sip_address: str
    control_url: str
    username: str = "admin"
    credentials_ref: str = ""
    active: bool = True
    version: int = 1


@dataclass
class Camera:
    """An ONVIF PTZ camera beside a terminal, with named presets ("teacher", "board", "class")."""

    id: str
    terminal_id: str
    onvif_url: str
    username: str = "admin"
    credentials_ref: str = ""
    presets: list[str] = field(default_factory=lambda: ["teacher", "board", "class"])
    active: bool = True
    version: int = 1


@dataclass
class ConferenceServer:
    """A Jitsi Meet or BigBlueButton server and what it can carry at one instant."""

    id: str
    kind: PlatformKind
    name: str
    base_url: str
    secret_ref: str
    max_rooms: int
    max_participants: int
    gateway_sip_host: str = ""  # the SIP video gateway terminals dial (host[:port])
    gateway_ports: int = 0  # concurrent SIP calls the gateway carries
    active: bool = True
    version: int = 1
