"""An Idempotency-Key whose first request died with its process (`kill -9` mid-request)
is not stuck for the key's 24 hours: the claim is a lease (`idempotency_lease_seconds`),
renewed while the request runs. Within the lease a retry gets 409 with a `Retry-After`
saying when the lease runs out; after it, the retry takes the claim over, runs, and gets
the real answer — which is then replayed like any other."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from adapters.storage.engine import create_engine_for
from adapters.storage.idempotency import IdempotencyRecord
from adapters.storage.schema import upgrade
from booking.services import users
from tests.api.conftest import RCC, SECRET, FrozenClock
from tests.conftest import postgres_schema
from vks.api.idempotency import request_hash
from vks.auth.passwords import Passwords
from vks.bootstrap import Container, build_container
from vks.demo import REGION_FILE
from vks.demo.users import create_demo_users
from vks.importing.loader import import_files
from vks.settings import Settings

Auth = Callable[[str], dict[str, str]]

TERMINAL: dict[str, Any] = {
    "id": "term-kem-20-hall",
    "site_id": "kem-school-20",
    "name": "Актовый зал",
    "vendor": "cisco_xapi",
    "sip_address": "sip:term-kem-20-hall@vks.kuzbass.example.ru",
    "control_url": "http://10.42.0.120",
}
KEY = "add-terminal-kem-20-hall"


def dead_claim(container: Container, token: str, *, at: datetime) -> None:
    """The row a process leaves when it dies while serving the POST: claimed, no answer."""
    principal = container.tokens.verify(token, now=at).principal.user_id
    body = json.dumps(TERMINAL).encode()
    claim = IdempotencyRecord(
        principal=str(principal), key=KEY, method="POST", path="/api/v1/terminals",
        request_hash=request_hash("POST", "/api/v1/terminals", body),
        created_at=at, expires_at=at + timedelta(hours=24),
    )  # fmt: skip
    assert container.idempotency is not None
    assert container.idempotency.claim(claim) is None


def test_a_dead_claim_answers_409_until_its_lease_runs_out_then_the_retry_runs(
    client: TestClient, auth: Auth, container: Container, clock: FrozenClock
) -> None:
    rcc = auth("rcc")
    dead_claim(container, rcc["Authorization"].split()[1], at=clock.now())
    headers = {**rcc, "Idempotency-Key": KEY}

    clock.advance(seconds=15)
    within = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)
    clock.advance(seconds=46)  # 61 s after the claim: the 60 s lease has run out
    after = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)
    again = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)

    assert within.status_code == 409
    assert within.json()["code"] == "idempotency_request_in_progress"
    assert within.headers["retry-after"] == "45"
    assert after.status_code == 201, after.text
    assert after.json()["id"] == TERMINAL["id"]
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


def test_a_finished_request_keeps_its_answer_after_the_lease(
    client: TestClient, auth: Auth, clock: FrozenClock
) -> None:
    headers = {**auth("rcc"), "Idempotency-Key": KEY}

    first = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)
    clock.advance(minutes=10)
    retry = client.post("/api/v1/terminals", json=TERMINAL, headers=headers)

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"


# --- a real `vks serve`, killed with SIGKILL while it serves the POST ------------------------
LEASE_S = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(url: str, tmp_path: Path, name: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    vks = Path(sys.executable).with_name("vks")
    env = {
        "VKS_DATA_DIR": str(tmp_path / name),
        "VKS_DATABASE_URL": url,
        "VKS_SECRET_KEY": SECRET,
        "VKS_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_S),
        "VKS_MONITOR_PORT": str(_free_port()),
        "PATH": "/usr/bin:/bin",
    }
    process = subprocess.Popen(
        [str(vks), "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process, base
        except httpx.TransportError:
            assert process.poll() is None, "vks serve stopped"
            assert time.monotonic() < deadline, "vks serve did not answer"
            time.sleep(0.2)


@pytest.fixture
def region_on_postgres(postgres_url: str) -> Iterator[tuple[str, str]]:
    """The demo region in a PostgreSQL schema of its own, and a token of its RCC user."""
    with postgres_schema(postgres_url) as url:
        upgrade(url)
        engine = create_engine_for(url)
        container = build_container(Settings(database_url=url, secret_key=SECRET), engine=engine)
        now = datetime.now(UTC)
        import_files([REGION_FILE], container.uow_factory, now=now, policy=container.policy)
        create_demo_users(container.uow_factory, RCC, Passwords())
        user = users.find_user(container.uow_factory(), "rcc")
        assert user is not None
        principal = users.principal_of(container.uow_factory(), user)
        token = container.tokens.issue(principal, now=now, ttl=timedelta(hours=1)).value
        yield url, token
        engine.dispose()


def test_kill_9_mid_request_then_the_retry_after_the_lease_gets_the_real_answer(
    region_on_postgres: tuple[str, str], tmp_path: Path
) -> None:
    url, token = region_on_postgres
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": KEY}
    first, first_base = _serve(url, tmp_path, "first")
    second, second_base = _serve(url, tmp_path, "second")
    engine = create_engine_for(url)
    try:
        # the first process serves the POST but cannot finish it: the terminals table is
        # locked (a long migration, a backup) until it is killed
        with engine.connect() as blocker:
            blocker.execute(text("LOCK TABLE terminals IN SHARE ROW EXCLUSIVE MODE"))
            pending = subprocess.Popen(  # the client whose connection will be cut
                [sys.executable, "-c", _POST.format(url=f"{first_base}/terminals",
                                                     headers=headers, body=TERMINAL)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            _wait_for_a_blocked_insert(engine)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            blocker.rollback()
        pending.wait(timeout=30)

        with httpx.Client(timeout=30) as http:
            within = http.post(f"{second_base}/terminals", json=TERMINAL, headers=headers)
            wait = int(within.headers.get("retry-after", "0"))
            time.sleep(wait + 0.5)
            after = http.post(f"{second_base}/terminals", json=TERMINAL, headers=headers)
            origin = second_base.removesuffix("/api/v1")
            found = http.get(f"{origin}{after.headers.get('location')}", headers=headers)
            replayed = http.post(f"{second_base}/terminals", json=TERMINAL, headers=headers)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        engine.dispose()

    assert within.status_code == 409
    assert within.json()["code"] == "idempotency_request_in_progress"
    assert 1 <= wait <= LEASE_S
    assert after.status_code == 201, after.text
    assert after.headers["location"] == f"/api/v1/terminals/{quote(TERMINAL['id'])}"
    assert found.status_code == 200
    assert found.json()["name"] == "Актовый зал"
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"


_POST = """
import httpx
try:
    httpx.post({url!r}, json={body!r}, headers={headers!r}, timeout=60)
except httpx.HTTPError:
    pass
"""


def _wait_for_a_blocked_insert(engine: Any) -> None:
    deadline = time.monotonic() + 30
    with engine.connect() as watcher:
        while True:
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " WHERE NOT l.granted AND c.relname = 'terminals'"
                )
            ).scalar_one()
            watcher.rollback()
            if waiting:
                return
            assert time.monotonic() < deadline, "the POST never reached the terminals table"
            time.sleep(0.1)
