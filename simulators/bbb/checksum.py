"""BigBlueButton API checksums, checked the way bbb-web does it.

The checksum is `hex(hash(call + query + secret))` where `query` is the raw query string
as sent with the `checksum` parameter removed. The algorithm follows from the length of
the hex digest (40 sha1, 64 sha256, 96 sha384, 128 sha512); the comparison ignores case.
"""

from __future__ import annotations

import hashlib
import hmac

ALGORITHMS = {40: "sha1", 64: "sha256", 96: "sha384", 128: "sha512"}


def split_checksum(raw_query: str) -> tuple[str, str | None]:
    """(query without the checksum parameter, checksum or None)."""
    kept: list[str] = []
    checksum: str | None = None
    for piece in raw_query.split("&"):
        if piece.startswith("checksum="):
            checksum = piece[len("checksum=") :]
        elif piece:
            kept.append(piece)
    return "&".join(kept), checksum


def compute(call: str, query: str, secret: str, algorithm: str = "sha1") -> str:
    return hashlib.new(algorithm, (call + query + secret).encode()).hexdigest()


def valid(call: str, query: str, checksum: str, secret: str) -> bool:
    algorithm = ALGORITHMS.get(len(checksum))
    if algorithm is None:
        return False
    expected = compute(call, query, secret, algorithm)
    return hmac.compare_digest(expected, checksum.lower())
