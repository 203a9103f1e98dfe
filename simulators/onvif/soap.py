"""SOAP 1.2 envelopes as ONVIF devices speak them: parse a request, build a reply or a fault.

Requests are parsed with the standard library (`xml.etree`); replies are built from string
templates shared by every simulated camera. Every prefix a reply uses, in element names and in
QName values such as `ter:NotAuthorized`, is declared once on the envelope.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

NS_ENV = "http://www.w3.org/2003/05/soap-envelope"
NS_TT = "http://www.onvif.org/ver10/schema"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"
NS_TRT = "http://www.onvif.org/ver10/media/wsdl"
NS_TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
NS_TER = "http://www.onvif.org/ver10/error"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

PREFIXES: dict[str, str] = {
    "env": NS_ENV,
    "tt": NS_TT,
    "tds": NS_TDS,
    "trt": NS_TRT,
    "tptz": NS_TPTZ,
    "ter": NS_TER,
}

_ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope'
    + "".join(f' xmlns:{p}="{uri}"' for p, uri in PREFIXES.items())
    + "><env:Body>"
)
_ENVELOPE_CLOSE = "</env:Body></env:Envelope>"

CONTENT_TYPE = "application/soap+xml; charset=utf-8"
MAX_REQUEST_BYTES = 1 << 20


class SoapFault(Exception):
    """A SOAP 1.2 fault: `code` is `Sender` or `Receiver`; `subcodes` are `ter:` local names,
    outermost first (e.g. `["InvalidArgVal", "NoProfile"]`)."""

    def __init__(self, code: str, subcodes: list[str], reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason

    @property
    def http_status(self) -> int:
        return 400 if self.code == "Sender" else 500


def sender_fault(subcode: str, reason: str) -> SoapFault:
    """An invalid-argument fault: `env:Sender / ter:InvalidArgVal / ter:<subcode>`."""
    return SoapFault("Sender", ["InvalidArgVal", subcode], reason)


def action_fault(subcode: str, reason: str) -> SoapFault:
    """An action failure: `env:Receiver / ter:Action / ter:<subcode>`."""
    return SoapFault("Receiver", ["Action", subcode], reason)


def not_authorized() -> SoapFault:
    return SoapFault("Sender", ["NotAuthorized"], "Sender not Authorized")


def envelope(body: str) -> bytes:
    """Wrap a body fragment (using only the declared prefixes) in a SOAP 1.2 envelope."""
    return (_ENVELOPE_OPEN + body + _ENVELOPE_CLOSE).encode()


def fault_envelope(fault: SoapFault) -> bytes:
    subcodes = "".join(f"<env:Subcode><env:Value>ter:{s}</env:Value>" for s in fault.subcodes)
    closing = "</env:Subcode>" * len(fault.subcodes)
    return envelope(
        "<env:Fault><env:Code>"
        f"<env:Value>env:{fault.code}</env:Value>{subcodes}{closing}"
        "</env:Code><env:Reason>"
        f'<env:Text xml:lang="en">{escape(fault.reason)}</env:Text>'
        "</env:Reason></env:Fault>"
    )


def text(value: object) -> str:
    """Escape a value for element content."""
    return escape(str(value))


def attr(value: object) -> str:
    """Quote and escape a value for an attribute (quotes included)."""
    return quoteattr(str(value))


@dataclass(frozen=True, slots=True)
class SoapRequest:
    """The parts of a request envelope the simulator looks at."""

    namespace: str
    operation: str
    body: ET.Element
    """The operation element (first child of env:Body)."""
    security: ET.Element | None
    """The wsse:Security header, if any; every other header is ignored."""


def parse_request(data: bytes) -> SoapRequest:
    """Parse a SOAP 1.1/1.2 envelope; malformed input is a `Sender` fault."""
    if len(data) > MAX_REQUEST_BYTES:
        raise SoapFault("Sender", ["InvalidArgVal"], "Request too large")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SoapFault("Sender", ["WellFormed"], f"Malformed XML: {exc}") from exc
    if local_name(root.tag) != "Envelope":
        raise SoapFault("Sender", ["WellFormed"], "Not a SOAP envelope")
    header = child(root, "Header")
    body = child(root, "Body")
    if body is None or len(body) == 0:
        raise SoapFault("Sender", ["WellFormed"], "Empty SOAP body")
    operation = body[0]
    security = child(header, "Security") if header is not None else None
    ns, _, name = (
        operation.tag[1:].partition("}") if operation.tag.startswith("{") else ("", "", "")
    )
    if not name:
        raise SoapFault("Sender", ["WellFormed"], "Operation element has no namespace")
    return SoapRequest(namespace=ns, operation=name, body=operation, security=security)


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def child(element: ET.Element | None, name: str) -> ET.Element | None:
    """The first child with this local name, whatever its namespace (clients differ)."""
    if element is None:
        return None
    for c in element:
        if isinstance(c.tag, str) and local_name(c.tag) == name:
            return c
    return None


def children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    for c in element:
        if isinstance(c.tag, str) and local_name(c.tag) == name:
            yield c


def child_text(element: ET.Element | None, name: str) -> str | None:
    found = child(element, name)
    if found is None:
        return None
    return (found.text or "").strip()
