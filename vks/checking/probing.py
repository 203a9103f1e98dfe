"""Ask every device one harmless authenticated question, a bounded number at a time, each
within a time limit: a Cisco terminal's status document, a Poly terminal's status (after its
login), an ONVIF camera's `GetDeviceInformation` (signed), a server's `getMeetings` (BBB,
with the checksum) or room census (Jitsi). The requests are the health monitor's probes
(`vks.monitor.checks`); nothing is changed on any device."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from adapters.probe.http import HttpProbeClient
from booking.health import Booked, CallExpectation, DeviceKey, Limits, Observation
from booking.health_records import DeviceRecord
from vks.monitor.checks import Clients, build_check


def _no_expectation(_at: datetime) -> tuple[CallExpectation, Booked | None]:
    return CallExpectation.EITHER, None


async def probe_all(
    devices: Sequence[DeviceRecord],
    *,
    timeout_s: float,
    concurrency: int,
    on_done: Callable[[int], None] = lambda _done: None,
) -> dict[DeviceKey, Observation]:
    """Each device's answer, `concurrency` at a time; a device that does not answer within
    `timeout_s` (per request: a Poly login and status are two) fails with "no answer in
    time". `on_done(n)` is told how many are done after each one."""
    clients = Clients(
        probes=HttpProbeClient(timeout_s=timeout_s),
        servers=httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            trust_env=False,
            follow_redirects=False,
        ),
    )
    guard_s = 2 * timeout_s + 1.0
    queue = list(reversed(devices))
    results: dict[DeviceKey, Observation] = {}
    limits = Limits()

    async def one(device: DeviceRecord) -> Observation:
        check = build_check(device, clients, limits, _no_expectation)
        try:
            async with asyncio.timeout(guard_s):
                return await check(datetime.now(UTC))
        except TimeoutError:
            return Observation(failure="no answer in time")

    async def worker() -> None:
        while queue:
            device = queue.pop()
            results[device.key] = await one(device)
            on_done(len(results))

    try:
        await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(devices))))))
    finally:
        await clients.aclose()
    return results
