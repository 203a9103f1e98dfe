"""One device's check: the probe that fits its kind and dialect, judged by the pure rules.

A `Check` is built once per device (when it joins the roster or its record changes) and
reused every cycle: it holds the probe with its precomputed URL and credentials, nothing
else. Calling it never raises: a device error becomes a failing `Observation`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from adapters.conference.bbb import BbbOptions, BbbPlatform
from adapters.conference.jitsi import JitsiOptions, JitsiPlatform
from adapters.conference.platform import ConferencePlatform
from adapters.conference.transport import RetryPolicy
from adapters.probe.http import HttpProbeClient
from adapters.probe.onvif import OnvifProbe
from adapters.probe.poly import PolyProbe
from adapters.probe.xapi import XapiProbe
from booking.errors import DeviceAuthFailed, DeviceError
from booking.health import (
    Booked,
    CallExpectation,
    DeviceKind,
    Limits,
    Observation,
    ServerLoad,
    TerminalStatus,
    assess_answer,
    assess_server,
    assess_terminal,
)
from booking.health_records import DeviceRecord
from booking.resources import ConferenceServer, PlatformKind
from vks.secrets import SecretMissing, resolve

log = logging.getLogger(__name__)

Expectation = Callable[[datetime], tuple[CallExpectation, Booked | None]]
"""What call a terminal should be in at an instant, and the session that says so."""


class Check(Protocol):
    async def __call__(self, at: datetime) -> Observation: ...


@dataclass(frozen=True)
class Clients:
    """What every check shares: the lean HTTP client of the device probes, and the httpx
    client (pooled, a few connections) of the conference servers' adapters."""

    probes: HttpProbeClient
    servers: httpx.AsyncClient

    async def aclose(self) -> None:
        await self.servers.aclose()


def _failure(error: DeviceError) -> Observation:
    if isinstance(error, DeviceAuthFailed):
        return Observation(failure="credentials refused")
    return Observation(failure=error.message)


class Unusable:
    """A device we cannot even try (its credentials are missing): always failing, why."""

    __slots__ = ("observation",)

    def __init__(self, why: str) -> None:
        self.observation = Observation(failure=why)

    async def __call__(self, at: datetime) -> Observation:
        return self.observation


class TerminalCheck:
    __slots__ = ("expectation", "limits", "probe")

    def __init__(
        self,
        probe: Callable[[], Awaitable[tuple[TerminalStatus, float]]],
        limits: Limits,
        expectation: Expectation,
    ) -> None:
        self.probe = probe
        self.limits = limits
        self.expectation = expectation

    async def __call__(self, at: datetime) -> Observation:
        try:
            status, rtt_ms = await self.probe()
        except DeviceError as error:
            return _failure(error)
        expected, session = self.expectation(at)
        return assess_terminal(status, expected, self.limits, rtt_ms=rtt_ms, session=session)


class CameraCheck:
    __slots__ = ("limits", "probe")

    def __init__(self, probe: OnvifProbe, limits: Limits) -> None:
        self.probe = probe
        self.limits = limits

    async def __call__(self, at: datetime) -> Observation:
        try:
            rtt_ms = await self.probe()
        except DeviceError as error:
            return _failure(error)
        return assess_answer(self.limits, rtt_ms=rtt_ms)


class ServerCheck:
    """A server's load through its platform adapter (pooled httpx), bounded as a whole:
    the adapter may ask the gateway too."""

    __slots__ = ("guard_s", "limits", "platform", "server")

    def __init__(self, platform: ConferencePlatform, limits: Limits, guard_s: float) -> None:
        self.platform = platform
        self.server = platform.server
        self.limits = limits
        self.guard_s = guard_s

    async def __call__(self, at: datetime) -> Observation:
        try:
            async with asyncio.timeout(self.guard_s):
                load = await self.platform.load()
        except TimeoutError:
            return Observation(failure="no answer in time")
        except DeviceError as error:  # load() should not raise; be safe anyway
            return _failure(error)
        if not load.answering:
            if load.error_code == DeviceAuthFailed.code:
                return Observation(failure="credentials refused (API secret)")
            return Observation(failure=load.error or "API not answering")
        return assess_server(
            ServerLoad(
                rooms=len(load.rooms),
                participants=load.participants,
                max_rooms=self.server.max_rooms,
                max_participants=self.server.max_participants,
            ),
            self.limits,
            rtt_ms=load.round_trip_ms,
        )


def build_check(
    record: DeviceRecord,
    clients: Clients,
    limits: Limits,
    expectation: Expectation,
) -> Check:
    """The check for a device; one request per poll for Cisco terminals and cameras."""
    client = clients.probes
    try:
        secret = resolve(record.secret_ref)
    except SecretMissing as missing:
        return Unusable(missing.reason)
    if record.kind is DeviceKind.TERMINAL:
        probe_class = PolyProbe if record.vendor == "poly_rest" else XapiProbe
        probe = probe_class(client, record.url, record.username, secret, device=record.id)
        return TerminalCheck(probe, limits, expectation)
    if record.kind is DeviceKind.CAMERA:
        return CameraCheck(
            OnvifProbe(client, record.url, record.username, secret, device=record.id), limits
        )
    server = ConferenceServer(
        id=record.id,
        kind=PlatformKind(record.vendor),
        name=record.name,
        base_url=record.url,
        secret_ref=record.secret_ref,
        max_rooms=record.max_rooms,
        max_participants=record.max_participants,
    )
    platform: ConferencePlatform
    if server.kind is PlatformKind.BBB:
        options = BbbOptions(retry=RetryPolicy(attempts=1))
        platform = BbbPlatform(server, secret, clients.servers, options=options)
    else:
        jitsi = JitsiOptions(retry=RetryPolicy(attempts=1))
        platform = JitsiPlatform(server, secret, clients.servers, options=jitsi)
    return ServerCheck(platform, limits, guard_s=2 * clients.probes.timeout_s + 1.0)
