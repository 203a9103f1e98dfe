"""HTTP Digest (RFC 7616, MD5, qop=auth) and Basic authentication, as cameras protect their
snapshot URL. Nonces are stateless (a timestamp signed with a per-process key), so thousands of
simulated cameras keep no per-client state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time

REALM = "IP Camera"
NONCE_LIFETIME_S = 300.0
_KEY = os.urandom(16)
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _md5(value: str) -> str:
    return hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()


def _sign(stamp: str) -> str:
    return hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:20]


def new_nonce(now: float | None = None) -> str:
    stamp = f"{(time.time() if now is None else now):.3f}"
    return base64.b64encode(f"{stamp}:{_sign(stamp)}".encode()).decode()


def _nonce_state(nonce: str) -> str:
    """'ok', 'stale' or 'bad'."""
    try:
        stamp, _, signature = base64.b64decode(nonce, validate=True).decode().partition(":")
        issued = float(stamp)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return "bad"
    if not hmac.compare_digest(signature, _sign(stamp)):
        return "bad"
    return "ok" if time.time() - issued <= NONCE_LIFETIME_S else "stale"


def challenges(stale: bool = False) -> list[tuple[bytes, bytes]]:
    """WWW-Authenticate headers: Digest first (preferred), then Basic."""
    digest = f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{new_nonce()}"' + (
        ", stale=true" if stale else ""
    )
    return [
        (b"www-authenticate", digest.encode()),
        (b"www-authenticate", f'Basic realm="{REALM}"'.encode()),
    ]


def parse_params(header: str) -> dict[str, str]:
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(header)
    }


def _same_target(uri: str, target: str) -> bool:
    if "://" in uri:  # absolute form, as a few clients send it
        uri = "/" + uri.split("://", 1)[1].partition("/")[2]
    return uri == target


def check(authorization: str | None, method: str, target: str, username: str, password: str) -> str:
    """Verify an Authorization header for a request to `target` (path and query): 'ok',
    'stale' (retry with a fresh nonce) or 'denied'."""
    if not authorization:
        return "denied"
    scheme, _, rest = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            user, _, pw = base64.b64decode(rest.strip(), validate=True).decode().partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return "denied"
        ok = hmac.compare_digest(user.encode(), username.encode()) and hmac.compare_digest(
            pw.encode(), password.encode()
        )
        return "ok" if ok else "denied"
    if scheme != "digest":
        return "denied"
    params = parse_params(rest)
    if params.get("username") != username or params.get("realm") != REALM:
        return "denied"
    if params.get("algorithm", "MD5").upper() != "MD5":
        return "denied"
    nonce, uri, response = params.get("nonce", ""), params.get("uri", ""), params.get("response")
    if response is None or not _same_target(uri, target):
        return "denied"
    state = _nonce_state(nonce)
    if state == "bad":
        return "denied"
    ha1 = _md5(f"{username}:{REALM}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    qop = params.get("qop")
    if qop == "auth":
        expected = _md5(
            f"{ha1}:{nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}:auth:{ha2}"
        )
    elif qop is None:
        expected = _md5(f"{ha1}:{nonce}:{ha2}")
    else:
        return "denied"
    if not hmac.compare_digest(expected, response.lower()):
        return "denied"
    return "ok" if state == "ok" else "stale"
