"""SIP addresses as terminals show them and as gateways report them, made comparable.

A terminal reports its call's remote number without the scheme (Cisco `RemoteNumber`
`83412@gw.example.ru`), a gateway reports its caller as `sip:term-20@vks.example.ru`, and
either may carry URI parameters (`;transport=tls`). `normalise` reduces all of these to
`user@host[:port]` in lower case.
"""

from __future__ import annotations


def normalise(address: str) -> str:
    text = address.strip().strip("<>")
    lowered = text.lower()
    for scheme in ("sips:", "sip:"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    text = text.split(";", 1)[0].split("?", 1)[0]
    return text.lower()


def same_address(a: str, b: str) -> bool:
    """Do two SIP addresses name the same endpoint (scheme, case and parameters aside)?"""
    return bool(a) and bool(b) and normalise(a) == normalise(b)
