"""An ONVIF camera in one request: a `GetDeviceInformation` signed with a WS-Security
UsernameToken (PasswordDigest), which proves the camera answers and accepts our
credentials.

Cameras refuse tokens whose `Created` is far from their own clock. When one refuses ours,
the probe asks for the camera's time (`GetSystemDateAndTime`, which needs no
authentication), remembers the offset, and signs again with the camera's time — as
ONVIF clients do — so a camera with a skewed clock is not reported as refusing
credentials.
"""

from __future__ import annotations

import random
import re
import time
from base64 import b64encode
from datetime import UTC, datetime
from hashlib import sha1
from typing import Any

from adapters.probe.http import HttpProbeClient, target
from booking.errors import DeviceAuthFailed, DeviceProtocolError

DEVICE_PATH = "/onvif/device_service"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
_NONCE_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-soap-message-security-1.0#Base64Binary"
)
_DEVICE_INFORMATION = "<tds:GetDeviceInformation/>"
_DATE_AND_TIME = "<tds:GetSystemDateAndTime/>"
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
    "<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
)
_ENVELOPE_OPEN, _, _ENVELOPE_REST = _ENVELOPE.partition("{header}")
_ENVELOPE_CLOSE = _ENVELOPE_REST.replace("{body}", _DEVICE_INFORMATION)
_SECURITY = (
    f'<wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}" s:mustUnderstand="true">'
    "<wsse:UsernameToken><wsse:Username>{username}</wsse:Username>"
    f'<wsse:Password Type="{_DIGEST}">{{digest}}</wsse:Password>'
    f'<wsse:Nonce EncodingType="{_NONCE_TYPE}">{{nonce}}</wsse:Nonce>'
    "<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
)  # placeholders are filled by `OnvifProbe.signed_request` (not str.format: a username
#    may contain braces)
_NOT_AUTHORIZED = re.compile(rb"NotAuthorized|not\s+authori[sz]ed", re.IGNORECASE)
_UTC_FIELDS = re.compile(
    rb"<[^>]*UTCDateTime>.*?<[^>]*Hour>(\d+)<.*?<[^>]*Minute>(\d+)<.*?<[^>]*Second>(\d+)<"
    rb".*?<[^>]*Year>(\d+)<.*?<[^>]*Month>(\d+)<.*?<[^>]*Day>(\d+)<",
    re.DOTALL,
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _created(at: float) -> str:
    """xs:dateTime in UTC with milliseconds, as ONVIF clients send `Created`."""
    whole = int(at)
    cached = _SECOND
    if cached[0] != whole:
        cached[0], cached[1] = whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{cached[1]}.{int((at - whole) * 1000):03d}Z"


_SECOND: list[Any] = [None, ""]  # the last whole second formatted (shared by every probe)
_nonces = random.Random()
"""Nonces need to be unique, not secret (the digest hides the password): a seeded
Mersenne Twister gives 16 bytes without a system call per poll."""


class OnvifProbe:
    __slots__ = (
        "_client",
        "_head",
        "_password",
        "_skew_s",
        "_tail",
        "_target",
        "device",
    )

    def __init__(
        self, client: HttpProbeClient, url: str, username: str, password: str, *, device: str
    ) -> None:
        self._client = client
        base = url.rstrip("/")
        if base.endswith(DEVICE_PATH):
            base = base[: -len(DEVICE_PATH)]
        self._target = target("POST", base, DEVICE_PATH, {"Content-Type": CONTENT_TYPE})
        self._password = password.encode()
        security = _SECURITY.replace("{username}", _escape(username))
        head, _, rest = security.partition("{digest}")
        middle, _, tail = rest.partition("{nonce}")
        created_open, _, created_close = tail.partition("{created}")
        self._head = (_ENVELOPE_OPEN + head, middle, created_open)
        self._tail = created_close + _ENVELOPE_CLOSE
        self._skew_s = 0.0
        self.device = device

    def signed_request(self) -> bytes:
        """A `GetDeviceInformation` envelope with a fresh UsernameToken (PasswordDigest)."""
        nonce = _nonces.getrandbits(128).to_bytes(16, "big")
        created = _created(time.time() + self._skew_s)
        digest = b64encode(sha1(nonce + created.encode() + self._password).digest()).decode()
        head, middle, created_open = self._head
        return (
            f"{head}{digest}{middle}{b64encode(nonce).decode()}{created_open}{created}{self._tail}"
        ).encode()

    async def __call__(self) -> float:
        """The round trip in ms of an accepted, signed request."""
        status, rtt_ms = await self._ask()
        if status == "refused":
            if not await self._learn_clock():
                raise DeviceAuthFailed("credentials refused", device=self.device)
            status, rtt_ms = await self._ask()
            if status == "refused":
                raise DeviceAuthFailed("credentials refused", device=self.device)
        return rtt_ms

    async def _ask(self) -> tuple[str, float]:
        to = self._target
        reply = await self._client.send(to, to.request(self.signed_request()), device=self.device)
        if reply.status == 200 and b"GetDeviceInformationResponse" in reply.body:
            return "ok", reply.rtt_ms
        if reply.status in (400, 401, 403) and (
            reply.status != 400 or _NOT_AUTHORIZED.search(reply.body)
        ):
            return "refused", reply.rtt_ms
        raise DeviceProtocolError(
            f"HTTP {reply.status} to GetDeviceInformation", device=self.device
        )

    async def _learn_clock(self) -> bool:
        """Adopt the camera's clock; False if it did not change anything worth a retry."""
        body = _ENVELOPE.format(header="", body=_DATE_AND_TIME).encode()
        to = self._target
        reply = await self._client.send(to, to.request(body), device=self.device)
        match = _UTC_FIELDS.search(reply.body) if reply.status == 200 else None
        if match is None:
            return False
        hour, minute, second, year, month, day = (int(g) for g in match.groups())
        camera = datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
        skew = camera - time.time()
        if abs(skew - self._skew_s) < 5:
            return False
        self._skew_s = skew
        return True
