"""Simulated Jitsi Meet deployment (prosody token auth, room size/census, participants)."""

from simulators.jitsi.server import JitsiServer
from simulators.jitsi.tokens import TokenPolicy, TokenRejected

__all__ = ["JitsiServer", "TokenPolicy", "TokenRejected"]
