"""Terminals, cameras and conference servers. Credentials travel as references
(`env:NAME`, or `inline:VALUE` in demo data) and inline values are never answered back."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from booking.resources import Camera, ConferenceServer, PlatformKind, Terminal, TerminalVendor
from vks.api.schemas.common import Code, Id, Login, Name, Reference, Url
from vks.secrets import INLINE, is_reference

PRESETS_MAX = 32  # camera presets
COUNT_MAX = 1_000_000  # rooms, participants, ports of one server (an INTEGER column)
CREDENTIALS_HELP = "where the secret lives: env:NAME (production) or inline:VALUE (demo)"


def masked(ref: str) -> str:
    """`env:NAME` as is; an inline secret hidden."""
    return f"{INLINE}***" if ref.startswith(INLINE) else ref


def _reference(value: str) -> str:
    if value and not is_reference(value):
        raise ValueError("give a reference: env:NAME or inline:VALUE")
    return value


class TerminalIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "term-kem-41",
                    "site_id": "kem-school-41",
                    "name": "Кабинет информатики",
                    "vendor": "cisco_xapi",
                    "sip_address": "sip:term-kem-41@vks.kuzbass.example.ru",
                    "control_url": "http://10.42.0.41",
                    "username": "admin",
                    "credentials_ref": "env:VKS_TERM_KEM_41_PASSWORD",
                }
            ]
        },
    )

    id: Id
    site_id: Id
    name: Name
    vendor: TerminalVendor
    sip_address: Reference
    control_url: Url
    username: Login = "admin"
    credentials_ref: Reference = Field(default="", description=CREDENTIALS_HELP)
    active: bool = True

    _check_ref = field_validator("credentials_ref")(_reference)

    def to_domain(self, version: int = 1) -> Terminal:
        return Terminal(
            id=self.id,
            site_id=self.site_id,
            name=self.name,
            vendor=self.vendor,
            sip_address=self.sip_address,
            control_url=self.control_url,
            username=self.username,
            credentials_ref=self.credentials_ref,
            active=self.active,
            version=version,
        )


class TerminalOut(BaseModel):
    id: str
    site_id: str
    name: str
    vendor: TerminalVendor
    sip_address: str
    control_url: str
    username: str
    credentials_ref: str
    active: bool
    version: int

    @classmethod
    def of(cls, t: Terminal) -> TerminalOut:
        return cls(
            id=t.id,
            site_id=t.site_id,
            name=t.name,
            vendor=t.vendor,
            sip_address=t.sip_address,
            control_url=t.control_url,
            username=t.username,
            credentials_ref=masked(t.credentials_ref),
            active=t.active,
            version=t.version,
        )


class CameraIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "cam-kem-41",
                    "terminal_id": "term-kem-41",
                    "onvif_url": "http://10.42.1.41",
                    "credentials_ref": "env:VKS_CAM_KEM_41_PASSWORD",
                    "presets": ["teacher", "board", "class"],
                }
            ]
        },
    )

    id: Id
    terminal_id: Id
    onvif_url: Url
    username: Login = "admin"
    credentials_ref: Reference = Field(default="", description=CREDENTIALS_HELP)
    presets: list[Code] = Field(
        default_factory=lambda: ["teacher", "board", "class"], max_length=PRESETS_MAX
    )
    active: bool = True

    _check_ref = field_validator("credentials_ref")(_reference)

    def to_domain(self, version: int = 1) -> Camera:
        return Camera(
            id=self.id,
            terminal_id=self.terminal_id,
            onvif_url=self.onvif_url,
            username=self.username,
            credentials_ref=self.credentials_ref,
            presets=list(self.presets),
            active=self.active,
            version=version,
        )


class CameraOut(BaseModel):
    id: str
    terminal_id: str
    onvif_url: str
    username: str
    credentials_ref: str
    presets: list[str]
    active: bool
    version: int

    @classmethod
    def of(cls, c: Camera) -> CameraOut:
        return cls(
            id=c.id,
            terminal_id=c.terminal_id,
            onvif_url=c.onvif_url,
            username=c.username,
            credentials_ref=masked(c.credentials_ref),
            presets=list(c.presets),
            active=c.active,
            version=c.version,
        )


class ServerIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "bbb-1",
                    "kind": "bbb",
                    "name": "BBB РКЦ №1",
                    "base_url": "https://bbb1.rcc.example.ru/bigbluebutton/",
                    "secret_ref": "env:VKS_BBB1_SECRET",
                    "max_rooms": 40,
                    "max_participants": 400,
                    "gateway_sip_host": "sip.rcc.example.ru:5060",
                    "gateway_ports": 60,
                }
            ]
        },
    )

    id: Id
    kind: PlatformKind
    name: Name
    base_url: Url
    secret_ref: Reference = Field(description=CREDENTIALS_HELP)
    max_rooms: int = Field(ge=1, le=COUNT_MAX)
    max_participants: int = Field(ge=1, le=COUNT_MAX)
    gateway_sip_host: Reference = ""
    gateway_ports: int = Field(default=0, ge=0, le=COUNT_MAX)
    active: bool = True

    _check_ref = field_validator("secret_ref")(_reference)

    def to_domain(self, version: int = 1) -> ConferenceServer:
        return ConferenceServer(
            id=self.id,
            kind=self.kind,
            name=self.name,
            base_url=self.base_url,
            secret_ref=self.secret_ref,
            max_rooms=self.max_rooms,
            max_participants=self.max_participants,
            gateway_sip_host=self.gateway_sip_host,
            gateway_ports=self.gateway_ports,
            active=self.active,
            version=version,
        )


class ServerOut(BaseModel):
    id: str
    kind: PlatformKind
    name: str
    base_url: str
    secret_ref: str
    max_rooms: int
    max_participants: int
    gateway_sip_host: str
    gateway_ports: int
    active: bool
    version: int

    @classmethod
    def of(cls, s: ConferenceServer) -> ServerOut:
        return cls(
            id=s.id,
            kind=s.kind,
            name=s.name,
            base_url=s.base_url,
            secret_ref=masked(s.secret_ref),
            max_rooms=s.max_rooms,
            max_participants=s.max_participants,
            gateway_sip_host=s.gateway_sip_host,
            gateway_ports=s.gateway_ports,
            active=s.active,
            version=s.version,
        )
