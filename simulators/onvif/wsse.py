"""WS-Security UsernameToken checks, as an ONVIF device does them.

`PasswordDigest = Base64(SHA-1(nonce_bytes + created_utf8 + password_utf8))`, with `Created`
hashed exactly as sent. Clients send `Created` as `…Z` (onvif-zeep-async) or `…+00:00`
(plain zeep), with or without fractions; both are accepted. A token whose `Created` is further
than `max_skew_s` from the device's clock (which may itself be skewed by a fault) is refused,
as real cameras refuse stale tokens; `None` turns the freshness check off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from simulators.onvif.soap import child, child_text

PASSWORD_DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)


def password_digest(nonce: bytes, created: str, password: str) -> str:
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    return base64.b64encode(raw).decode()


def parse_created(value: str) -> datetime | None:
    """Parse an xs:dateTime as clients send it; None if it is not one."""
    value = value.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # no zone: UTC by ONVIF convention
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def token_valid(
    security: ET.Element | None,
    username: str,
    password: str,
    device_now: float,
    max_skew_s: float | None,
) -> bool:
    """True when the wsse:Security header carries a valid UsernameToken for this user."""
    token = child(security, "UsernameToken")
    if token is None:
        return False
    if child_text(token, "Username") != username:
        return False
    password_el = child(token, "Password")
    if password_el is None:
        return False
    sent = (password_el.text or "").strip()
    created_text = child_text(token, "Created")
    if created_text is not None and max_skew_s is not None:
        created = parse_created(created_text)
        if created is None or abs(created.timestamp() - device_now) > max_skew_s:
            return False
    if password_el.get("Type", "").endswith("#PasswordDigest"):
        nonce_text = child_text(token, "Nonce")
        if nonce_text is None or created_text is None:
            return False
        try:
            nonce = base64.b64decode(nonce_text, validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = password_digest(nonce, created_text, password)
        return hmac.compare_digest(sent.encode(), expected.encode())
    # PasswordText, or no Type at all (the WS-Security default)
    return hmac.compare_digest(sent.encode(), password.encode())
