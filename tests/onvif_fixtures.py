"""Shared helpers for the ONVIF camera tests: a simulator host, hand-written SOAP requests with
WS-Security UsernameTokens (to test the wire format the clients produce), fault parsing."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from simulators.hosting import SimHost

NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "wsa": "http://www.w3.org/2005/08/addressing",
}
_TOKEN_PROFILE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
)
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"


@pytest.fixture(scope="module")
def sim_host() -> Iterator[SimHost]:
    """One simulator host per test module; each test adds its own camera on a fresh port."""
    with SimHost() as host:
        yield host


def username_token(
    username: str,
    password: str,
    *,
    digest: bool = True,
    created: datetime | None = None,
    zulu: bool = True,
) -> str:
    """A wsse:Security header as zeep builds it (`zulu` picks `…Z` over `…+00:00`)."""
    when = (created or datetime.now(UTC)).replace(microsecond=0)
    stamp = when.isoformat()
    if zulu:
        stamp = stamp.replace("+00:00", "Z")
    if digest:
        nonce = os.urandom(16)
        secret = base64.b64encode(
            hashlib.sha1(nonce + stamp.encode() + password.encode()).digest()
        ).decode()
        password_el = (
            f'<wsse:Password Type="{_TOKEN_PROFILE}#PasswordDigest">{secret}</wsse:Password>'
        )
        nonce_el = f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
    else:
        password_el = (
            f'<wsse:Password Type="{_TOKEN_PROFILE}#PasswordText">{password}</wsse:Password>'
        )
        nonce_el = ""
    return (
        '<wsse:Security env:mustUnderstand="true"><wsse:UsernameToken>'
        f"<wsse:Username>{username}</wsse:Username>{password_el}{nonce_el}"
        f"<wsu:Created>{stamp}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def soap(body: str, security: str = "", extra_headers: str = "") -> bytes:
    namespaces = " ".join(f'xmlns:{p}="{uri}"' for p, uri in NS.items())
    return (
        f'<?xml version="1.0" encoding="utf-8"?><env:Envelope {namespaces}>'
        f"<env:Header>{security}{extra_headers}</env:Header>"
        f"<env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


def fault_codes(xml: bytes) -> tuple[str, list[str], str]:
    """(code, subcodes, reason) of a SOAP 1.2 fault; QName values resolved against the
    namespace declarations actually present in the document (so an undeclared prefix fails)."""
    declared = dict(ns for _event, ns in ET.iterparse(io.BytesIO(xml), events=["start-ns"]))
    root = ET.fromstring(xml)
    fault = root.find("env:Body/env:Fault", NS)
    assert fault is not None, xml.decode()

    def resolve(qname: str) -> str:
        prefix, _, local = qname.partition(":")
        assert prefix in declared, f"prefix {prefix!r} used but not declared"
        return f"{{{declared[prefix]}}}{local}"

    value = fault.find("env:Code/env:Value", NS)
    assert value is not None and value.text
    code = resolve(value.text)
    subcodes = []
    node = fault.find("env:Code/env:Subcode", NS)
    while node is not None:
        sub = node.find("env:Value", NS)
        assert sub is not None and sub.text
        subcodes.append(resolve(sub.text))
        node = node.find("env:Subcode", NS)
    reason = fault.findtext("env:Reason/env:Text", default="", namespaces=NS)
    return code, subcodes, reason


def ter(local: str) -> str:
    return f"{{{NS['ter']}}}{local}"


def env(local: str) -> str:
    return f"{{{NS['env']}}}{local}"


def since(delta_s: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=delta_s)
