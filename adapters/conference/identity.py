"""Room identities derived from the occurrence id and the server's secret (HMAC-SHA256).

Derivation instead of random draws makes room creation idempotent across processes: two
workers that both start the same occurrence compute the same BBB meetingID, passwords and
first voiceBridge, or the same Jitsi room name, so the second create finds the first room.
Keyed by the server secret, the Jitsi room name cannot be guessed from the occurrence id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

VOICE_BRIDGE_MIN = 10000
VOICE_BRIDGE_SPAN = 90000  # five digits, 10000–99999, as bbb-web and FreeSWITCH expect
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def derive(secret: str, purpose: str, *parts: str) -> bytes:
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def jitsi_room_name(secret: str, occurrence_id: str) -> str:
    """`vks` + 24 base32 characters (120 bits): unguessable, a valid MUC node, lower case."""
    digest = derive(secret, "jitsi-room", occurrence_id)[:15]
    return "vks" + base64.b32encode(digest).decode().lower()


def bbb_meeting_id(occurrence_id: str) -> str:
    """Readable in BBB's admin tools and Scalelite; no commas (bbb-web forbids them)."""
    return "vks-" + _UNSAFE.sub("_", occurrence_id)


def bbb_password(secret: str, occurrence_id: str, role: str) -> str:
    return derive(secret, "bbb-password", role, occurrence_id).hex()[:16]


def voice_bridge(secret: str, occurrence_id: str, attempt: int = 0) -> str:
    """The attempt-th candidate voiceBridge of the occurrence (attempt > 0 after a clash)."""
    digest = derive(secret, "bbb-voice-bridge", occurrence_id, str(attempt))
    return str(VOICE_BRIDGE_MIN + int.from_bytes(digest[:8], "big") % VOICE_BRIDGE_SPAN)
