"""Conference platforms (BigBlueButton, Jitsi Meet) behind `ConferencePlatform`, and the pool
that places rooms on them. `platform_for` builds the adapter a `ConferenceServer` needs."""

from __future__ import annotations

import httpx

from adapters.conference.bbb import BbbOptions, BbbPlatform
from adapters.conference.jitsi import JitsiOptions, JitsiPlatform
from adapters.conference.platform import (
    ConferencePlatform,
    LinkRole,
    Participant,
    ParticipantKind,
    Room,
    RoomSpec,
    RoomState,
    ServerLoad,
)
from adapters.conference.pool import ConferencePool
from adapters.conference.room_registry import InMemoryRoomRegistry, RoomClaim, RoomRegistry
from booking.resources import ConferenceServer, PlatformKind


def platform_for(
    server: ConferenceServer,
    secret: str,
    client: httpx.AsyncClient,
    *,
    bbb: BbbOptions | None = None,
    jitsi: JitsiOptions | None = None,
) -> ConferencePlatform:
    """The adapter for a server; `secret` is its resolved shared secret (BBB) or app secret
    (Jitsi), `client` the process's shared HTTP client (`transport.new_client()`)."""
    if server.kind is PlatformKind.BBB:
        return BbbPlatform(server, secret, client, options=bbb)
    return JitsiPlatform(server, secret, client, options=jitsi)


__all__ = [
    "BbbOptions",
    "BbbPlatform",
    "ConferencePlatform",
    "ConferencePool",
    "InMemoryRoomRegistry",
    "JitsiOptions",
    "JitsiPlatform",
    "LinkRole",
    "Participant",
    "ParticipantKind",
    "Room",
    "RoomClaim",
    "RoomRegistry",
    "RoomSpec",
    "RoomState",
    "ServerLoad",
    "platform_for",
]
