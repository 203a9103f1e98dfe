"""Benchmark: the health monitor polling 10,000 simulated devices.

Starts `vks-sim fleet --generate N` in a subprocess (terminals, cameras and BBB/Jitsi
servers on consecutive ports), stores the fleet as a region in a SQLite database, and
measures in this process:

1. the floor: one bare request per device — the very request the monitor's probe sends
   (xAPI `getxml /Status`, signed ONVIF `GetDeviceInformation`, BBB `getMeetings`, Jitsi
   `room-census`), prepared in advance — issued by a bare asyncio loop over the same
   httpx client settings and concurrency, nothing parsed or stored;
2. full poll cycles of the real `Monitor` (roster from the database, shard leases,
   probes, judgement, hysteresis, transitions and samples written in batches): wall time,
   CPU seconds of this process, and cores used (CPU / wall) during the cycle;
3. detection delay: with the default 30 s interval and hysteresis (3 failures, confirmed
   every 1.5 s), terminals are taken offline through the simulator's control API at random
   moments of the cycle; the time until each is `down`.

Targets (2-core machine, simulators on the same cores): cycle ≤ 10 s using ≤ 1 core and
≤ 1.5 × the floor; down within one interval + 5 s.

    .venv/bin/python benchmarks/health_poll.py [--devices 10000] [--concurrency 500]

Prints the figures and writes benchmarks/results/health_poll.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.conference.bbb_checksum import checksum  # noqa: E402
from adapters.probe.http import HttpProbeClient  # noqa: E402
from adapters.probe.onvif import OnvifProbe  # noqa: E402
from adapters.storage.engine import create_engine_for  # noqa: E402
from adapters.storage.health import SqlHealthStore  # noqa: E402
from adapters.storage.schema import upgrade  # noqa: E402
from adapters.storage.tables import (  # noqa: E402
    cameras,
    conference_servers,
    organisations,
    terminals,
)
from booking.health import DeviceKind, HealthState, Hysteresis  # noqa: E402
from vks.monitor.config import MonitorConfig  # noqa: E402
from vks.monitor.metrics import new_registry  # noqa: E402
from vks.monitor.service import Monitor  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "health_poll.json"
VKS_SIM = Path(sys.executable).parent / "vks-sim"
SECRET = "fleet-secret"
PASSWORD = "secret"
AUTH_LINE = (
    "Authorization: Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode() + "\r\n"
)


# --- the fleet -----------------------------------------------------------------------------------
def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_run(count: int, start: int = 1025, stop: int = 32000) -> int:
    """A first port such that [first, first + count] are all free (and below the
    ephemeral range, so client connections never take them)."""
    first = start
    while first + count < stop:
        busy = next((p for p in range(first, first + count + 1) if not port_free(p)), None)
        if busy is None:
            return first
        first = busy + 1
    raise RuntimeError(f"no run of {count} free ports between {start} and {stop}")


@dataclass
class Fleet:
    process: subprocess.Popen[str]
    control: str
    devices: list[dict[str, Any]]

    def cpu_s(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


def _die_with_parent() -> None:
    """Linux: the fleet gets SIGTERM if this benchmark dies (no orphaned simulators)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextmanager
def fleet(count: int) -> Iterator[Fleet]:
    first = free_run(count + 1)
    control_port = first + count
    process = subprocess.Popen(
        [
            str(VKS_SIM),
            "fleet",
            "--generate",
            str(count),
            "--port-base",
            str(first),
            "--control-port",
            str(control_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_die_with_parent,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 180
        while True:
            line = process.stdout.readline()
            if "listening" in line:
                break
            if (not line and process.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"the fleet did not start: {line!r}")
        control = f"http://127.0.0.1:{control_port}"
        listing = httpx.get(f"{control}/_sim/devices", timeout=60, trust_env=False).json()
        yield Fleet(process, control, listing)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


# --- the region in the database ------------------------------------------------------------
def store_region(url: str, devices: Sequence[dict[str, Any]]) -> None:
    """Organisations (region → municipality → 100 schools), then every fleet device."""
    upgrade(url)
    engine = create_engine_for(url)
    orgs = [
        {
            "id": "kuzbass",
            "kind": "region",
            "name": "Кузбасс",
            "parent_id": None,
            "path": "kuzbass",
            "time_zone": "Asia/Novokuznetsk",
            "address": "",
            "contacts": {},
            "version": 1,
        },
        {
            "id": "kemerovo",
            "kind": "municipality",
            "name": "Кемерово",
            "parent_id": "kuzbass",
            "path": "kuzbass/kemerovo",
            "time_zone": "Asia/Novokuznetsk",
            "address": "",
            "contacts": {},
            "version": 1,
        },
    ]
    schools = [f"kem-school-{n}" for n in range(1, 101)]
    orgs += [
        {
            "id": s,
            "kind": "school",
            "name": f"МБОУ «СОШ №{s.rsplit('-', 1)[1]}»",
            "parent_id": "kemerovo",
            "path": f"kuzbass/kemerovo/{s}",
            "time_zone": "Asia/Novokuznetsk",
            "address": "",
            "contacts": {},
            "version": 1,
        }
        for s in schools
    ]
    term_rows, cam_rows, server_rows = [], [], []
    term_ids = [d["id"] for d in devices if d["kind"] == "terminal"]
    for i, d in enumerate(devices):
        url = d["url"]
        if d["kind"] == "terminal":
            term_rows.append(
                {
                    "id": d["id"],
                    "site_id": schools[i % len(schools)],
                    "name": d["id"],
                    "vendor": "cisco_xapi",
                    "sip_address": f"sip:{d['id']}@vks.example.ru",
                    "control_url": url,
                    "username": "admin",
                    "credentials_ref": f"inline:{PASSWORD}",
                    "active": True,
                    "version": 1,
                }
            )
        elif d["kind"] == "camera":
            cam_rows.append(
                {
                    "id": d["id"],
                    "terminal_id": term_ids[len(cam_rows) % len(term_ids)],
                    "onvif_url": url,
                    "username": "admin",
                    "credentials_ref": f"inline:{PASSWORD}",
                    "presets": ["teacher", "board", "class"],
                    "active": True,
                    "version": 1,
                }
            )
        else:
            bbb = "bbb" in d["id"]
            server_rows.append(
                {
                    "id": d["id"],
                    "kind": "bbb" if bbb else "jitsi",
                    "name": d["id"],
                    "base_url": f"{url}/bigbluebutton/" if bbb else url,
                    "secret_ref": f"inline:{SECRET}",
                    "max_rooms": 40,
                    "max_participants": 400,
                    "gateway_sip_host": "",
                    "gateway_ports": 0,
                    "active": True,
                    "version": 1,
                }
            )
    with engine.begin() as c:
        c.execute(insert(organisations), orgs)
        c.execute(insert(terminals), term_rows)
        c.execute(insert(cameras), cam_rows)
        c.execute(insert(conference_servers), server_rows)
    engine.dispose()


# --- the floor ------------------------------------------------------------------------------------
Request = tuple[int, bytes]  # port on 127.0.0.1, the request's bytes


def bare_requests(devices: Sequence[dict[str, Any]]) -> list[Request]:
    """The probe's own request for every device (with `Connection: close`), prepared in
    advance: the ONVIF body is signed once, the BBB query checksummed once."""
    out: list[Request] = []
    signer = OnvifProbe(HttpProbeClient(), "http://127.0.0.1", "admin", PASSWORD, device="x")
    soap = signer.signed_request()
    for d in devices:
        port = int(d["port"])
        if d["kind"] == "terminal":
            head = f"GET /getxml?location=/Status HTTP/1.1\r\n{AUTH_LINE}"
            body = b""
        elif d["kind"] == "camera":
            head = (
                "POST /onvif/device_service HTTP/1.1\r\n"
                "Content-Type: application/soap+xml; charset=utf-8\r\n"
                f"Content-Length: {len(soap)}\r\n"
            )
            body = soap
        elif "bbb" in d["id"]:
            query = f"checksum={checksum('getMeetings', '', SECRET, 'sha256')}"
            head = f"GET /bigbluebutton/api/getMeetings?{query} HTTP/1.1\r\n"
            body = b""
        else:
            head = "GET /room-census HTTP/1.1\r\n"
            body = b""
        request = f"{head}Host: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        out.append((port, request + body))
    return out


class _Bare(asyncio.Protocol):
    def __init__(self, request: bytes, done: asyncio.Future[bytes]) -> None:
        self.request, self.done, self.data = request, done, bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(bytes(self.data))


async def floor(requests: Sequence[Request], concurrency: int) -> dict[str, Any]:
    """Every request once, `concurrency` at a time, by a bare asyncio loop: connect, write,
    read until the device hangs up. Nothing parsed, judged or stored."""
    loop = asyncio.get_running_loop()
    pending = iter(requests)
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for port, request in pending:
            done: asyncio.Future[bytes] = loop.create_future()
            protocol = _Bare(request, done)
            try:
                await loop.create_connection(lambda p=protocol: p, "127.0.0.1", port)
                answer = await asyncio.wait_for(done, 5.0)
                if not answer.startswith(b"HTTP/1.1 2"):
                    errors += 1
            except (OSError, TimeoutError):
                errors += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "cores": cpu / wall, "errors": errors}


# --- the monitor's cycles -----------------------------------------------------------------------
async def cycles(
    store: SqlHealthStore,
    config: MonitorConfig,
    fleet: Fleet,
    requests: Sequence[Request],
    repeats: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Full cycles of a running monitor, each right after a floor run (so both see the same
    machine: it is shared, and its load drifts). The monitor's own loops are parked on a
    long interval, so each measured cycle covers every device once, all kinds at once, as
    the loops run them."""
    parked = replace(config, intervals=dict.fromkeys(DeviceKind, 3600.0))
    monitor = Monitor(store, parked, instance="bench-cycles", registry=new_registry())
    t0 = time.perf_counter()
    await monitor.start()
    started_s = time.perf_counter() - t0
    poller = monitor.poller
    await wait(lambda: all(poller.cycles[k] >= 1 for k in DeviceKind), 300)
    first = max(poller.last_cycle.values())
    await floor(requests[: len(requests) // 5], config.concurrency)  # warm up both sides
    floors, runs = [], []
    for _ in range(repeats):
        await asyncio.sleep(1.0)
        floors.append(await floor(requests, config.concurrency))
        progress(f"floor {floors[-1]['wall_s']:.2f} s")
        await asyncio.sleep(1.0)
        fleet_cpu0 = fleet.cpu_s()
        cpu0, t0 = time.process_time(), time.perf_counter()
        durations = await asyncio.gather(*(poller.cycle(k) for k in DeviceKind))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        flush0 = time.perf_counter()
        await monitor.flush()
        flush_s = time.perf_counter() - flush0
        counts = poller.state_counts()
        runs.append(
            {
                "wall_s": wall,
                "cpu_s": cpu,
                "cores": cpu / wall,
                "vs_floor": wall / floors[-1]["wall_s"],
                "by_kind_s": {
                    k.value: round(d, 3) for k, d in zip(DeviceKind, durations, strict=True)
                },
                "flush_s": flush_s,
                "fleet_cpu_s": fleet.cpu_s() - fleet_cpu0,
                "not_ok": sum(n for (_, s), n in counts.items() if s is not HealthState.OK),
            }
        )
        progress(f"cycle {wall:.2f} s, cpu {cpu:.2f} s")
    devices = len(poller.slots)
    await monitor.stop()
    return floors, runs, {"devices": devices, "start_s": started_s, "first_cycle_s": first}


async def detection(
    store: SqlHealthStore, config: MonitorConfig, fleet: Fleet, count: int, seed: int
) -> dict[str, Any]:
    """Terminals taken offline at random instants; seconds until each is `down`."""
    rng = random.Random(seed)
    monitor = Monitor(store, config, instance="bench-detection", registry=new_registry())
    await monitor.start()
    poller = monitor.poller
    interval = config.interval(DeviceKind.TERMINAL)
    await wait(lambda: all(poller.cycles[k] >= 1 for k in DeviceKind), 120)
    victims = rng.sample([d for d in fleet.devices if d["kind"] == "terminal"], count)
    delays: list[float] = []
    control = httpx.AsyncClient(base_url=fleet.control, trust_env=False, timeout=10)
    cpu0, t0 = time.process_time(), time.perf_counter()

    async def one(device: dict[str, Any]) -> None:
        await asyncio.sleep(rng.uniform(0, interval))
        slot = poller.slots[(DeviceKind.TERMINAL, device["id"])]
        await control.put(f"/_sim/devices/{device['id']}/faults", json={"offline": True})
        went = time.perf_counter()
        while slot.health.state is not HealthState.DOWN:
            await asyncio.sleep(0.05)
        delays.append(time.perf_counter() - went)

    await asyncio.gather(*(one(d) for d in victims))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await monitor.flush()
    await asyncio.sleep(config.transitions_s * 4)
    stored_down = sum(
        1
        for d in victims
        if (row := store.states().get((DeviceKind.TERMINAL, d["id"]))) is not None
        and row.state is HealthState.DOWN
    )
    for d in victims:
        await control.delete(f"/_sim/devices/{d['id']}/faults")
    await control.aclose()
    await monitor.stop()
    return {
        "interval_s": interval,
        "confirm_s": config.confirm_s,
        "down_after": config.hysteresis.down_after,
        "devices": count,
        "delays_s": sorted(round(d, 2) for d in delays),
        "max_s": max(delays),
        "mean_s": statistics.fmean(delays),
        "stored_down": stored_down,
        "monitor_cores_while_waiting": cpu / wall,
    }


def progress(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)


async def wait(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        await asyncio.sleep(0.05)


# --- main ---------------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> dict[str, Any]:
    config = MonitorConfig(
        intervals=dict.fromkeys(DeviceKind, 30.0),
        concurrency=args.concurrency,
        timeout_s=5.0,
        confirm_s=1.0,
        hysteresis=Hysteresis(down_after=3, up_after=2),
        flush_s=60.0,
        roster_s=300.0,
    )
    with tempfile.TemporaryDirectory() as tmp, fleet(args.devices) as f:
        url = f"sqlite:///{tmp}/vks.sqlite"
        store_region(url, f.devices)
        engine = create_engine_for(url)
        store = SqlHealthStore(engine)
        requests = bare_requests(f.devices)
        floors, runs, monitor_info = await cycles(store, config, f, requests, args.repeats)
        detected = await detection(store, config, f, args.victims, args.seed)
        engine.dispose()
    median_floor = statistics.median(r["wall_s"] for r in floors)
    median_cycle = statistics.median(r["wall_s"] for r in runs)
    median_cpu = statistics.median(r["cpu_s"] for r in runs)
    median_cores = statistics.median(r["cores"] for r in runs)
    median_ratio = statistics.median(r["vs_floor"] for r in runs)
    return {
        "benchmark": "health_poll",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "devices": monitor_info["devices"],
        "fleet": {
            k: sum(1 for d in f.devices if d["kind"] == k)
            for k in ("terminal", "camera", "bbb", "jitsi")
        },
        "concurrency": args.concurrency,
        "floor": {"runs": floors, "median_wall_s": median_floor},
        "monitor": {**monitor_info, "cycles": runs},
        "cycle_s": median_cycle,
        "cycle_cpu_s": median_cpu,
        "cycle_cores": median_cores,
        "cycle_vs_floor": median_ratio,
        "detection": detected,
        "targets": {
            "cycle_le_10s": median_cycle <= 10.0,
            "cores_le_1": median_cores <= 1.0,
            "within_1_5x_floor": median_ratio <= 1.5,
            "down_within_interval_plus_5s": detected["max_s"] <= detected["interval_s"] + 5.0,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--victims", type=int, default=20, help="terminals taken offline")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="uvloop",
        help="event loop of this process, for the floor and the monitor alike (default uvloop,"
        " as `vks monitor` runs)",
    )
    args = parser.parse_args(argv)
    if args.loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(run(args))
    else:
        result = asyncio.run(run(args))
    result["loop"] = args.loop
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    floor_s = result["floor"]["median_wall_s"]
    d = result["detection"]
    print(f"devices              {result['devices']} {result['fleet']}")
    print(f"floor (bare loop)    {floor_s:6.2f} s   (median of {args.repeats})")
    for i, r in enumerate(result["monitor"]["cycles"], 1):
        print(
            f"monitor cycle {i}      {r['wall_s']:6.2f} s   cpu {r['cpu_s']:5.2f} s"
            f"   cores {r['cores']:.2f}   ×floor {r['vs_floor']:.2f}   flush {r['flush_s']:.2f} s"
            f"   by kind {r['by_kind_s']}   not ok {r['not_ok']}"
        )
    print(
        f"cycle (median)       {result['cycle_s']:6.2f} s, {result['cycle_vs_floor']:.2f}"
        f" × the floor run just before it, {result['cycle_cores']:.2f} cores"
    )
    print(
        f"detection            max {d['max_s']:.1f} s, mean {d['mean_s']:.1f} s over "
        f"{d['devices']} terminals (interval {d['interval_s']:.0f} s; stored down "
        f"{d['stored_down']})"
    )
    print("targets              " + ", ".join(f"{k}={v}" for k, v in result["targets"].items()))
    print(f"written              {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
