"""Faults every simulator shares, checked on the terminal, BBB and Jitsi simulators alike:
offline (connection refused), slow, flapping, server errors, reboot in progress. Faults are
set at run time through the control API, as an operator or a test scenario does."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvloop

from simulators.hosting import LoopFactory, SimHost
from simulators.terminal import Terminal

UNREACHABLE = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)


@pytest.fixture
def fresh() -> Iterator[httpx.Client]:
    """A client that opens a new connection for every request (no keep-alive)."""
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(timeout=3.0, verify=False, limits=limits) as client:
        yield client


@pytest.fixture(params=["terminal", "bbb", "jitsi"])
def device(
    request, make_terminal, make_bbb, make_jitsi
) -> tuple[str, Callable[[httpx.Client], httpx.Response]]:
    """(device id, probe): the probe is a typical monitoring request for that kind."""
    if request.param == "terminal":
        terminal, xapi = make_terminal()
        url = f"{xapi.base_url}/getxml?location=/Status/SystemUnit/Uptime"
        return terminal.id, lambda client: client.get(url, auth=("admin", "secret"))
    if request.param == "bbb":
        server, bbb = make_bbb()
        url = bbb.url("getMeetings")
        return server.id, lambda client: client.get(url)
    jitsi, base = make_jitsi()
    return jitsi.id, lambda client: client.get(f"{base}/room-census")


def reachable(probe: Callable[[httpx.Client], httpx.Response], client: httpx.Client) -> bool:
    try:
        return probe(client).status_code == 200
    except UNREACHABLE:
        return False


def test_offline_refuses_connections_until_back_online(device, set_faults, fresh, eventually):
    device_id, probe = device
    assert reachable(probe, fresh)

    set_faults(device_id, offline=True)

    with pytest.raises(httpx.ConnectError):
        probe(fresh)
    set_faults(device_id, offline=False)
    eventually(lambda: reachable(probe, fresh))


def test_latency_slows_every_answer(device, set_faults, fresh):
    device_id, probe = device
    set_faults(device_id, latency_ms=200)

    started = time.monotonic()
    response = probe(fresh)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.2


def test_latency_jitter_spreads_answers(device, set_faults, fresh):
    device_id, probe = device
    set_faults(device_id, latency_ms=100, latency_jitter_ms=80)

    durations = []
    for _ in range(8):
        started = time.monotonic()
        probe(fresh)
        durations.append(time.monotonic() - started)

    assert min(durations) >= 0.02
    assert max(durations) - min(durations) > 0.01  # not a constant delay


def test_flapping_alternates_reachable_and_unreachable(device, set_faults, fresh):
    device_id, probe = device
    set_faults(device_id, flapping_period_s=0.3)

    outcomes = set()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and len(outcomes) < 2:
        outcomes.add(reachable(probe, fresh))
        time.sleep(0.05)

    assert outcomes == {True, False}


@pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
def test_a_terminal_flapping_down_refuses_at_once_on_either_event_loop(
    loop_factory: LoopFactory, fresh: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    terminal = Terminal("term-kem-20-hall", "admin", "secret")
    host = SimHost()
    host.add(terminal)
    # a period that puts "now" in the second (down) half of a period lasting minutes
    terminal.faults.update({"flapping_period_s": time.monotonic() / 1.5})
    status = f"{host.url_of(terminal.id)}/getxml?location=/Status/SystemUnit/Uptime"

    with caplog.at_level(logging.WARNING), host.start(loop_factory):
        started = time.monotonic()
        with pytest.raises(UNREACHABLE):
            fresh.get(status, auth=("admin", "secret"))
        elapsed = time.monotonic() - started

    assert terminal.faults.flapped_down()
    assert elapsed < 1.0  # refused at once, not left hanging until the client gives up
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_error_rate_answers_server_errors(device, set_faults, fresh):
    device_id, probe = device

    set_faults(device_id, error_rate=1.0)
    failing = probe(fresh)
    set_faults(device_id, error_rate=0.5)
    mixed = {probe(fresh).status_code for _ in range(40)}

    assert failing.status_code == 500
    assert mixed == {200, 500}


def test_reboot_in_progress_resets_connections_then_recovers(device, set_faults, fresh, eventually):
    device_id, probe = device

    set_faults(device_id, reboot_s=1.0)

    assert not reachable(probe, fresh)
    eventually(lambda: reachable(probe, fresh), timeout=5)
