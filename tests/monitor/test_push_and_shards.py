"""Terminal push feedback makes the monitor look at once; several monitors split the
devices between them and never poll one twice."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import httpx
import pytest
import uvicorn

from adapters.storage.health import SqlHealthStore
from booking.health import DeviceKind, HealthState
from tests.monitor.conftest import eventually, fast_config
from tests.monitor.region import SimRegion
from vks.monitor.metrics import new_registry
from vks.monitor.push import push_url
from vks.monitor.service import Monitor
from vks.monitor.wiring import monitor_app
from vks.settings import Settings

pytestmark = pytest.mark.slow  # simulators on real ports, real storage

HALL = "term-kem-20-hall"
SECRET = "test-secret-key-of-the-kuzbass-rcc-monitor"
DIAL = (
    "<Command><Dial><Number>sip:83412@127.0.0.1:9</Number><Protocol>Sip</Protocol></Dial></Command>"
)


async def test_a_terminal_pushing_a_call_change_is_polled_at_once(
    store: SqlHealthStore, region: SimRegion
) -> None:
    config = replace(fast_config(), intervals=dict.fromkeys(DeviceKind, 30.0))
    monitor = Monitor(store, config, registry=new_registry())
    settings = Settings(secret_key=SECRET)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            monitor_app(monitor, new_registry(process=False), settings),
            log_level="warning",
            lifespan="off",
        )
    )
    await monitor.start()
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        slot = monitor.poller.slots[(DeviceKind.TERMINAL, HALL)]
        await eventually(lambda: slot.last_poll_at is not None)
        polled_before = slot.last_poll_at
        terminal = region.terminals[HALL]
        terminal.feedback_url = push_url(f"http://127.0.0.1:{sock.getsockname()[1]}", SECRET, HALL)
        async with httpx.AsyncClient(auth=("admin", "secret")) as operator:
            dialled = await operator.post(
                f"{region.host.url_of(HALL)}/putxml",
                content=DIAL,
                headers={"Content-Type": "text/xml"},
            )
        await eventually(lambda: slot.last_poll_at != polled_before, timeout=3)
    finally:
        server.should_exit = True
        await serving
        await monitor.stop()

    assert dialled.status_code == 200 and 'status="OK"' in dialled.text
    assert monitor.poller.cycles[DeviceKind.TERMINAL] == 1  # no regular poll came meanwhile


async def test_two_monitors_split_the_devices_and_never_poll_one_twice(
    store: SqlHealthStore, region: SimRegion
) -> None:
    config = replace(fast_config(), lease_s=1.0)
    first = Monitor(store, config, instance="monitor-a")
    second = Monitor(store, config, instance="monitor-b")
    everything = {
        (DeviceKind.TERMINAL, "term-kem-20-hall"),
        (DeviceKind.TERMINAL, "term-kem-20-it"),
        (DeviceKind.TERMINAL, "term-nvkz-7"),
        (DeviceKind.CAMERA, "cam-kem-20-hall"),
        (DeviceKind.SERVER, "bbb-1"),
    }
    overlaps: list[set[object]] = []

    async def watch() -> None:
        while True:
            shared = set(first.poller.slots) & set(second.poller.slots)
            if shared:
                overlaps.append(shared)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    await first.start()
    try:
        alone = set(first.poller.slots)
        await second.start()
        await eventually(lambda: len(first.leases.owned) == len(second.leases.owned) == 4)
        split = (set(first.poller.slots), set(second.poller.slots))
        await first.stop()
        await eventually(lambda: len(second.leases.owned) == 8, timeout=5)
        taken_over = set(second.poller.slots)
        await eventually(
            lambda: (
                all(s.state is HealthState.OK for s in store.states().values())
                and len(store.states()) == 5
            )
        )
    finally:
        watcher.cancel()
        await first.stop()
        await second.stop()

    assert alone == everything
    assert split[0] | split[1] == everything
    assert split[0] and split[1]
    assert overlaps == []
    assert taken_over == everything
