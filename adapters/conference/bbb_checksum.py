"""BigBlueButton API request signing.

checksum = hex(hash(call + query + secret)), where `query` is the query string exactly as
sent, without the checksum parameter. bbb-web picks the hash by the checksum's length (40
hex sha1, 64 sha256, 96 sha384, 128 sha512); sha256 is our default, sha1 is for servers
older than 2.5 configured without sha256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import urlencode

ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")


def checksum(call: str, query: str, secret: str, algorithm: str = "sha256") -> str:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported BBB checksum algorithm {algorithm!r}")
    return hashlib.new(algorithm, (call + query + secret).encode()).hexdigest()


def signed_query(
    call: str, params: Sequence[tuple[str, str]], secret: str, algorithm: str = "sha256"
) -> str:
    """`a=1&b=2&checksum=…`: the query string to send, signed over its own bytes."""
    query = urlencode(list(params))
    signature = checksum(call, query, secret, algorithm)
    return f"{query}&checksum={signature}" if query else f"checksum={signature}"
