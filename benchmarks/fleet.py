"""Benchmark: 10,000 virtual devices in one `vks-sim fleet` process.

Starts `vks-sim fleet --generate N` as a subprocess on a free run of ports, measures its
start time and resident memory, then drives it from this process with an asyncio httpx
client at several concurrency levels (median of repeats):

- terminal_status_keepalive: xAPI `getxml /Status/SystemUnit` on `concurrency` terminals,
  connections kept alive (the per-request cost of the fleet);
- terminal_status_spread:    the same request round-robin over every terminal (a new
  connection almost every time, as a monitor polling thousands of devices sees it);
- bbb_get_meetings:          signed `getMeetings` round-robin over the BBB servers;
- dial_storm:                1,000 BBB meetings, then 1,000 terminals dial in at once; time
  until all show Connected and the meetings list them (answer delay 1.5 s);
- health_poll:               every device once (terminals getxml, cameras ONVIF
  GetSystemDateAndTime, BBB getMeetings, Jitsi room-census), wall time for the sweep;
  repeated on a second fleet started with `--latency-ms 50`.

The fleet's own CPU time during each run is read from /proc, so the figures also give the
server cost per request independently of the client (which shares this 2-core machine).

    .venv/bin/python benchmarks/fleet.py [--devices 10000] [--duration 2] [--repeats 3]

Prints a table and writes benchmarks/results/fleet.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import itertools
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "fleet.json"
VKS_SIM = Path(sys.executable).parent / "vks-sim"
SECRET = "fleet-secret"  # what `--generate` gives every server
AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:secret").decode()}
SOAP_TIME = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
)
SOAP_HEADERS = {"Content-Type": "application/soap+xml; charset=utf-8"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the fleet process --------------------------------------------------------------------
def free_run(count: int, start: int = 10000, stop: int = 61000) -> int:
    """First port of `count` consecutive free ports."""
    base = start
    while base + count <= stop:
        taken = None
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                socks.append(sock)
                # as the fleet binds: ports with connections in TIME_WAIT are usable
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    taken = port
                    break
        finally:
            for sock in socks:
                sock.close()
        if taken is None:
            return base
        base = taken + 1
    raise RuntimeError(f"no run of {count} free ports between {start} and {stop}")


@dataclass
class FleetProcess:
    process: subprocess.Popen[str]
    port_base: int
    devices: int
    control_port: int
    start_s: float

    def rss_kib(self) -> dict[str, int]:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def port(self, index: int) -> int:
        return self.port_base + index


def launch(devices: int, extra: Sequence[str]) -> tuple[subprocess.Popen[str], int, float]:
    """Start the fleet on a free run of ports; rescan if another process took one meanwhile
    (other benchmarks and tests share this machine)."""
    start = 10000
    for _ in range(5):
        base = free_run(devices + 1, start)
        command = [
            *([str(VKS_SIM)] if VKS_SIM.exists() else [sys.executable, "-m", "simulators.cli"]),
            "fleet", "--generate", str(devices), "--port-base", str(base + 1),
            "--control-port", str(base), *extra,
        ]  # fmt: skip
        started = time.perf_counter()
        # a file, not a pipe: a chatty fleet must not block on a full pipe
        log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (lives as long as the fleet)
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        assert process.stdout is not None
        if process.stdout.readline():
            return process, base, started
        process.wait()
        log.seek(0)
        error = log.read()
        taken = re.search(r"cannot listen on port (\d+)", error)
        if taken is None:
            raise RuntimeError(f"fleet did not start: {error}")
        start = int(taken.group(1)) + 1
    raise RuntimeError("could not find free ports for the fleet")


@contextmanager
def fleet(devices: int, *extra: str) -> Iterator[FleetProcess]:
    process, base, started = launch(devices, extra)
    try:
        listing_url = f"http://127.0.0.1:{base}/_sim/devices"
        deadline = time.monotonic() + 120
        while True:
            try:
                if len(httpx.get(listing_url, timeout=30).json()) == devices:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("fleet listing never answered")
            time.sleep(0.2)
        # the last device's port answers once every listener is open
        last = f"http://127.0.0.1:{base + devices}/_sim/faults"
        while httpx.get(last, timeout=30).status_code != 200:
            time.sleep(0.1)
        yield FleetProcess(process, base + 1, devices, base, time.perf_counter() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# --- what to ask of which device ---------------------------------------------------------------
Request = tuple[str, int, str, dict[str, str], bytes | None]
"""(method, port, path?query, headers, body)"""


def kind_of(index: int) -> str:
    """The layout of `simulators.fleet.generate`."""
    if index % 100 == 0:
        return "bbb" if (index // 100) % 2 == 0 else "jitsi"
    return "camera" if index % 2 == 0 else "terminal"


def probe(fp: FleetProcess, index: int) -> Request:
    port = fp.port(index)
    kind = kind_of(index)
    if kind == "terminal":
        return ("GET", port, "/getxml?location=/Status/SystemUnit", AUTH, None)
    if kind == "camera":
        return ("POST", port, "/onvif/device_service", SOAP_HEADERS, SOAP_TIME)
    if kind == "bbb":
        checksum = hashlib.sha1(f"getMeetings{SECRET}".encode()).hexdigest()
        return ("GET", port, f"/bigbluebutton/api/getMeetings?checksum={checksum}", {}, None)
    return ("GET", port, "/room-census", {}, None)


def indexes(fp: FleetProcess, kind: str) -> list[int]:
    return [i for i in range(fp.devices) if kind_of(i) == kind]


# --- clients ------------------------------------------------------------------------------
class RawHttp:
    """A minimal HTTP/1.1 client (asyncio streams) so the client costs little next to the
    fleet; one per worker, keeping at most one connection per port."""

    def __init__(self, keepalive: bool) -> None:
        self.keepalive = keepalive
        self.connections: dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    async def request(self, req: Request) -> int:
        method, port, target, headers, body = req
        connection = self.connections.pop(port, None) if self.keepalive else None
        if connection is None:
            connection = await asyncio.open_connection("127.0.0.1", port)
        reader, writer = connection
        lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        if not self.keepalive:
            lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        if self.keepalive:
            self.connections[port] = connection
        else:
            writer.close()
        return status

    async def close(self) -> None:
        for _, writer in self.connections.values():
            writer.close()


class HttpxClient:
    """The same requests through one shared httpx.AsyncClient."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(self, req: Request) -> int:
        method, port, target, headers, body = req
        url = f"http://127.0.0.1:{port}{target}"
        response = await self.client.request(method, url, headers=headers, content=body)
        return response.status_code

    async def close(self) -> None:
        return None


# --- load generation ------------------------------------------------------------------------
@dataclass
class Run:
    scenario: str
    client: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    fleet_cpu_s: float
    fleet_cpu_ms_per_request: float


Targets = Callable[[int], Iterator[Request]]
"""worker number → the requests that worker sends"""


async def timed_load(
    fp: FleetProcess,
    scenario: str,
    targets: Targets,
    concurrency: int,
    duration_s: float | None,
    keepalive: bool,
    client_kind: str,
) -> Run:
    """Run `concurrency` workers over their targets for `duration_s` (or until exhausted)."""
    latencies: list[float] = []
    errors = 0
    shared: httpx.AsyncClient | None = None
    if client_kind == "httpx":
        limits = httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency if keepalive else 0
        )
        shared = httpx.AsyncClient(limits=limits, timeout=60.0, verify=False, trust_env=False)
    cpu_before = fp.cpu_s()
    started = time.perf_counter()
    deadline = started + duration_s if duration_s is not None else None

    async def worker(number: int) -> None:
        nonlocal errors
        client: RawHttp | HttpxClient = (
            HttpxClient(shared) if shared is not None else RawHttp(keepalive)
        )
        try:
            for req in targets(number):
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                t0 = time.perf_counter()
                try:
                    ok = await client.request(req) == 200
                except (OSError, asyncio.IncompleteReadError, ValueError, httpx.HTTPError):
                    ok = False
                latencies.append(time.perf_counter() - t0)
                if not ok:
                    errors += 1
        finally:
            await client.close()

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu = fp.cpu_s() - cpu_before
    if shared is not None:
        await shared.aclose()
    done = len(latencies)
    ordered = sorted(latencies) or [0.0]
    return Run(
        scenario=scenario,
        client=client_kind,
        concurrency=concurrency,
        requests=done,
        errors=errors,
        seconds=round(elapsed, 3),
        rps=round(done / elapsed, 1),
        p50_ms=round(1000 * ordered[len(ordered) // 2], 2),
        p95_ms=round(1000 * ordered[int(len(ordered) * 0.95)], 2),
        fleet_cpu_s=round(cpu, 3),
        fleet_cpu_ms_per_request=round(1000 * cpu / done, 4) if done else 0.0,
    )


def median_run(runs: Sequence[Run]) -> dict[str, Any]:
    middle = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
    return {**asdict(middle), "rps_all": [r.rps for r in runs]}


def own(requests: list[Request]) -> Targets:
    """Worker n sends requests[n] over and over (its own device, one kept-alive connection)."""
    return lambda n: itertools.repeat(requests[n % len(requests)])


def shared_cycle(requests: list[Request]) -> Callable[[], Targets]:
    """All workers take turns through the list, round-robin, forever."""

    def make() -> Targets:
        source = itertools.cycle(requests)
        return lambda n: source

    return make


def shared_once(requests: list[Request]) -> Callable[[], Targets]:
    def make() -> Targets:
        source = iter(requests)
        return lambda n: source

    return make


async def repeat(
    fp: FleetProcess,
    name: str,
    make: Callable[[], Targets],
    level: int,
    duration: float | None,
    keepalive: bool,
    client: str,
    repeats: int,
) -> dict[str, Any]:
    runs = [
        await timed_load(fp, name, make(), level, duration, keepalive, client)
        for _ in range(repeats)
    ]
    result = median_run(runs)
    print_run(result)
    return result


async def measure(
    fp: FleetProcess,
    client: str,
    levels: Sequence[int],
    duration: float,
    repeats: int,
) -> dict[str, list[dict[str, Any]]]:
    terminals = [probe(fp, i) for i in indexes(fp, "terminal")]
    bbbs = [probe(fp, i) for i in indexes(fp, "bbb")]
    results: dict[str, list[dict[str, Any]]] = {}
    scenarios: list[tuple[str, Callable[[], Targets], bool]] = [
        ("terminal_status_keepalive", lambda: own(terminals), True),
        ("terminal_status_spread", shared_cycle(terminals), False),
        ("bbb_get_meetings", lambda: own(bbbs), True),
    ]
    for name, make, keepalive in scenarios:
        results[name] = [
            await repeat(fp, name, make, level, duration, keepalive, client, repeats)
            for level in levels
        ]
    return results


async def health_poll(
    fp: FleetProcess, client: str, levels: Sequence[int], repeats: int, label: str
) -> list[dict[str, Any]]:
    everything = [probe(fp, i) for i in range(fp.devices)]
    return [
        await repeat(fp, label, shared_once(everything), level, None, False, client, repeats)
        for level in levels
    ]


async def dial_storm(fp: FleetProcess, lessons: int) -> dict[str, Any]:
    """`lessons` meetings on the BBB servers (40 each), then as many terminals dial in at
    once; time until every terminal shows Connected and every meeting lists its terminal."""
    servers = indexes(fp, "bbb")
    terminals = indexes(fp, "terminal")[:lessons]
    if len(servers) * 40 < lessons or len(terminals) < lessons:
        return {"skipped": "fleet too small"}
    client = RawHttp(keepalive=False)
    bridges: list[tuple[int, str, str]] = []  # (server port, meetingID, voiceBridge)
    for n in range(lessons):
        port = fp.port(servers[n // 40])
        meeting = f"storm-{n:04d}"
        query = f"meetingID={meeting}&name=Storm+{n}&record=false"
        checksum = hashlib.sha1(f"create{query}{SECRET}".encode()).hexdigest()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /bigbluebutton/api/create?{query}&checksum={checksum} HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        raw = await reader.read()
        writer.close()
        bridge = re.search(rb"<voiceBridge>(\d+)</voiceBridge>", raw)
        assert bridge is not None, raw[:300]
        bridges.append((port, meeting, bridge.group(1).decode()))
    dials: list[Request] = [
        (
            "POST",
            fp.port(t),
            "/putxml",
            {**AUTH, "Content-Type": "text/xml"},
            f'<Command><Dial command="True"><Number>sip:{bridge}@127.0.0.1:{port}'
            "</Number></Dial></Command>".encode(),
        )
        for t, (port, _, bridge) in zip(terminals, bridges, strict=True)
    ]
    cpu_before = fp.cpu_s()
    started = time.perf_counter()

    async def dial(req: Request) -> int:
        return await RawHttp(keepalive=False).request(req)

    statuses = await asyncio.gather(*(dial(d) for d in dials))
    dialled_s = time.perf_counter() - started
    pending = {fp.port(t) for t in terminals}
    polls = 0
    while pending and time.perf_counter() - started < 120:
        await asyncio.sleep(0.25)
        for port in list(pending):
            req: Request = ("GET", port, "/getxml?location=/Status/Call/Status", AUTH, None)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            method, _, target, headers, _ = req
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(
                f"{method} {target} HTTP/1.1\r\nHost: x\r\n{head}Connection: close\r\n\r\n".encode()
            )
            raw = await reader.read()
            writer.close()
            polls += 1
            if b"<Status>Connected</Status>" in raw:
                pending.discard(port)
    connected_s = time.perf_counter() - started
    cpu = fp.cpu_s() - cpu_before
    attendees = 0
    for port in {port for port, _, _ in bridges}:
        checksum = hashlib.sha1(f"getMeetings{SECRET}".encode()).hexdigest()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /bigbluebutton/api/getMeetings?checksum={checksum} HTTP/1.1\r\n"
            "Host: x\r\nConnection: close\r\n\r\n".encode()
        )
        raw = await reader.read()
        writer.close()
        attendees += raw.count(b"<clientType>dial-in-user</clientType>")
    await client.close()
    result = {
        "lessons": lessons,
        "dial_commands_ok": sum(1 for s in statuses if s == 200),
        "all_dials_sent_s": round(dialled_s, 2),
        "all_connected_s": round(connected_s, 2),
        "answer_delay_s": 1.5,
        "not_connected": len(pending),
        "sip_attendees_listed": attendees,
        "status_polls": polls,
        "fleet_cpu_s": round(cpu, 2),
    }
    print(
        f"  dial storm: {lessons} dials sent in {dialled_s:.2f} s, all Connected after "
        f"{connected_s:.2f} s (answer delay 1.5 s), {attendees} SIP attendees listed, "
        f"fleet CPU {cpu:.2f} s",
        flush=True,
    )
    return result


def print_run(run: dict[str, Any]) -> None:
    print(
        f"  {run['client']:<5} {run['scenario']:<26} c={run['concurrency']:<5}"
        f"{run['rps']:>8.0f} req/s  p50 {run['p50_ms']:>8.2f} ms  p95 {run['p95_ms']:>8.2f} ms"
        f"  err {run['errors']:<3} fleet CPU {run['fleet_cpu_ms_per_request']:.3f} ms/req"
        f"  ({run['requests']} in {run['seconds']:.1f} s)",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--levels", default="1,10,50,200", help="concurrency levels (raw client)")
    parser.add_argument("--httpx-levels", default="1,10,50", help="concurrency levels (httpx)")
    parser.add_argument("--poll-levels", default="100,500", help="health poll concurrency")
    parser.add_argument("--storm", type=int, default=1000, help="lessons in the dial storm")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    def ints(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x]

    try:
        import uvloop

        uvloop.install()
        client_loop = "uvloop"
    except ImportError:
        client_loop = "asyncio"
    report: dict[str, Any] = {
        "devices": args.devices,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "clients": {
            "raw": f"minimal asyncio HTTP/1.1 client on {client_loop}, separate process",
            "httpx": f"one httpx {httpx.__version__} AsyncClient on {client_loop}",
        },
        "duration_s": args.duration,
        "repeats": args.repeats,
        # other work on this machine skews the figures: record how busy it was
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"starting a fleet of {args.devices} devices…", flush=True)
    with fleet(args.devices) as fp:
        idle = fp.rss_kib()
        report["start_s"] = round(fp.start_s, 2)
        report["rss_idle_mib"] = round(idle["VmRSS"] / 1024, 1)
        print(f"  up in {fp.start_s:.2f} s, RSS {idle['VmRSS'] / 1024:.1f} MiB", flush=True)
        report["throughput"] = {
            "raw": asyncio.run(measure(fp, "raw", ints(args.levels), args.duration, args.repeats)),
            "httpx": asyncio.run(
                measure(fp, "httpx", ints(args.httpx_levels), args.duration, args.repeats)
            ),
        }
        report["health_poll"] = {
            "raw": asyncio.run(
                health_poll(fp, "raw", ints(args.poll_levels), args.repeats, "health_poll")
            ),
            "httpx": asyncio.run(health_poll(fp, "httpx", [50], 1, "health_poll")),
        }
        report["dial_storm"] = asyncio.run(dial_storm(fp, args.storm))
        after = fp.rss_kib()
        report["rss_after_load_mib"] = round(after["VmRSS"] / 1024, 1)
        report["rss_peak_mib"] = round(after["VmHWM"] / 1024, 1)
    print("starting a fleet with --latency-ms 50…", flush=True)
    with fleet(args.devices, "--latency-ms", "50") as fp:
        report["health_poll_latency_50ms"] = asyncio.run(
            health_poll(
                fp, "raw", [*ints(args.poll_levels), 2000], args.repeats, "health_poll_50ms"
            )
        )
        report["rss_peak_latency_run_mib"] = round(fp.rss_kib()["VmHWM"] / 1024, 1)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    peak = max(report["rss_peak_mib"], report["rss_peak_latency_run_mib"])
    report["rss_within_1gib"] = peak <= 1024
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(
        f"RSS idle {report['rss_idle_mib']} MiB, peak {peak} MiB "
        f"(≤ 1 GiB: {report['rss_within_1gib']}); results in {args.output}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
