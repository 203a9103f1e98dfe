"""Benchmark: the bell storm — 1,000 lessons, each with 2 terminals and 1 camera, all due
to start in the same second, against the simulator fleet with 50 ms device latency.

Measured, for the floor and for 1, 2 and 4 RQ workers (`vks worker`: SimpleWorker with the
RQ scheduler), each run on a freshly started fleet:

- lateness: from the instant the start steps are due to the moment the platform reports
  both terminals of a lesson in its room (the `confirmed_at` of its `live` transition);
  distribution (p50/p90/p99/max) and the time until every lesson is live;
- rooms created (meetings on the BBB servers), double rooms (an occurrence with a meeting
  on two servers, or two transitions to `preparing`), failures (not live in time,
  degraded, failed);
- the floor: the same device calls — create the room, move the camera to its preset,
  dial both terminals, poll the room's presence until both are in — issued by one bare
  asyncio loop with no database, no queue and no orchestration.

Targets (2-core machine, simulators on the same cores): every lesson live within 60 s of
its due instant and within 1.5 × the floor; no lesson lost, no double room.

    .venv/bin/python benchmarks/bell_storm.py [--lessons 1000] [--workers 1,2,4]

Needs PostgreSQL (`VKS_BENCH_DATABASE_URL`, default the test server) and Redis
(`VKS_BENCH_REDIS_URL`, default db 12 of the local server, flushed). Prints the figures
and writes benchmarks/results/bell_storm.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, select, text, update  # noqa: E402

from adapters.camera.onvif import OnvifCameraClient, preload_wsdl  # noqa: E402
from adapters.conference import platform_for  # noqa: E402
from adapters.conference.platform import RoomSpec  # noqa: E402
from adapters.conference.sip import normalise  # noqa: E402
from adapters.conference.transport import new_client  # noqa: E402
from adapters.storage.automation import occurrence_transitions  # noqa: E402
from adapters.storage.engine import create_engine_for  # noqa: E402
from adapters.storage.schema import upgrade  # noqa: E402
from adapters.storage.tables import occurrences as occurrences_table  # noqa: E402
from adapters.storage.unit_of_work import SqlUnitOfWork  # noqa: E402
from adapters.terminal import terminal_for  # noqa: E402
from booking.bookings import (  # noqa: E402
    Occurrence,
    Participant,
    Reservation,
)
from booking.lifecycle import Timing  # noqa: E402
from booking.organisations import OrgKind  # noqa: E402
from booking.resources import (  # noqa: E402
    ConferenceServer,
    PlatformKind,
)
from tests.builders import (  # noqa: E402
    a_bbb_server,
    a_booking,
    a_camera,
    a_municipality,
    a_school,
    a_terminal,
    an_occurrence,
    an_organisation,
    reservations_of,
)
from vks.automation.config import AutomationConfig  # noqa: E402
from vks.automation.hardware import (  # noqa: E402
    CAMERA_CONCURRENCY,
    GatewayPresence,
    terminal_http_client,
)
from vks.automation.start import TerminalsFirst  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
RESULTS = ROOT / "benchmarks" / "results" / "bell_storm.json"
SECRET = "storm-bbb-secret"
PASSWORD = "secret"
TZ = "Asia/Novokuznetsk"
LESSON_MINUTES = 40
START_LEAD = timedelta(minutes=5)


# --- the region -------------------------------------------------------------------------------
def free_port_run(count: int, lowest: int = 25000, highest: int = 32700) -> int:
    """The first port of `count` consecutive free loopback ports below the ephemeral range
    (other benchmarks and the demo use ports too)."""
    import socket

    base = lowest
    while base + count <= highest:
        for port in range(base, base + count):
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    base = port + 1
                    break
        else:
            return base
    raise RuntimeError(f"no {count} consecutive free ports in {lowest}..{highest}")


@dataclass
class Layout:
    lessons: int
    servers: int
    port_base: int

    def server_port(self, s: int) -> int:
        return self.port_base + s

    def terminal_port(self, t: int) -> int:
        return self.port_base + 100 + t

    def camera_port(self, c: int) -> int:
        return self.port_base + 100 + 2 * self.lessons + c

    def rooms_per_server(self) -> int:
        return math.ceil(self.lessons / self.servers)


def region_file(layout: Layout) -> dict[str, Any]:
    """The storm's equipment in the region-file format (what `vks-sim fleet` reads)."""
    per_server = layout.rooms_per_server()
    servers = [
        {
            "id": f"bbb-{s:02d}",
            "kind": "bbb",
            "name": f"BBB РКЦ №{s + 1}",
            "base_url": f"http://127.0.0.1:{layout.server_port(s)}/bigbluebutton/",
            "secret": SECRET,
            "max_rooms": 2 * per_server,
            "max_participants": 2 * per_server * 40,
            "gateway": {"sip_host": f"127.0.0.1:{layout.server_port(s)}", "ports": 4 * per_server},
        }
        for s in range(layout.servers)
    ]
    terminals = [
        {
            "id": f"term-{t:04d}",
            "site": f"school-{t:04d}",
            "name": f"Кабинет {t}",
            "vendor": "cisco_xapi",
            "sip_address": f"sip:term-{t:04d}@vks.example.ru",
            "control_url": f"http://127.0.0.1:{layout.terminal_port(t)}",
            "username": "admin",
            "password": PASSWORD,
        }
        for t in range(2 * layout.lessons)
    ]
    cameras = [
        {
            "id": f"cam-{c:04d}",
            "terminal": f"term-{2 * c:04d}",
            "onvif_url": f"http://127.0.0.1:{layout.camera_port(c)}",
            "username": "admin",
            "password": PASSWORD,
            "presets": ["teacher", "board", "class"],
        }
        for c in range(layout.lessons)
    ]
    return {"servers": servers, "terminals": terminals, "cameras": cameras}


@dataclass
class Fleet:
    processes: list[subprocess.Popen[bytes]]
    files: list[Path]

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for f in self.files:
            f.unlink(missing_ok=True)


def start_fleet(
    region: dict[str, Any], shards: int, latency_ms: float, answer_delay_s: float
) -> Fleet:
    """`vks-sim fleet` in `shards` processes (servers in the first, devices in the others)."""
    parts: list[dict[str, list[Any]]] = [
        {"servers": [], "terminals": [], "cameras": []} for _ in range(shards)
    ]
    parts[0]["servers"] = region["servers"]
    devices = max(1, shards - 1)  # the servers get a process of their own when there are 2+
    for key in ("terminals", "cameras"):
        for i, item in enumerate(region[key]):
            parts[(shards - devices) + i % devices][key].append(item)
    fleet = Fleet([], [])
    for part in parts:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - removed in Fleet.stop
            "w", suffix=".yaml", delete=False, encoding="utf-8"
        )
        yaml.safe_dump(part, handle, allow_unicode=True)
        handle.close()
        fleet.files.append(Path(handle.name))
        fleet.processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "simulators.cli",
                    "fleet",
                    handle.name,
                    "--latency-ms",
                    str(latency_ms),
                    "--answer-delay",
                    str(answer_delay_s),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
            )
        )
    for process in fleet.processes:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if "listening" not in line:
            fleet.stop()
            raise RuntimeError(f"the simulator fleet did not start: {line!r}")
    return fleet


# --- the API: where the terminals push their call-status feedback --------------------------------
API_SECRET = "storm-api-secret-key-of-proper-length"


@dataclass
class Api:
    """`vks serve` with Redis (the RQ topology's API: it only plans and wakes the workers),
    the process the terminals' HttpFeedback reaches: a pushed "call disconnected" makes the
    lesson due now (`AutomationHook.call_ended`) and wakes a worker."""

    process: subprocess.Popen[bytes]
    url: str
    data_dir: tempfile.TemporaryDirectory[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.data_dir.cleanup()


def start_api(database_url: str, redis_url: str) -> Api:
    import socket

    import httpx

    with socket.socket() as probe:  # an ephemeral port, handed to uvicorn
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.TemporaryDirectory(prefix="vks-storm-api-")
    env = {
        **os.environ,
        "VKS_DATABASE_URL": database_url,
        "VKS_REDIS_URL": redis_url,
        "VKS_SECRET_KEY": API_SECRET,
        "VKS_DATA_DIR": data_dir.name,
        "VKS_PUBLIC_URL": url,
        "VKS_ACCESS_LOG": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "vks.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    api = Api(process, url, data_dir)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            api.stop()
            raise RuntimeError(f"vks serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/api/v1/health/live", timeout=2).status_code == 200:
                return api
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    api.stop()
    raise RuntimeError("vks serve did not answer within 90 s")


async def register_feedback(region: dict[str, Any], api_url: str) -> None:
    """What a codec's administrator (or its management suite) does: `HttpFeedback
    Register` with the terminal's push URL (its per-terminal token), expressions for the
    call status and the disconnect event."""
    import httpx

    from vks.monitor.push import push_url

    gate = asyncio.Semaphore(50)

    async def one(client: httpx.AsyncClient, t: dict[str, Any]) -> None:
        target = push_url(api_url, API_SECRET, t["id"])
        body = (
            '<Command><HttpFeedback><Register command="True"><FeedbackSlot>1</FeedbackSlot>'
            f"<ServerUrl>{target.replace('&', '&amp;')}</ServerUrl>"
            '<Expression item="1">/Status/Call</Expression>'
            '<Expression item="2">/Event/CallDisconnect</Expression>'
            "</Register></HttpFeedback></Command>"
        )
        async with gate:
            answer = await client.post(
                f"{t['control_url']}/putxml",
                content=body,
                headers={"Content-Type": "text/xml"},
                auth=("admin", PASSWORD),
            )
        if answer.status_code != 200 or 'status="OK"' not in answer.text:
            raise RuntimeError(f"{t['id']}: HttpFeedback Register refused: {answer.text[:200]}")

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(one(client, t) for t in region["terminals"]))


# --- the database -----------------------------------------------------------------------------
@contextmanager
def bench_database(server_url: str) -> Iterator[str]:
    name = f"vks_storm_{uuid.uuid4().hex[:10]}"
    admin = create_engine_for(server_url)
    try:
        with admin.begin() as c:
            c.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
            c.execute(text(f'CREATE SCHEMA "{name}"'))
        from sqlalchemy.engine import make_url

        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name},public"})
        yield url.render_as_string(False)
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def seed(engine: Engine, region: dict[str, Any], layout: Layout, start: datetime) -> list[str]:
    """Store the region and one booking per lesson (2 schools, 2 terminals, 1 camera)."""
    region_org = an_organisation("storm", OrgKind.REGION, "Кузбасс (штормовой тест)", tz=TZ)
    muni = a_municipality("storm-muni", "Кемерово", region_org, tz=TZ)
    end = start + timedelta(minutes=LESSON_MINUTES)
    ids: list[str] = []
    credentials = f"inline:{PASSWORD}"
    with SqlUnitOfWork(engine) as uow:
        uow.organisations.add(region_org)
        uow.organisations.add(muni)
        for t in region["terminals"]:
            site = t["site"]
            school = a_school(site, f"МБОУ «СОШ №{site[-4:]}»", muni, bell_schedule_id=None)
            uow.organisations.add(school)
        for t in region["terminals"]:
            uow.terminals.add(
                a_terminal(
                    t["id"],
                    t["site"],
                    t["name"],
                    sip_address=t["sip_address"],
                    control_url=t["control_url"],
                    credentials_ref=credentials,
                )
            )
        for c in region["cameras"]:
            uow.cameras.add(
                a_camera(
                    c["terminal"], id=c["id"], onvif_url=c["onvif_url"], credentials_ref=credentials
                )
            )
        for s in region["servers"]:
            uow.servers.add(
                a_bbb_server(
                    s["id"],
                    name=s["name"],
                    base_url=s["base_url"],
                    secret_ref=f"inline:{SECRET}",
                    max_rooms=s["max_rooms"],
                    max_participants=s["max_participants"],
                    gateway_sip_host=s["gateway"]["sip_host"],
                    gateway_ports=s["gateway"]["ports"],
                )
            )
        occurrences: list[Occurrence] = []
        reservations: list[Reservation] = []
        for i in range(layout.lessons):
            a, b = f"term-{2 * i:04d}", f"term-{2 * i + 1:04d}"
            booking = a_booking(
                f"storm-{i:04d}",
                title=f"Урок {i} (звонок)",
                organiser_id="bench",
                owner_org_id=muni.id,
                host_school_id=f"school-{2 * i:04d}",
                teacher="Петрова Анна Сергеевна",
                participants=[
                    Participant(f"school-{2 * i:04d}", a, "board", "9А"),
                    Participant(f"school-{2 * i + 1:04d}", b, None, "9Б"),
                ],
                setup_minutes=0,
                expected_participants=30,
                subject="",
                start=start,
                end=end,
                created_at=datetime.now(UTC),
            )
            uow.bookings.add(booking)
            occurrence = an_occurrence(
                booking, start, end, id=f"storm-{i:04d}-1", lesson_number=None
            )
            occurrences.append(occurrence)
            reservations += reservations_of(occurrence)
            ids.append(occurrence.id)
        uow.occurrences.add_all(occurrences, reservations)
        uow.commit()
    return ids


def bench_config(lessons: int, reconcile_s: float = 60.0, lease_s: float = 5.0) -> AutomationConfig:
    return AutomationConfig(
        timing=Timing(
            preflight_lead=START_LEAD,
            start_lead=START_LEAD,
            preflight_min_ahead=timedelta(hours=2),  # no pre-flight: the storm is the start
            grace=timedelta(minutes=10),
        ),
        batch_min=25,
        batch_max=lessons,
        presence_timeout=timedelta(seconds=60),
        presence_poll=timedelta(milliseconds=250),
        reconcile_every=timedelta(seconds=reconcile_s),
        horizon=timedelta(hours=2),
        lease=timedelta(seconds=lease_s),  # the production default unless --lease
    )


# --- measuring ----------------------------------------------------------------------------------
@dataclass
class Figures:
    label: str
    lessons: int
    live: int = 0
    degraded: int = 0
    failed: int = 0
    not_live: int = 0
    rooms_created: int = 0
    double_rooms: int = 0
    double_starts: int = 0
    all_live_s: float | None = None
    lateness_s: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    workers: int = 0
    notes: list[str] = field(default_factory=list)
    killed_worker_after_s: float | None = None
    dropped: int = 0
    drop_to_back_s: dict[str, float] = field(default_factory=dict)
    not_back: int = 0
    drops_found_by: dict[str, int] = field(default_factory=dict)


def distribution(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1)], 3)

    return {
        "min": round(ordered[0], 3),
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


async def count_rooms(region: dict[str, Any]) -> tuple[int, int, Counter[str]]:
    """Meetings on every server: (total, occurrences with a meeting on two servers)."""
    async with new_client(timeout_s=30) as client:
        platforms = [
            platform_for(
                ConferenceServer(
                    id=s["id"],
                    kind=PlatformKind.BBB,
                    name=s["name"],
                    base_url=s["base_url"],
                    secret_ref="",
                    max_rooms=s["max_rooms"],
                    max_participants=s["max_participants"],
                    gateway_sip_host=s["gateway"]["sip_host"],
                    gateway_ports=s["gateway"]["ports"],
                ),
                SECRET,
                client,
            )
            for s in region["servers"]
        ]
        loads = await asyncio.gather(*(p.load() for p in platforms))
    where: Counter[str] = Counter()
    total = 0
    for load in loads:
        for room in load.rooms:
            where[room.room_id] += 1
            total += 1
    return total, sum(1 for n in where.values() if n > 1), where


# --- the floor ----------------------------------------------------------------------------------
async def floor_run(
    region: dict[str, Any],
    layout: Layout,
    poll_s: float,
    timeout_s: float,
    terminals_first: bool = True,
) -> Figures:
    figures = Figures("floor (bare asyncio loop)", layout.lessons)
    await preload_wsdl()
    servers = region["servers"]
    platforms = [
        platform_for(
            ConferenceServer(
                id=s["id"],
                kind=PlatformKind.BBB,
                name=s["name"],
                base_url=s["base_url"],
                secret_ref="",
                max_rooms=s["max_rooms"],
                max_participants=s["max_participants"],
                gateway_sip_host=s["gateway"]["sip_host"],
                gateway_ports=s["gateway"]["ports"],
            ),
            SECRET,
            new_client(),  # one client per server, as the automation's pool
        )
        for s in servers
    ]
    terms = {
        t["id"]: terminal_for(
            "cisco_xapi",
            t["control_url"],
            "admin",
            PASSWORD,
            device_id=t["id"],
            client=terminal_http_client(),  # one small client per terminal, as the automation
        )
        for t in region["terminals"]
    }
    sips = {t["id"]: t["sip_address"] for t in region["terminals"]}
    cams = [
        OnvifCameraClient(c["onvif_url"], "admin", PASSWORD, device_id=c["id"])
        for c in region["cameras"]
    ]
    # the same helpers the automation uses: presence from each server's gateway (one status
    # call per server and poll, shared by its rooms), cameras moved a bounded number at once
    presence = GatewayPresence()
    camera_gate = asyncio.Semaphore(CAMERA_CONCURRENCY)
    start = datetime.now(UTC) + timedelta(seconds=2)
    due = time.perf_counter() + 2.0
    await asyncio.sleep(max(0.0, due - time.perf_counter()))
    # the automation's order at a bell: cameras once every lesson's terminals are in
    hold = bench_config(layout.lessons).camera_hold
    cameras_wait = TerminalsFirst(layout.lessons if terminals_first else 0, hold)

    async def lesson(i: int) -> float | None:
        platform = platforms[i % len(platforms)]
        spec = RoomSpec(
            occurrence_id=f"floor-{i:04d}",
            booking_id=f"floor-{i:04d}",
            title=f"Урок {i}",
            starts_at=start,
            ends_at=start + timedelta(minutes=LESSON_MINUTES),
            expected_participants=30,
            terminals=2,
        )

        async def point() -> None:
            await cameras_wait.wait()
            async with camera_gate:
                await cams[i].goto_preset("board")

        camera = asyncio.ensure_future(point())
        pair = [f"term-{2 * i:04d}", f"term-{2 * i + 1:04d}"]
        try:
            room = await platform.create_room(spec)
            await asyncio.gather(*(terms[t].dial(room.sip_address) for t in pair))
            wanted = {normalise(sips[t]) for t in pair}
            give_up = time.perf_counter() + timeout_s
            while True:
                await asyncio.sleep(poll_s)
                callers = await presence.callers(platform, room)
                if callers is not None and wanted <= callers:
                    confirmed = time.perf_counter()
                    break
                if time.perf_counter() > give_up:
                    raise TimeoutError(f"lesson {i}: terminals not in the room after {timeout_s} s")
        except BaseException:
            camera.cancel()
            raise
        finally:
            cameras_wait.done()
        try:
            await camera
        except Exception as exc:  # counted as a failure
            figures.notes.append(f"camera {i}: {exc}")
        return confirmed - due

    began = time.perf_counter()
    results = await asyncio.gather(
        *(lesson(i) for i in range(layout.lessons)), return_exceptions=True
    )
    figures.wall_s = round(time.perf_counter() - began, 3)
    lateness = [r for r in results if isinstance(r, float)]
    errors = [r for r in results if isinstance(r, BaseException)]
    figures.live = len(lateness)
    figures.failed = len(errors)
    figures.notes += [f"{type(e).__name__}: {e}" for e in errors[:5]]
    figures.lateness_s = distribution(lateness)
    figures.all_live_s = figures.lateness_s.get("max") if not errors else None
    for cam in cams:
        await cam.close()
    return figures


# --- the orchestrated run ---------------------------------------------------------------------
def worker_main(
    database_url: str,
    redis_url: str,
    name: str,
    lessons: int,
    reconcile_s: float = 60.0,
    lease_s: float = 5.0,
) -> None:
    """One `vks worker` process with the bench's lead times."""
    import logging

    from vks.bootstrap import hardware_automation
    from vks.jobs.worker import run_worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("vks.automation.dispatch").setLevel(logging.INFO)
    logging.getLogger("vks.jobs").setLevel(logging.INFO)
    logging.getLogger("rq.scheduler").setLevel(logging.INFO)
    engine = create_engine_for(database_url, pool_size=20)
    automation = hardware_automation(engine, bench_config(lessons, reconcile_s, lease_s))
    profile = os.environ.get("VKS_BENCH_PROFILE")  # a directory: one .prof per worker
    if not profile:
        run_worker(redis_url, automation, name=name)
        return
    import cProfile
    import threading

    from vks.jobs.loop import LoopThread

    profilers: list[cProfile.Profile] = []
    original = LoopThread._main

    def profiled(self: LoopThread) -> None:  # the jobs run on this thread, not the main one
        profiler = cProfile.Profile()
        profilers.append(profiler)
        profiler.enable()
        try:
            original(self)
        finally:
            profiler.disable()

    LoopThread._main = profiled  # type: ignore[method-assign]
    try:
        run_worker(redis_url, automation, name=name)
    finally:
        for n, profiler in enumerate(profilers):
            profiler.dump_stats(str(Path(profile) / f"{name}-{n}-{threading.get_ident()}.prof"))


def rq_run(
    workers: int,
    layout: Layout,
    region: dict[str, Any],
    server_url: str,
    redis_url: str,
    timeout_s: float,
    *,
    kill_after_s: float | None = None,
    drop_share: float = 0.0,
    reconcile_s: float = 60.0,
    push: bool = False,
    lease_s: float = 5.0,
    logs: Path | None = None,
) -> Figures:
    """One storm on `workers` RQ workers. Faults: `kill_after_s` kills one worker with
    SIGKILL that long after the due instant; `drop_share` of the lessons lose a terminal's
    call once all are live (hung up at the codec), and the time from each drop to the
    terminal back in its room (its lesson `live` again) is measured. `push`: the terminals
    register HttpFeedback with a `vks serve` (the API of the RQ topology), as real codecs
    are set up to, so a drop is news at once, not at the reconciler's next round. `logs`:
    a directory where each worker's log is kept (`<run>-storm-<n>.log`)."""
    from redis import Redis
    from rq import Worker

    from adapters.storage.automation import SqlAutomationStore
    from vks.automation.service import build_automation
    from vks.jobs.redis_queue import RqWaker, queue_for

    label = f"{workers} RQ worker{'s' if workers > 1 else ''}"
    if kill_after_s is not None:
        label += f", one killed at +{kill_after_s:g} s"
    if drop_share:
        label += f", {drop_share:.0%} calls dropped"
    if push:
        label += ", push feedback to the API"
    if lease_s != 5.0:
        label += f", lease {lease_s:g} s"
    figures = Figures(label, layout.lessons)
    figures.workers = workers
    figures.killed_worker_after_s = kill_after_s
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    with bench_database(server_url) as url:
        upgrade(url)
        engine = create_engine_for(url)
        far = datetime.now(UTC) + timedelta(days=1)
        ids = seed(engine, region, layout, far)
        api = start_api(url, redis_url) if push else None
        if api is not None:
            asyncio.run(register_feedback(region, api.url))
        run_tag = datetime.now(UTC).strftime("%H%M%S") + ("-kill" if kill_after_s else "")
        log_files = [
            open(logs / f"{run_tag}-storm-{n}.log", "wb") if logs else None  # noqa: SIM115
            for n in range(workers)
        ]
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "worker",
                    url,
                    redis_url,
                    f"storm-{n}",
                    str(layout.lessons),
                    str(reconcile_s),
                    str(lease_s),
                ],
                cwd=ROOT,
                stderr=log_files[n],
            )
            for n in range(workers)
        ]
        try:
            queue = queue_for(redis)
            deadline = time.monotonic() + 60
            while Worker.count(connection=redis, queue=queue) < workers:
                if time.monotonic() > deadline:
                    raise RuntimeError("workers did not start")
                time.sleep(0.2)
            time.sleep(3)  # WSDL warm-up in every worker
            # the storm: every lesson's start is due at the same instant
            due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
            start = due + START_LEAD
            with engine.begin() as c:
                c.execute(
                    update(occurrences_table).values(
                        start=start,
                        end=start + timedelta(minutes=LESSON_MINUTES),
                        setup_start=start,
                        version=occurrences_table.c.version + 1,
                    )
                )
            automation = build_automation(
                SqlAutomationStore(engine), bench_config(layout.lessons), _NoDevices()
            )
            automation.hook(RqWaker(queue)).occurrences_changed(ids)
            plans = automation.store.plans(ids)
            assert all(p.due_at == due for p in plans.values()), "every start is due at once"
            if kill_after_s is not None:
                victim = processes[0]
                delay = (due - datetime.now(UTC)).total_seconds() + kill_after_s

                def kill() -> None:
                    victim.send_signal(signal.SIGKILL)
                    print(f"    killed storm-0 (pid {victim.pid}) at {datetime.now(UTC)}")

                threading.Timer(max(0.0, delay), kill).start()
            print(f"    due at {due}", flush=True)
            began = time.monotonic()
            while time.monotonic() - began < timeout_s:
                with engine.connect() as c:
                    states = Counter(
                        dict(
                            c.execute(
                                select(occurrences_table.c.state, text("count(*)")).group_by(
                                    occurrences_table.c.state
                                )
                            ).all()
                        )
                    )
                if states["live"] + states["degraded"] + states["failed"] >= layout.lessons:
                    break
                time.sleep(0.25)
            figures.wall_s = round(time.monotonic() - began, 3)
            with engine.connect() as c:
                rows = c.execute(
                    select(
                        occurrence_transitions.c.occurrence_id,
                        occurrence_transitions.c.to_state,
                        occurrence_transitions.c.details,
                    ).where(occurrence_transitions.c.to_state.in_(["preparing", "live"]))
                ).all()
                final = Counter(
                    dict(
                        c.execute(
                            select(occurrences_table.c.state, text("count(*)")).group_by(
                                occurrences_table.c.state
                            )
                        ).all()
                    )
                )
            preparing = Counter(r.occurrence_id for r in rows if r.to_state == "preparing")
            figures.double_starts = sum(1 for n in preparing.values() if n > 1)
            lateness = [
                (datetime.fromisoformat(r.details["confirmed_at"]) - due).total_seconds()
                for r in rows
                if r.to_state == "live"
            ]
            figures.live = final["live"]
            figures.degraded = final["degraded"]
            figures.failed = final["failed"]
            figures.not_live = layout.lessons - final["live"]
            figures.lateness_s = distribution(lateness)
            if figures.live == layout.lessons:
                figures.all_live_s = figures.lateness_s["max"]
            total, doubles, _ = asyncio.run(count_rooms(region))
            figures.rooms_created = total
            figures.double_rooms = doubles
            if drop_share:
                drop_calls(engine, region, ids, drop_share, figures, timeout_s)
            if logs is not None:
                keep_history(engine, logs / f"{run_tag}-transitions.jsonl")
        finally:
            if api is not None:
                api.stop()
            for p in processes:
                p.send_signal(signal.SIGTERM)
            for p in processes:
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
            for f in log_files:
                if f is not None:
                    f.close()
            engine.dispose()
    redis.flushdb()
    return figures


def keep_history(engine: Engine, path: Path) -> None:
    """Every transition of the run, one JSON line each (to read beside the workers' logs)."""
    t = occurrence_transitions
    with engine.connect() as c, path.open("w", encoding="utf-8") as out:
        for row in c.execute(select(t).order_by(t.c.at)).mappings():
            out.write(json.dumps(dict(row), default=str) + "\n")


def drop_calls(
    engine: Engine,
    region: dict[str, Any],
    ids: list[str],
    share: float,
    figures: Figures,
    timeout_s: float,
) -> None:
    """Hang up one terminal of `share` of the live lessons at its codec (a call dropped
    mid-lesson), then wait for each lesson to be `live` again: drop → back in its room."""
    with engine.connect() as c:
        live = c.execute(
            select(occurrences_table.c.id, occurrences_table.c.terminal_ids).where(
                occurrences_table.c.state == "live", occurrences_table.c.id.in_(ids)
            )
        ).all()
    chosen = live[:: max(1, round(1 / share))][: math.ceil(share * len(ids))]
    by_id = {t["id"]: t for t in region["terminals"]}

    async def hang_up_all() -> dict[str, datetime]:
        dropped: dict[str, datetime] = {}

        async def one(occurrence_id: str, terminal_id: str) -> None:
            t = by_id[terminal_id]
            client = terminal_for("cisco_xapi", t["control_url"], "admin", PASSWORD, 5.0)
            dropped[occurrence_id] = datetime.now(UTC)
            await client.hang_up()

        await asyncio.gather(*(one(row.id, row.terminal_ids[-1]) for row in chosen))
        return dropped

    dropped = asyncio.run(hang_up_all())
    figures.dropped = len(dropped)
    back: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(back) < len(dropped) and time.monotonic() < deadline:
        time.sleep(0.25)
        with engine.connect() as c:
            rows = c.execute(
                select(
                    occurrence_transitions.c.occurrence_id,
                    occurrence_transitions.c.at,
                ).where(
                    occurrence_transitions.c.to_state == "live",
                    occurrence_transitions.c.occurrence_id.in_(list(dropped)),
                )
            ).all()
        for row in rows:
            at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
            if at > dropped[row.occurrence_id] and row.occurrence_id not in back:
                back[row.occurrence_id] = (at - dropped[row.occurrence_id]).total_seconds()
    figures.drop_to_back_s = distribution(list(back.values()))
    figures.not_back = len(dropped) - len(back)
    with engine.connect() as c:  # who noticed: the push ("terminal") or the reconciler
        causes = c.execute(
            select(occurrence_transitions.c.cause).where(
                occurrence_transitions.c.to_state == "degraded",
                occurrence_transitions.c.occurrence_id.in_(list(dropped)),
            )
        ).scalars()
        figures.drops_found_by = dict(Counter(causes))


class _NoDevices:
    """The planning side needs no devices (the hook only writes plans and wakes RQ)."""


# --- main -------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["worker"]:
        database_url, redis_url, name, lessons = args_list[1:5]
        reconcile_s = float(args_list[5]) if len(args_list) > 5 else 60.0
        lease_s = float(args_list[6]) if len(args_list) > 6 else 5.0
        worker_main(database_url, redis_url, name, int(lessons), reconcile_s, lease_s)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--servers", type=int, default=10, help="BBB servers in the fleet")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--answer-delay", type=float, default=0.5, help="terminal Dial→Connected")
    parser.add_argument("--sim-processes", type=int, default=3)
    parser.add_argument("--port-base", type=int, default=0, help="default: a free run")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--no-floor", action="store_true")
    parser.add_argument(
        "--faults",
        action="store_true",
        help="fault mode: per worker count, a run with a worker killed during the storm"
        " (compared with a run without) and a share of calls dropped once all are live",
    )
    parser.add_argument("--drop-share", type=float, default=0.05)
    parser.add_argument(
        "--no-push",
        action="store_true",
        help="fault runs without the terminals' push feedback (drops found by the reconciler)",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=5.0,
        help="the workers' lease, s (VKS_AUTOMATION_LEASE_SECONDS)",
    )
    parser.add_argument("--kill-after", type=float, default=1.0, help="s after the due instant")
    parser.add_argument(
        "--fault-reconcile", type=float, default=5.0, help="reconciler round of fault runs (s)"
    )
    parser.add_argument(
        "--floor-cameras-at-once",
        action="store_true",
        help="the floor moves each camera while its terminals dial (not after all are in)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--logs", type=Path, help="keep each RQ worker's log in this directory")
    args = parser.parse_args(args_list)
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    server_url = os.environ.get("VKS_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("VKS_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    needed = 100 + 3 * args.lessons
    layout = Layout(args.lessons, args.servers, args.port_base or free_port_run(needed))
    region = region_file(layout)
    runs: list[Figures] = []

    def fleet() -> Fleet:
        nonlocal layout, region
        if not args.port_base:  # ports may have been taken since the last run
            layout = Layout(args.lessons, args.servers, free_port_run(needed))
            region = region_file(layout)
        return start_fleet(region, args.sim_processes, args.latency_ms, args.answer_delay)

    if not args.no_floor:
        sims = fleet()
        try:
            runs.append(
                asyncio.run(
                    floor_run(region, layout, 0.25, args.timeout, not args.floor_cameras_at_once)
                )
            )
        finally:
            sims.stop()
        report(runs[-1])
    for n in [int(w) for w in args.workers.split(",") if w]:
        faulty: list[dict[str, Any]] = [{}]
        if args.faults:
            common = {
                "reconcile_s": args.fault_reconcile,
                "push": not args.no_push,
                "lease_s": args.lease,
            }
            faulty = [
                {**common, "drop_share": args.drop_share},
                {**common, "kill_after_s": args.kill_after},
            ]
            if n < 2:
                faulty = faulty[:1]  # killing the only worker stops everything: not a fault
        for options in faulty:
            sims = fleet()
            try:
                runs.append(
                    rq_run(
                        n,
                        layout,
                        region,
                        server_url,
                        redis_url,
                        args.timeout,
                        logs=args.logs,
                        **options,
                    )
                )
            finally:
                sims.stop()
            report(runs[-1])
    floor = runs[0] if not args.no_floor else None
    summary = judge(runs, floor)
    print(json.dumps(summary["verdict"], indent=2, ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "bell_storm",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "setup": {
                    "lessons": args.lessons,
                    "terminals_per_lesson": 2,
                    "cameras_per_lesson": 1,
                    "servers": args.servers,
                    "device_latency_ms": args.latency_ms,
                    "terminal_answer_delay_s": args.answer_delay,
                    "simulator_processes": args.sim_processes,
                    "presence_poll_s": 0.25,
                },
                "runs": [asdict(r) for r in runs],
                **summary,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written {args.out}")
    return 0


def report(f: Figures) -> None:
    late = f.lateness_s
    print(
        f"{f.label:28s} live {f.live}/{f.lessons}  degraded {f.degraded}  failed {f.failed}  "
        f"rooms {f.rooms_created}  double rooms {f.double_rooms}  double starts {f.double_starts}  "
        f"lateness p50 {late.get('p50')} p90 {late.get('p90')} p99 {late.get('p99')} "
        f"max {late.get('max')} s",
        flush=True,
    )
    if f.dropped:
        back = f.drop_to_back_s
        print(
            f"    {f.dropped} calls dropped: back in p50 {back.get('p50')} p90 {back.get('p90')}"
            f" max {back.get('max')} s, not back {f.not_back}; found by {f.drops_found_by}",
            flush=True,
        )
    for note in f.notes[:5]:
        print(f"    {note}")


def judge(runs: list[Figures], floor: Figures | None) -> dict[str, Any]:
    verdict: dict[str, Any] = {}
    floor_s = floor.all_live_s if floor is not None else None
    for r in runs:
        if r is floor:
            continue
        ratio = round(r.all_live_s / floor_s, 2) if r.all_live_s and floor_s else None
        verdict[r.label] = {
            "all_live_s": r.all_live_s,
            "floor_s": floor_s,
            "ratio_to_floor": ratio,
            "within_60_s": r.all_live_s is not None and r.all_live_s <= 60,
            "within_1_5x_floor": ratio is not None and ratio <= 1.5,
            "no_lesson_lost": r.live == r.lessons,
            "no_double_room": r.double_rooms == 0 and r.double_starts == 0,
        }
    for r in runs:
        if r.dropped:
            p50 = r.drop_to_back_s.get("p50")
            verdict[r.label]["drop_to_back_median_within_5_s"] = p50 is not None and p50 <= 5
            verdict[r.label]["every_drop_back"] = r.not_back == 0
        if r.killed_worker_after_s is not None:
            calm = next(
                (
                    x
                    for x in runs
                    if x.workers == r.workers and x.killed_worker_after_s is None and x is not r
                ),
                None,
            )
            mine, theirs = r.lateness_s.get("max"), calm.lateness_s.get("max") if calm else None
            verdict[r.label]["max_lateness_vs_without_kill_s"] = (
                round(mine - theirs, 3) if mine is not None and theirs is not None else None
            )
            verdict[r.label]["kill_costs_at_most_5_s"] = (
                mine is not None and theirs is not None and mine - theirs <= 5
            )
    return {"verdict": verdict}


if __name__ == "__main__":
    sys.exit(main())
