"""The production topology, as processes on this machine: nginx (with the proxy settings of
deploy/nginx/vks-proxy.conf) in front of two `vks serve`, two `vks worker`, one
`vks monitor`, PostgreSQL and Redis, the simulated region's devices — and what a region
needs of it: requests spread over both API processes; a lesson booked through the proxy
starts on time; an API process and a worker killed lose nothing; a flushed Redis is
repaired by the reconciler; the database connections cut answer 503 with the reason, then
the service recovers without a restart.

The tests share one topology (module scope) and run in order; each one books its own
lesson. Lead times are the settings' own, shortened (`VKS_START_LEAD_MINUTES_BY_KIND`:
the start 6 s before the lesson)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis
from rq import Worker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from adapters.storage.engine import create_engine_for
from adapters.storage.unit_of_work import sql_uow_factory
from booking.users import User
from tests.automation.conftest import database_on, wait_for
from tests.automation.region import SimRegion, start_region
from tests.builders import SIP_DOMAIN, seed
from vks.auth.tokens import Tokens
from vks.jobs.redis_queue import RqWaker, queue_for

ROOT = Path(__file__).resolve().parents[2]
PROXY_CONF = ROOT / "deploy" / "nginx" / "vks-proxy.conf"
TOPOLOGY_REDIS_DB = 9  # its own Redis database: this test flushes it
SECRET = "topology-test-secret-key-of-the-rcc-kuzbass-2026"
START_LEAD_S = 6.0
ROOMS = (1, 2, 3, 4)  # a room (terminal) per school for each test's lesson

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(240)]

database_url = database_on("postgres", "the production topology runs on PostgreSQL")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        message = "nginx is not installed (apt-get install nginx-light; .ci/run does)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@dataclass
class Topology:
    tmp: Path
    region: SimRegion
    service_url: str  # the database URL the processes use (their own application_name)
    application_name: str
    redis_url: str
    env: dict[str, str]
    api_ports: list[int] = field(default_factory=list)
    proxy_port: int = 0
    monitor_port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    token: str = ""

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("vks")), *args],
            env=self.env,
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a worker forks its scheduler
        )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL the process alone, as a crash or the OOM killer does."""
        process = self.processes[name]
        process.kill()
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.tmp.glob("*.log"))
        )

    # --- through the proxy ---
    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.proxy}/api/v1",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )

    def book(
        self, client: httpx.Client, title: str, in_s: float, room: int
    ) -> tuple[str, datetime]:
        """A lesson of two classes of «СОШ №20» and «СОШ №12», in their `room`-th
        rooms (each test its own: the lessons overlap)."""
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=in_s)
        answer = client.post(
            "/bookings",
            json={
                "title": title,
                "kind": "full_broadcast",
                "host_school_id": "kem-school-20",
                "teacher": "Иванова Мария Петровна",
                "subject": "Информатика",
                "platform": "bbb",
                "setup_minutes": 0,
                "participants": [
                    {
                        "school_id": "kem-school-20",
                        "terminal_id": f"term-kem-20-r{room}",
                        "class_name": f"{7 + room}А",
                    },
                    {
                        "school_id": "kem-school-12",
                        "terminal_id": f"term-kem-12-r{room}",
                        "class_name": f"{7 + room}Б",
                    },
                ],
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=2)).isoformat(),
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["occurrences"][0]["id"], start

    def state(self, client: httpx.Client, occurrence_id: str) -> str:
        answer = client.get(f"/occurrences/{occurrence_id}")
        return str(answer.json()["state"]) if answer.status_code == 200 else ""

    def live_by(self, client: httpx.Client, occurrence_id: str, timeout: float) -> datetime:
        wait_for(
            lambda: self.state(client, occurrence_id) == "live",
            timeout=timeout,
            every=0.2,
            explain=self.logs,
        )
        return datetime.now(UTC)

    def upstreams(self) -> list[str]:
        lines = (self.tmp / "access.log").read_text().splitlines()
        return [line.split()[-1] for line in lines]


def _nginx_conf(tmp: Path, listen: int, api_ports: list[int]) -> Path:
    servers = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;" for port in api_ports
    )
    user = "user root root;" if os.geteuid() == 0 else ""  # workers write tmp files here
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$request_method $uri $status $upstream_addr';
    access_log {tmp}/access.log upstreams;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream vks_api {{
{servers}
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{listen};
        include {PROXY_CONF};
    }}
}}
""",
        encoding="utf-8",
    )
    return conf


def _own_redis(redis_url: str) -> str:
    url = make_url(redis_url.replace("redis://", "redis+x://", 1))
    auth = f":{url.password}@" if url.password else ""
    return f"redis://{auth}{url.host}:{url.port or 6379}/{TOPOLOGY_REDIS_DB}"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def topology(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    nginx = _nginx()
    tmp = tmp_path_factory.mktemp("topology")
    engine = create_engine_for(database_url)
    uow_factory = sql_uow_factory(engine)
    region = start_region(uow_factory)
    seed(
        uow_factory,
        terminals=[
            region.host_terminal(
                f"term-kem-{school}-r{room}",
                f"kem-school-{school}",
                f"Кабинет {room}",
                sip_address=f"sip:term-kem-{school}-r{room}@{SIP_DOMAIN}",
                answer_delay_s=0.05,
            )
            for school in (20, 12)
            for room in ROOMS
        ],
    )
    own_redis = _own_redis(redis_url)
    redis = Redis.from_url(own_redis)
    redis.flushdb()
    application_name = f"vks-topology-{uuid.uuid4().hex[:8]}"
    service_url = (
        make_url(database_url)
        .update_query_dict({"application_name": application_name})
        .render_as_string(False)
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "VKS_DATA_DIR": str(tmp),
        "VKS_DATABASE_URL": service_url,
        "VKS_REDIS_URL": own_redis,
        "VKS_SECRET_KEY": SECRET,
        "VKS_PRODUCTION": "true",
        "VKS_START_LEAD_MINUTES_BY_KIND": f'{{"full_broadcast": {START_LEAD_S / 60}}}',
        "VKS_RECONCILE_SECONDS": "1",
        "VKS_AUTOMATION_LEASE_SECONDS": "3",
        "VKS_AUTOMATION_HEARTBEAT_SECONDS": "0.5",
        "VKS_MONITOR_IN_WORKER": "false",
        "VKS_POLL_INTERVAL_S": "5",
        "VKS_DEVICE_TIMEOUT_S": "2",
        "VKS_HOLD_SWEEP_SECONDS": "600",
    }
    topology = Topology(tmp, region, service_url, application_name, own_redis, env)
    rcc = region.rcc
    with uow_factory() as uow:
        uow.users.add(
            User(
                id=rcc.user_id,
                username=rcc.user_id,
                password_hash="!",
                role=rcc.role,
                org_id=rcc.org_id,
            )
        )
        uow.commit()
    topology.token = Tokens(SECRET).issue(rcc, now=datetime.now(UTC), ttl=timedelta(hours=1)).value
    try:
        topology.api_ports = [_free_port(), _free_port()]
        for n, port in enumerate(topology.api_ports, start=1):
            topology.start(f"api-{n}", "serve", "--port", str(port))
        topology.start("worker-1", "worker")
        topology.start("worker-2", "worker")
        monitor_port = topology.monitor_port = _free_port()
        topology.start("monitor", "monitor", "--port", str(monitor_port))
        topology.proxy_port = _free_port()
        conf = _nginx_conf(tmp, topology.proxy_port, topology.api_ports)
        nginx_log = (tmp / "nginx.log").open("wb")
        topology.processes["nginx"] = subprocess.Popen(
            [nginx, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-error.log"),
             "-g", "daemon off;"],
            stdout=nginx_log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

        for port in topology.api_ports:
            wait_for(
                lambda p=port: _answers(f"http://127.0.0.1:{p}/api/v1/health/live"),  # type: ignore[misc]
                timeout=60,
                every=0.3,
                explain=topology.logs,
            )
        queue = queue_for(redis)
        wait_for(
            lambda: Worker.count(connection=redis, queue=queue) >= 2,
            timeout=60,
            every=0.3,
            explain=topology.logs,
        )
        wait_for(
            lambda: _answers(f"http://127.0.0.1:{monitor_port}/metrics"),
            timeout=60,
            every=0.3,
            explain=topology.logs,
        )
        time.sleep(2.0)  # the workers warm their device clients up before the first job
        yield topology
    finally:
        topology.stop_all()
        region.host.stop()
        redis.flushdb()
        redis.close()
        engine.dispose()


@pytest.fixture(scope="module")
def client(topology: Topology) -> Iterator[httpx.Client]:
    with topology.http() as c:
        yield c


def test_requests_are_spread_over_both_api_processes(topology: Topology) -> None:
    answers = [httpx.get(f"{topology.proxy}/api/v1/health/live") for _ in range(20)]

    assert {a.status_code for a in answers} == {200}
    served_by = {u for u in topology.upstreams() if u != "-"}
    assert served_by == {f"127.0.0.1:{port}" for port in topology.api_ports}


def test_the_monitor_counts_both_workers_for_prometheus(topology: Topology) -> None:
    scrape = httpx.get(f"http://127.0.0.1:{topology.monitor_port}/metrics", timeout=10)

    workers = [line for line in scrape.text.splitlines() if line.startswith("vks_workers ")]

    assert workers == ["vks_workers 2.0"]


def test_a_lesson_booked_through_the_proxy_starts_on_time(
    topology: Topology, client: httpx.Client
) -> None:
    occurrence, start = topology.book(client, "Информатика 8 класс: циклы", in_s=12, room=1)

    live_at = topology.live_by(client, occurrence, timeout=25)

    assert live_at <= start
    assert len(topology.region.meetings_of(occurrence)) == 1


def test_an_api_process_and_a_worker_killed_lose_nothing(
    topology: Topology, client: httpx.Client
) -> None:
    topology.kill("api-1")
    topology.kill("worker-1")  # its scheduler child goes with it (vks/jobs/worker.py)

    occurrence, start = topology.book(client, "Физика 9 класс: законы Ньютона", in_s=12, room=2)
    reads = [client.get(f"/occurrences/{occurrence}").status_code for _ in range(20)]
    live_at = topology.live_by(client, occurrence, timeout=30)

    assert reads == [200] * 20  # the proxy passed each request on to the living process
    assert live_at <= start + timedelta(seconds=5)  # at worst a lease late (3 s)
    assert len(topology.region.meetings_of(occurrence)) == 1
    orphans = subprocess.run(
        ["pgrep", "-g", str(topology.processes["worker-1"].pid)], capture_output=True
    )
    assert orphans.stdout == b""  # no scheduler child left behind


def test_a_flushed_redis_is_repaired_by_the_reconciler(
    topology: Topology, client: httpx.Client
) -> None:
    redis = Redis.from_url(topology.redis_url)
    waker = RqWaker(queue_for(redis))
    occurrence, start = topology.book(client, "Химия 10 класс: растворы", in_s=14, room=3)
    wait_for(lambda: waker.scheduled_count() >= 1, timeout=5)

    redis.flushdb()
    assert waker.scheduled_count() == 0
    wait_for(lambda: waker.scheduled_count() >= 1, timeout=10, explain=topology.logs)
    live_at = topology.live_by(client, occurrence, timeout=30)
    redis.close()

    assert live_at <= start + timedelta(seconds=3)
    assert len(topology.region.meetings_of(occurrence)) == 1


def test_the_database_connections_cut_answer_503_with_the_reason_then_recover(
    topology: Topology, client: httpx.Client
) -> None:
    admin = create_engine(make_url(topology.service_url).set(query={}))
    with admin.begin() as connection:
        cut = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :name"
            ),
            {"name": topology.application_name},
        ).scalar_one()
    admin.dispose()

    answers = [client.get("/terminals") for _ in range(6)]
    refused = [a for a in answers if a.status_code == 503]
    recovered = wait_for(
        lambda: all(client.get("/terminals").status_code == 200 for _ in range(4)), timeout=10
    )

    assert cut >= 2  # the API processes', the worker's and the monitor's pools
    assert refused, [a.status_code for a in answers]
    problem: dict[str, Any] = refused[0].json()
    assert refused[0].headers["content-type"] == "application/problem+json"
    assert problem["code"] == "service_unavailable"
    assert "database connection was lost" in problem["detail"]
    assert {a.status_code for a in answers} <= {200, 503}
    assert recovered
    occurrence, start = topology.book(client, "История 11 класс: Смутное время", in_s=12, room=4)
    assert topology.live_by(client, occurrence, timeout=25) <= start
