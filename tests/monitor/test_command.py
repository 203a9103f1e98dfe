"""`vks monitor` as its own process: it polls the region, serves /metrics and stops
cleanly on SIGTERM, giving its shards back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from adapters.storage.health import SqlHealthStore
from booking.health import HealthState
from tests.monitor.region import SimRegion

pytestmark = pytest.mark.slow  # simulators on real ports, real storage

VKS = Path(sys.executable).parent / "vks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def polls_by_kind(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "vks_polls_total" and sample.labels["outcome"] == "ok":
                out[sample.labels["kind"]] = sample.value
    return out


def test_vks_monitor_polls_serves_metrics_and_stops_on_sigterm(
    sqlite_engine: Engine, region: SimRegion, store: SqlHealthStore
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "VKS_DATABASE_URL": sqlite_engine.url.render_as_string(False),
        "VKS_SECRET_KEY": "test-secret-key-of-the-kuzbass-rcc-monitor",
        "VKS_POLL_INTERVAL_S": "0.5",
        "VKS_REDIS_URL": "",
    }
    process = subprocess.Popen(
        [str(VKS), "monitor", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        polls: dict[str, float] = {}
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                polls = polls_by_kind(response.text)
                if len(polls) == 3 and min(polls.values()) >= 2:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, output
    assert "vks monitor" in output and "5 devices in 64 of 64 shards" in output
    assert set(polls) == {"terminal", "camera", "server"}
    assert {row.state for row in store.states().values()} == {HealthState.OK}
    assert len(store.states()) == 5
    assert store.shard_owners() and all(owner is None for owner, _ in store.shard_owners().values())


def test_a_worker_process_hosts_a_monitor_through_its_start_up_hook(
    sqlite_engine: Engine, region: SimRegion, store: SqlHealthStore
) -> None:
    from vks.monitor.embedded import MonitorThread
    from vks.monitor.wiring import worker_monitor
    from vks.settings import Settings

    settings = Settings(database_url=sqlite_engine.url.render_as_string(False), poll_interval_s=0.5)
    hook = worker_monitor(settings)
    thread = hook()  # what `vks worker` does once RQ has forked its scheduler
    try:
        deadline = time.monotonic() + 10
        while len(store.states()) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        assert isinstance(thread, MonitorThread)
        thread.stop()

    assert len(store.states()) == 5
    assert {row.state for row in store.states().values()} == {HealthState.OK}
