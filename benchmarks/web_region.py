"""Benchmark: the web pages at the region's size, and how soon the Today board shows a change.

The region of `benchmarks/booking.py` (10,000 terminals of 5,000 schools in 20
municipalities, the last four in Moscow time; 1,000,000 occurrences of weekly lessons over
the 2026/27 year; `--quick`: a tenth) on PostgreSQL (schema `bench_web_region` of the
`--postgres-url` database), with one camera per school and the day dressed as the
automation and the health monitor would leave it at 10:00 in Kemerovo on a Tuesday
(2026-10-13, ~5,900 lessons that day): lessons over → ended (a few failed), in progress →
live (some degraded), the next ones checking, a few at risk or switched to a backup; every
terminal with a health state, 30 days of uptime and a few changes of state, some offline.

Measured in this process (the app through httpx's ASGI transport with the RCC operator's
session cookie: routing, session check, services, SQL, templates; no network), as
median / p90 of `--runs` renders with this process's CPU time per render (the server runs
here: on a shared machine CPU time is what a page costs):

1. the Today board of the whole region (the RCC operator's view),
2. the timetable grid of a network (100 terminals) for a week,
3. a terminal's page (health, 30 days of uptime, changes of state, alerts),
4. the live board's change mark (what each open board's event stream polls every 0.5 s).

Then the Today board's live path over real HTTP: the app under uvicorn on a loopback port
(in a thread of this process, on the benchmark's fixed clock), a client reading
`/today/events`; `--changes` times a state change of a lesson on the board is stored (the
automation's own `SqlTransitions.transition`) and the moment the client has received the
row's new HTML. Target (issue 16): each page ≤ 100 ms median; a change shown ≤ 2 s.

    .venv/bin/python benchmarks/web_region.py [--quick] [--runs 30] [--keep] [--profile]
        [--postgres-url URL] [--code DIR]

`--keep` leaves the loaded schema for the next run (and reuses one left by a previous
run: loading takes minutes); `--code DIR` measures another checkout of vks (an A/B
baseline, e.g. /work/base) on the same data; `--profile` writes the top functions
of each page (py-spy, every thread) to benchmarks/results/web_region-profile-<page>.txt.
Prints the figures and writes benchmarks/results/web_region.json (`--out`: another name).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(
    0, sys.argv[sys.argv.index("--code") + 1] if "--code" in sys.argv else str(_HERE.parent)
)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import Engine, text  # noqa: E402

ROOT = _HERE.parent
RESULTS = ROOT / "benchmarks" / "results"
SCHEMA = "bench_web_region"
DAY = date(2026, 10, 13)  # a Tuesday of the first quarter
NOW = datetime(2026, 10, 13, 3, 0, tzinfo=UTC)  # 10:00 in Kemerovo, 06:00 in Moscow
WEEK = date(2026, 10, 12)
NETWORK = "net-0-0"  # Kemerovo time, 50 schools, 100 terminals
TERMINAL = "term-0-0"
TARGET_PAGE_MEDIAN_MS = 100
TARGET_CHANGE_S = 2.0
NEXT = {"live": "degraded", "checking": "preparing", "scheduled": "checking", "ended": "failed"}
"""The state change timed, by the state a lesson on the board is in."""


def region_tools() -> ModuleType:
    """The large region of the booking benchmark (its builder, loader and figures)."""
    spec = importlib.util.spec_from_file_location("bench_booking", _HERE / "booking.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_booking"] = module
    spec.loader.exec_module(module)
    return module


class FixedClock:
    def now(self) -> datetime:
        return NOW


# --- the data set ---------------------------------------------------------------------------------
def load(bench: ModuleType, engine: Engine, scale: Any) -> dict[str, Any]:
    from adapters.storage.equipment import SqlCameras
    from adapters.storage.unit_of_work import SqlUnitOfWork
    from tests.builders import a_camera

    region = bench.make_region(scale.terminals)
    bench.seed_region(engine, region)
    with SqlUnitOfWork(engine) as uow:
        SqlCameras(uow.connection).add_all(
            [
                a_camera(t.id, credentials_ref="env:VKS_CAMERA_PASSWORD")
                for t in region.terminals
                if t.id.endswith("-0")
            ]
        )
        uow.commit()
    lessons = scale.occurrences // 30 + len(region.terminals)
    figures: dict[str, Any] = bench.bulk_load(
        engine, region, lessons, "base-", max_occurrences=scale.occurrences
    )
    started = time.perf_counter()
    with engine.begin() as c:
        dress_the_day(c)
        seed_health(c)
        c.execute(text("CREATE TABLE bench_ready (at timestamptz)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM (ANALYZE)"))
        c.execute(text("CHECKPOINT"))
    figures["dress_s"] = round(time.perf_counter() - started, 1)
    return figures


def dress_the_day(c: Any) -> None:
    """The states the automation would have stored by 10:00 in Kemerovo, with their history
    rows: over → ended (1 in 50 failed), under way → live (1 in 20 degraded, its terminal
    dropped), starting within 30 minutes → checking; 1 in 40 of those still to come at risk
    (a terminal offline), 1 in 100 switched to a backup terminal."""
    day_start, day_end = NOW - timedelta(hours=12), NOW + timedelta(hours=14)
    window = {"now": NOW, "a": day_start, "b": day_end}
    c.execute(text("""
        UPDATE occurrences SET
          state = CASE
            WHEN "end" <= :now
              THEN CASE WHEN abs(hashtext(id)) % 50 = 0 THEN 'failed' ELSE 'ended' END
            WHEN start <= :now
              THEN CASE WHEN abs(hashtext(id)) % 20 = 0 THEN 'degraded' ELSE 'live' END
            WHEN setup_start <= :now + interval '30 minutes' THEN 'checking'
            ELSE 'scheduled' END,
          state_reason = CASE
            WHEN "end" <= :now AND abs(hashtext(id)) % 50 = 0 THEN 'no terminal answered the call'
            WHEN start <= :now AND "end" > :now AND abs(hashtext(id)) % 20 = 0
              THEN 'terminal ' || (terminal_ids->>0) || ' left the call'
            ELSE '' END,
          room_server_id = CASE WHEN start <= :now AND "end" > :now
            THEN 'bbb-' || (abs(hashtext(id)) % 20) END,
          room_id = CASE WHEN start <= :now AND "end" > :now THEN 'room-' || id END,
          at_risk = CASE WHEN start > :now AND abs(hashtext(id)) % 40 = 0
            THEN 'terminal ' || (terminal_ids->>0) || ' is offline' ELSE '' END,
          at_risk_since = CASE WHEN start > :now AND abs(hashtext(id)) % 40 = 0
            THEN :now - interval '20 minutes' END
        WHERE start >= :a AND start < :b AND NOT cancelled
    """), window)  # fmt: skip
    c.execute(text("""
        INSERT INTO occurrence_transitions
          (occurrence_id, at, from_state, to_state, cause, reason, details)
        SELECT id, least(start, :now), 'scheduled', state, 'automation', state_reason, '{}'
        FROM occurrences WHERE start >= :a AND start < :b AND state <> 'scheduled'
    """), window)  # fmt: skip
    c.execute(text("""
        INSERT INTO occurrence_transitions
          (occurrence_id, at, from_state, to_state, cause, reason, details)
        SELECT id, setup_start, state, state, 'preflight',
               'switched ' || (terminal_ids->>0) || ' → backup ' || (terminal_ids->>0) || '-b', '{}'
        FROM occurrences WHERE start >= :a AND start < :b AND abs(hashtext(id)) % 100 = 1
    """), window)  # fmt: skip


def seed_health(c: Any) -> None:
    """What the health monitor keeps: every terminal's state (1 in 50 offline, 1 in 100
    degraded), 30 days of uptime and a change of state every third day."""
    c.execute(text("""
        INSERT INTO device_health
          (kind, device_id, state, since, cause, last_poll_at, rtt_ms, in_call)
        SELECT 'terminal', id,
          CASE WHEN abs(hashtext(id)) % 50 = 0 THEN 'down'
               WHEN abs(hashtext(id)) % 100 = 1 THEN 'degraded' ELSE 'ok' END,
          :now - interval '3 hours', '', :now - interval '10 seconds', 12.5, false
        FROM terminals
    """), {"now": NOW})  # fmt: skip
    c.execute(text("""
        INSERT INTO device_uptime (kind, device_id, day, ok_s, degraded_s, down_s, unknown_s,
                                   polls, failures, rtt_sum_ms, rtt_max_ms)
        SELECT 'terminal', t.id, d::date, 86000 - (abs(hashtext(t.id || d::text)) % 4000), 0,
               abs(hashtext(t.id || d::text)) % 4000, 400, 2880, 3, 36000, 80
        FROM terminals t, generate_series(:first, :last, interval '1 day') d
    """), {"first": DAY - timedelta(days=29), "last": DAY})  # fmt: skip
    c.execute(text("""
        INSERT INTO device_transitions (kind, device_id, at, from_state, to_state, cause, details)
        SELECT 'terminal', t.id, d + interval '9 hours' + s * interval '10 minutes',
               CASE WHEN s = 0 THEN 'ok' ELSE 'down' END, CASE WHEN s = 0 THEN 'down' ELSE 'ok' END,
               CASE WHEN s = 0 THEN 'connection refused' ELSE 'answered again' END, '{}'
        FROM terminals t, generate_series(:first, :last, interval '3 days') d,
             generate_series(0, 1) s
        ORDER BY 3
    """), {"first": datetime.combine(DAY - timedelta(days=29), datetime.min.time(), UTC),
           "last": datetime.combine(DAY, datetime.min.time(), UTC)})  # fmt: skip


# --- measuring ----------------------------------------------------------------------------------
def calibration() -> dict[str, float]:
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i & 7
    return {
        "python_loop_3M_s": round(time.perf_counter() - started, 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def figures_of(walls: list[float], cpus: list[float]) -> dict[str, Any]:
    walls = sorted(walls)
    return {
        "n": len(walls),
        "median_ms": round(statistics.median(walls) * 1000, 1),
        "p90_ms": round(walls[max(0, round(0.9 * len(walls)) - 1)] * 1000, 1),
        "cpu_median_ms": round(statistics.median(cpus) * 1000, 1),
    }


def measure_pages(container: Any, app: Any, token: str, runs: int, profile: bool) -> dict[str, Any]:
    import httpx

    from vks.web.board import change_mark
    from vks.web.session import SESSION_COOKIE

    pages = {
        "today_region": "/today",
        "grid_network_week": f"/grid?network={NETWORK}&week={WEEK.isoformat()}&limit=100",
        "terminal_page": f"/equipment/terminals/{TERMINAL}",
    }
    found: dict[str, Any] = {}

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        cookies = {SESSION_COOKIE: token}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", cookies=cookies
        ) as client:

            async def get(path: str) -> httpx.Response:
                answer = await client.get(path)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:400])
                return answer

            for name, path in pages.items():
                first = await get(path)
                shape: dict[str, Any] = {"path": path, "bytes": len(first.content)}
                if name == "today_region":
                    shape["rows"] = first.text.count('<tr id="occ-')
                found[name] = shape
                for _ in range(3):
                    await get(path)
            for name, path in pages.items():  # interleaved: the same load for each page
                walls: list[float] = []
                cpus: list[float] = []
                for _ in range(runs):
                    started, cpu = time.perf_counter(), time.process_time()
                    await get(path)
                    walls.append(time.perf_counter() - started)
                    cpus.append(time.process_time() - cpu)
                found[name].update(figures_of(walls, cpus))
            if profile:  # py-spy samples every thread (the pages run in the threadpool)
                for name, path in pages.items():
                    target = RESULTS / f"web_region-profile-{name}.txt"
                    with sampled(target):
                        for _ in range(runs):
                            await get(path)

    asyncio.run(run())
    walls, cpus = [], []
    for _ in range(runs * 10):
        started, cpu = time.perf_counter(), time.process_time()
        change_mark(container)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    found["change_mark"] = figures_of(walls, cpus)
    return found


@contextmanager
def sampled(target: Path) -> Iterator[None]:
    """py-spy (`pip install py-spy`: a tool, not a dependency) records this process while
    the block runs; the functions with the most samples, by own and by total time, go to
    `target`."""
    import shutil
    import subprocess
    from collections import Counter

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = target.with_suffix(".raw")
    command = [spy, "record", "--pid", str(os.getpid()), "--format", "raw", "--rate", "500",
               "--output", str(raw), "--nonblocking"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    try:
        yield
    finally:
        process.send_signal(2)
        process.wait(timeout=60)
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        n = int(count)
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    lines = [f"{samples} samples", "", "own:"]
    lines += [f"{n:7d} {frame}" for frame, n in own.most_common(40)]
    lines += ["", "total:"]
    lines += [f"{n:7d} {frame}" for frame, n in total.most_common(60)]
    ours = Counter({f: n for f, n in total.items() if "(vks/" in f or "(booking/" in f
                    or "(adapters/" in f or ".html:" in f})  # fmt: skip
    lines += ["", "total, the project's frames:"]
    lines += [f"{n:7d} {frame}" for frame, n in ours.most_common(80)]
    target.write_text("\n".join(lines) + "\n")
    raw.unlink()


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a thread of this process."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


class Events:
    """A client of `/today/events`: reads the stream in a thread, keeping each event's
    arrival time and data."""

    def __init__(self, base: str, cookie: dict[str, str]) -> None:
        self.base, self.cookie = base, cookie
        self.received: list[tuple[float, str]] = []
        self.lock = threading.Condition()
        self.stop = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        import httpx

        with (
            httpx.Client(base_url=self.base, cookies=self.cookie, timeout=60) as client,
            client.stream("GET", "/today/events") as answer,
        ):
            data: list[str] = []
            for line in answer.iter_lines():
                if self.stop:
                    return
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif not line and data:
                    with self.lock:
                        self.received.append((time.perf_counter(), "\n".join(data)))
                        self.lock.notify_all()
                    data = []

    def wait_for(self, since: int, found: Callable[[str], bool], timeout: float) -> float | None:
        """The arrival time of the first event from index `since` on for which `found`."""
        deadline = time.perf_counter() + timeout
        with self.lock:
            while True:
                for at, data in self.received[since:]:
                    if found(data):
                        return at
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.lock.wait(left)


@dataclass(frozen=True)
class Containing:
    text: str

    def __call__(self, data: str) -> bool:
        return self.text in data


def measure_changes(container: Any, app: Any, token: str, changes: int) -> dict[str, Any]:
    """Store → the row's new HTML at the client, for `changes` lessons shown on the board."""
    import httpx

    from adapters.storage.automation.transitions import SqlTransitions
    from booking.automation_store import TransitionWrite
    from booking.bookings import OccurrenceState
    from vks.web.session import SESSION_COOKIE

    engine = container.engine
    cookie = {SESSION_COOKIE: token}
    transitions = SqlTransitions(engine)
    rng = random.Random(16)
    latencies: list[float] = []
    missed: list[str] = []
    with served(app) as base:
        page = httpx.get(f"{base}/today", cookies=cookie, timeout=60).text
        shown = [piece.split('"', 1)[0] for piece in page.split('<tr id="occ-')[1:]]
        states = {}
        for occurrence_id in shown:
            marker = f'<tr id="occ-{occurrence_id}" data-state="'
            states[occurrence_id] = page.split(marker, 1)[1].split('"', 1)[0]
        candidates = [i for i, s in states.items() if s in NEXT]
        events = Events(base, cookie)
        if events.wait_for(0, bool, 30) is None:
            raise RuntimeError("the event stream sent nothing in 30 s")
        time.sleep(1.0)
        for occurrence_id in rng.sample(candidates, min(changes, len(candidates))):
            before = OccurrenceState(states[occurrence_id])
            after = OccurrenceState(NEXT[before.value])
            time.sleep(rng.uniform(0.2, 1.2))  # any phase of the stream's polling
            since = len(events.received)
            write = TransitionWrite(occurrence_id, after, frozenset({before}), "benchmark",
                                    reason="benchmark")  # fmt: skip
            applied = transitions.transition([write], NOW)
            stored = time.perf_counter()
            assert applied, occurrence_id
            row = f'id="occ-{occurrence_id}" data-state="{after.value}"'
            arrived = events.wait_for(since, Containing(row), 10)
            if arrived is None:
                missed.append(occurrence_id)
            else:
                latencies.append(arrived - stored)
            back = TransitionWrite(occurrence_id, before, frozenset({after}), "benchmark")
            transitions.transition([back], NOW)  # the data set as it was, for the next run
        events.stop = True
    latencies.sort()
    found: dict[str, Any] = {"changes": len(latencies), "missed": missed}
    if missed:
        found["events"] = [data[:300] for _, data in events.received[-3:]]
    if latencies:
        found.update(
            median_s=round(statistics.median(latencies), 3),
            p90_s=round(latencies[max(0, round(0.9 * len(latencies)) - 1)], 3),
            max_s=round(latencies[-1], 3),
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the region")
    parser.add_argument("--runs", type=int, default=30, help="renders of each page")
    parser.add_argument("--changes", type=int, default=20, help="state changes timed")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the loaded schema")
    parser.add_argument("--profile", action="store_true", help="cProfile each page")
    parser.add_argument("--code", help="another checkout of vks to measure (A/B)")
    parser.add_argument("--out", default="web_region.json", help="file in benchmarks/results")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "VKS_BENCH_DATABASE_URL",
            os.environ.get("VKS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vks_bench"),
        ),
    )  # fmt: skip
    args = parser.parse_args()
    bench = region_tools()
    scale = bench.QUICK if args.quick else bench.FULL

    from adapters.storage.engine import create_engine_for
    from adapters.storage.schema import upgrade
    from vks.api.app import create_app
    from vks.bootstrap import build_container
    from vks.settings import Settings

    report: dict[str, Any] = {
        "code": args.code or str(ROOT),
        "terminals": scale.terminals,
        "target_page_median_ms": TARGET_PAGE_MEDIAN_MS,
        "target_change_s": TARGET_CHANGE_S,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = SCHEMA + ("_quick" if args.quick else "")
    with bench.kept_schema(args.postgres_url, name, args.keep) as (url, loaded):
        engine = create_engine_for(url)
        try:
            if not loaded or args.code is None:  # a kept schema gets this checkout's revisions
                upgrade(url)
            if not loaded:
                report["data_set"] = load(bench, engine, scale)
                print(f"data set: {report['data_set']}", flush=True)
            with engine.connect() as c:
                report["lessons_that_day"] = c.execute(
                    text("SELECT count(*) FROM occurrences WHERE local_date = :d"), {"d": DAY}
                ).scalar_one()
                report["occurrences"] = c.execute(
                    text("SELECT count(*) FROM occurrences")
                ).scalar_one()
            settings = Settings(
                database_url=url, secret_key="benchmark-hmac-key-of-32-bytes-at-least",
                hold_sweep_seconds=0, data_dir=Path(tempfile.mkdtemp(prefix="vks-web-region-")),
            )  # fmt: skip
            container = build_container(settings, clock=FixedClock(), engine=engine)
            app = create_app(container=container)
            token = container.tokens.issue(bench.RCC, now=NOW, ttl=timedelta(days=400)).value
            try:
                report["calibration_before"] = calibration()
                report["pages"] = measure_pages(container, app, token, args.runs, args.profile)
                for name, page in report["pages"].items():
                    print(f"  {name:18} {page}", flush=True)
                if args.changes:
                    report["state_change"] = measure_changes(container, app, token, args.changes)
                    print(f"  state change       {report['state_change']}", flush=True)
                report["calibration_after"] = calibration()
            finally:
                container.close()
        finally:
            engine.dispose()
    target = RESULTS / args.out
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
