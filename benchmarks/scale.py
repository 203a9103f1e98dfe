"""Benchmark: how the service scales with processes, as deployed (deploy/, docs/scaling.md).

Three measurements, each as ratios against one process measured in the same run:

1. API throughput: N = 1, 2, 4 `vks serve` processes behind nginx (the proxy settings of
   deploy/nginx/vks-proxy.conf) on PostgreSQL with the demo region; a closed-loop load of
   mixed reads (terminals, occurrences, bookings: 4 of 5 requests) and creates (single-school
   lessons at distinct times: 1 of 5) from `--clients` concurrent clients for `--seconds`;
   requests per second (median of `--repeats` runs, interleaved), creates per second;
2. bell-storm lateness with 1, 2, 4 `vks worker` processes: benchmarks/bell_storm.py (its
   fleet, seeding and measurement) run with `--lessons` lessons at one bell, no floor;
3. health polling of `--devices` simulated devices (comma-separated, e.g. 10000,50000) by
   1, 2, 4 `vks monitor` processes sharing the shards (database leases): the time until
   every device was polled once (the slowest monitor's `vks_poll_cycle_seconds`, read from
   each monitor's /metrics), median of the cycles seen.

The machine is shared (other work runs on its cores): the 1- and 1-minute load averages
are recorded before and after each part; compare ratios, not absolute figures.

    .venv/bin/python benchmarks/scale.py [--quick] [--parts api,bell,poll]

Needs nginx, PostgreSQL (`VKS_BENCH_DATABASE_URL`, default the test server) and Redis
(`VKS_BENCH_REDIS_URL`, default db 12 of the local server, flushed). Prints the figures and
writes benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.storage.engine import create_engine_for  # noqa: E402
from adapters.storage.schema import upgrade  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
VKS = Path(sys.executable).with_name("vks")
PROXY_CONF = ROOT / "deploy" / "nginx" / "vks-proxy.conf"
DEMO_REGION = ROOT / "vks" / "demo" / "region.yaml"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
SECRET = "scale-benchmark-secret-key-of-the-rcc-2026"
CREATE_SHARE = 0.2


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


@contextmanager
def pg_schema(server_url: str) -> Iterator[str]:
    name = f"vks_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine_for(server_url)
    with admin.begin() as c:
        c.execute(text("SELECT pg_advisory_xact_lock(7117)"))
        c.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
        c.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name},public"})
        yield url.render_as_string(False)
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


class Processes:
    """Child processes in their own groups, stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("ab")
        process = subprocess.Popen(
            list(command), env=self.env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.running.append(process)
        return process

    def stop(self) -> None:
        for p in self.running:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.running:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            with suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        self.running.clear()


def wait_until(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.3)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


# --- 1. the API behind nginx ----------------------------------------------------------------------
def nginx_conf(tmp: Path, listen: int, ports: Sequence[int]) -> Path:
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;" for p in ports)
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = tmp / f"nginx-{len(ports)}.conf"
    conf.write_text(
        f"""{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  upstream vks_api {{
{servers}
    keepalive 32;
  }}
  server {{ listen 127.0.0.1:{listen}; include {PROXY_CONF}; }}
}}
"""
    )
    return conf


class Workload:
    """Mixed reads and creates of the demo region: every create is a lesson of one school
    on its own terminal at a time no other create uses."""

    def __init__(self, terminals: list[dict[str, Any]], seed: int = 7) -> None:
        self.terminals = terminals
        self.random = random.Random(seed)
        self.slots = itertools.count()
        self.base = datetime(2027, 2, 1, 3, 0, tzinfo=UTC)  # a Monday of the year's 3rd quarter

    def create(self) -> dict[str, Any]:
        slot = next(self.slots)
        terminal = self.terminals[slot % len(self.terminals)]
        lap = slot // len(self.terminals)
        day, minute = divmod(lap, 8)  # 8 lessons a day per terminal, study days only
        week, weekday = divmod(day, 5)
        start = self.base + timedelta(days=7 * week + weekday, minutes=50 * minute)
        return {
            "title": "Нагрузочный урок",
            "host_school_id": terminal["site_id"],
            "teacher": "Петрова Анна Сергеевна",
            "participants": [{"school_id": terminal["site_id"], "terminal_id": terminal["id"]}],
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=40)).isoformat(),
            "setup_minutes": 0,
        }

    def read(self) -> tuple[str, dict[str, Any]]:
        choice = self.random.randrange(3)
        if choice == 0:
            return "/terminals", {"limit": 50}
        if choice == 1:
            return "/occurrences", {
                "start": "2027-02-01T00:00:00Z",
                "end": "2027-02-08T00:00:00Z",
                "limit": 50,
            }
        return "/bookings", {"limit": 20}


async def closed_loop(
    base: str, token: str, work: Workload, clients: int, seconds: float
) -> dict[str, Any]:
    counts = {"reads": 0, "creates": 0, "created": 0, "errors": 0}
    failures: Counter[str] = Counter()
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60,
        limits=limits, trust_env=False,
    ) as client:  # fmt: skip
        end = time.monotonic() + seconds

        async def one_client(n: int) -> None:
            rng = random.Random(n)
            while time.monotonic() < end:
                began = time.perf_counter()
                try:
                    if rng.random() < CREATE_SHARE:
                        answer = await client.post("/bookings", json=work.create())
                        counts["creates"] += 1
                        counts["created"] += answer.status_code == 201
                        ok = answer.status_code in (201, 409, 422)  # 422: a rule refused
                        path = "/bookings (create)"
                    else:
                        path, params = work.read()
                        answer = await client.get(path, params=params)
                        counts["reads"] += 1
                        ok = answer.status_code == 200
                except httpx.HTTPError as error:
                    ok, answer = False, None
                    failures[type(error).__name__] += 1
                if not ok and answer is not None:
                    failures[f"{path} {answer.status_code}"] += 1
                counts["errors"] += not ok
                latencies.append(time.perf_counter() - began)

        began = time.monotonic()
        await asyncio.gather(*(one_client(n) for n in range(clients)))
        wall = time.monotonic() - began
    done = counts["reads"] + counts["creates"]
    latencies.sort()
    return {
        **counts,
        "failures": dict(failures),
        "wall_s": round(wall, 2),
        "rps": round(done / wall, 1),
        "creates_per_s": round(counts["created"] / wall, 1),
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 1) if latencies else None,
    }


def api_part(server_url: str, counts: Sequence[int], args: argparse.Namespace) -> dict[str, Any]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result: dict[str, Any] = {"load_before": load(), "runs": {str(n): [] for n in counts}}
    with pg_schema(server_url) as url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        upgrade(url)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VKS_DATA_DIR": str(tmp),
            "VKS_DATABASE_URL": url, "VKS_SECRET_KEY": SECRET, "VKS_PRODUCTION": "true",
            "VKS_REQUIRE_IF_MATCH": "true",
        }  # fmt: skip
        subprocess.run([str(VKS), "import", str(DEMO_REGION)], env=env, check=True,
                       capture_output=True, cwd=tmp)  # fmt: skip
        made = subprocess.run(
            [str(VKS), "token", "create", "--role", "rcc_operator", "--name", "scale-bench"],
            env=env, check=True, capture_output=True, text=True, cwd=tmp,
        )  # fmt: skip
        token = made.stdout.strip().splitlines()[-1].split()[-1]
        processes = Processes(tmp, env)
        ports = [free_port() for _ in range(max(counts))]
        for n, port in enumerate(ports):
            processes.start(f"api-{n}", str(VKS), "serve", "--port", str(port))
        try:
            for port in ports:
                wait_until(
                    lambda p=port: answers(f"http://127.0.0.1:{p}/api/v1/health/live"),
                    90, "the API processes",
                )  # fmt: skip
            terminals = httpx.get(
                f"http://127.0.0.1:{ports[0]}/api/v1/terminals", params={"limit": 500},
                headers={"Authorization": f"Bearer {token}"}, trust_env=False,
            ).json()["items"]  # fmt: skip
            work = Workload(terminals)
            for _ in range(args.repeats):
                for n in counts:  # interleaved: a load change hits every count alike
                    listen = free_port()
                    conf = nginx_conf(tmp, listen, ports[:n])
                    proxy = subprocess.Popen(
                        [nginx, "-p", str(tmp), "-c", str(conf), "-e",
                         str(tmp / "nginx-error.log"), "-g", "daemon off;"],
                        start_new_session=True,
                    )  # fmt: skip
                    try:
                        wait_until(
                            lambda at=listen: answers(f"http://127.0.0.1:{at}/api/v1/health/live"),
                            20, "nginx",
                        )  # fmt: skip
                        run = asyncio.run(
                            closed_loop(
                                f"http://127.0.0.1:{listen}/api/v1", token, work,
                                args.clients, args.seconds,
                            )
                        )  # fmt: skip
                    finally:
                        proxy.terminate()
                        proxy.wait(10)
                    run["load"] = load()
                    result["runs"][str(n)].append(run)
                    progress(f"API ×{n}: {run['rps']} req/s (p50 {run['p50_ms']} ms)")
        finally:
            processes.stop()
    medians = {n: statistics.median(r["rps"] for r in rs) for n, rs in result["runs"].items()}
    one = medians[str(counts[0])]
    result["median_rps"] = medians
    result["ratio_to_one"] = {n: round(v / one, 2) for n, v in medians.items()}
    result["median_creates_per_s"] = {
        n: statistics.median(r["creates_per_s"] for r in rs) for n, rs in result["runs"].items()
    }
    result["load_after"] = load()
    return result


# --- 2. the bell storm with 1, 2, 4 workers ---------------------------------------------------
def bell_part(counts: Sequence[int], args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"load_before": load(), "lessons": args.lessons}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bell.json"
        command = [
            sys.executable, str(ROOT / "benchmarks" / "bell_storm.py"),
            "--lessons", str(args.lessons), "--workers", ",".join(map(str, counts)),
            "--no-floor", "--out", str(out),
        ]  # fmt: skip
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        storm = json.loads(out.read_text())
    by_workers: dict[str, Any] = {}
    for run in storm.get("runs", []):
        if not run.get("workers"):
            continue
        by_workers[str(run["workers"])] = {
            "lateness_s": run.get("lateness_s"),
            "all_live_s": run.get("all_live_s"),
            "live": run.get("live"),
            "not_live": run.get("not_live"),
            "double_rooms": run.get("double_rooms"),
        }
    result["runs"] = by_workers
    first = by_workers.get(str(counts[0]), {})
    base = first.get("all_live_s")
    if base:
        result["all_live_ratio_to_one"] = {
            n: round(r["all_live_s"] / base, 2) for n, r in by_workers.items() if r["all_live_s"]
        }
    result["load_after"] = load()
    return result


# --- 3. health polling with 1, 2, 4 monitors ------------------------------------------------------
def metric_values(text_: str, name: str) -> list[tuple[str, float]]:
    found = []
    for line in text_.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, _, value = line.rpartition(" ")
            found.append((labels, float(value)))
    return found


def poll_part(
    server_url: str, devices: int, counts: Sequence[int], args: argparse.Namespace
) -> dict[str, Any]:
    from benchmarks.health_poll import fleet, store_region

    result: dict[str, Any] = {"devices": devices, "load_before": load(), "runs": {}}
    with fleet(devices) as sims, pg_schema(server_url) as url:
        store_region(url, sims.devices)
        for n in counts:
            with tempfile.TemporaryDirectory() as tmp:
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VKS_DATA_DIR": tmp,
                    "VKS_DATABASE_URL": url, "VKS_SECRET_KEY": SECRET,
                    "VKS_POLL_INTERVAL_S": "1",  # back to back: a cycle is the polling time
                    "VKS_POLL_CONCURRENCY": "500", "VKS_DEVICE_TIMEOUT_S": "5",
                }  # fmt: skip
                processes = Processes(Path(tmp), env)
                ports = [free_port() for _ in range(n)]
                for i, port in enumerate(ports):
                    processes.start(f"monitor-{i}", str(VKS), "monitor", "--port", str(port))
                try:
                    result["runs"][str(n)] = watch_cycles(ports, devices, args.poll_seconds)
                finally:
                    processes.stop()
                progress(f"poll {devices} × {n} monitors: {result['runs'][str(n)]}")
    one = result["runs"][str(counts[0])].get("cycle_s")
    result["cycle_ratio_to_one"] = {
        n: round(r["cycle_s"] / one, 2) if one and r.get("cycle_s") else None
        for n, r in result["runs"].items()
    }
    result["load_after"] = load()
    return result


def watch_cycles(ports: Sequence[int], devices: int, seconds: float) -> dict[str, Any]:
    """Once every device is held by a monitor, the slowest monitor's cycle of each kind,
    sampled every second for `seconds`; the median of those maxima."""
    began = time.monotonic()
    samples: list[float] = []
    held_at: float | None = None
    deadline = time.monotonic() + seconds + 240
    while time.monotonic() < deadline:
        held, cycles = 0.0, []
        for port in ports:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5, trust_env=False)
            except httpx.HTTPError:
                continue
            held += sum(v for _, v in metric_values(body.text, "vks_monitor_devices"))
            cycles += [v for _, v in metric_values(body.text, "vks_poll_cycle_seconds")]
        if held >= devices and cycles and min(cycles) > 0:
            held_at = held_at or time.monotonic()
            samples.append(max(cycles))
            if time.monotonic() - held_at >= seconds:
                break
        time.sleep(1.0)
    return {
        "cycle_s": round(statistics.median(samples), 2) if samples else None,
        "samples": len(samples),
        "all_held_after_s": round(held_at - began, 1) if held_at else None,
    }


# --- main ------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--parts", default="api,bell,poll")
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lessons", type=int, default=1000)
    parser.add_argument("--devices", default="10000,50000")
    parser.add_argument("--poll-seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats, args.lessons = 5.0, 1, 100
        args.devices, args.poll_seconds, args.clients = "2000", 6.0, 16
    counts = [int(n) for n in args.processes.split(",")]
    parts = set(args.parts.split(","))
    server_url = os.environ.get("VKS_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    result: dict[str, Any] = {
        "benchmark": "scale",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "quick": args.quick,
        "load_start": load(),
    }
    if "api" in parts:
        progress("API throughput")
        result["api"] = api_part(server_url, counts, args)
    if "bell" in parts:
        progress("bell storm")
        result["bell"] = bell_part(counts, args)
    if "poll" in parts:
        result["poll"] = {}
        for devices in (int(d) for d in args.devices.split(",")):
            progress(f"health polling of {devices} devices")
            result["poll"][str(devices)] = poll_part(server_url, devices, counts, args)
    result["load_end"] = load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    report(result, args.out)
    return 0


def report(r: dict[str, Any], out: Path) -> None:
    print(f"machine {r['machine']}, load average at start {r['load_start']}")
    if "api" in r:
        a = r["api"]
        print("API throughput (mixed reads and creates, behind nginx):")
        for n, rps in a["median_rps"].items():
            print(
                f"  {n} process(es): {rps:7.1f} req/s (median), ×{a['ratio_to_one'][n]:.2f},"
                f" creates {a['median_creates_per_s'][n]:.1f}/s"
            )
    if "bell" in r:
        b = r["bell"]
        print(f"bell storm, {b['lessons']} lessons at one bell:")
        for n, run in b["runs"].items():
            print(
                f"  {n} worker(s): all live after {run['all_live_s']} s,"
                f" lateness {run['lateness_s']}"
            )
    for devices, p in r.get("poll", {}).items():
        print(f"health polling of {devices} devices:")
        for n, run in p["runs"].items():
            print(f"  {n} monitor(s): cycle {run['cycle_s']} s (×{p['cycle_ratio_to_one'][n]})")
    print(f"load average at end {r['load_end']}; written {out}")


if __name__ == "__main__":
    sys.exit(main())
