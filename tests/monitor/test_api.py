"""The monitor through the service's API: device states with filters, history and uptime,
lessons at risk, alerts and their acknowledgement, the `/metrics` scrape, and push
feedback — the app of `vks serve` with the monitor attached in-process (embedded mode)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from adapters.storage.health import SqlHealthStore
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.access import Principal, Role
from booking.health import DeviceKind, HealthState
from tests.monitor.conftest import fast_config
from tests.monitor.region import SimRegion
from tests.user_tokens import user_token
from vks.api.app import create_app
from vks.bootstrap import Container, build_container
from vks.monitor.push import push_token
from vks.monitor.wiring import attach_monitor
from vks.settings import Settings

T = TypeVar("T")
SECRET = "test-secret-key-of-the-kuzbass-rcc-monitor"
NVKZ = "term-nvkz-7"
RCC = Principal("rcc-operator", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
SCHOOL_20 = Principal(
    "coordinator-20",
    Role.LOCAL_COORDINATOR,
    "kem-school-20",
    "kuzbass/kemerovo/kem-net-1/kem-school-20",
)


def wait_for(check: Callable[[], T | None], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def container(sqlite_engine: Engine, region: SimRegion) -> Container:
    settings = Settings(
        database_url=sqlite_engine.url.render_as_string(False),
        secret_key=SECRET,
        hold_sweep_seconds=0,
    )
    return build_container(settings, engine=sqlite_engine)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    app = create_app(container=container)
    stop = attach_monitor(app, container, config=fast_config())
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        stop()


def auth(container: Container, principal: Principal = RCC) -> dict[str, str]:
    token = user_token(container, principal, now=datetime.now(UTC), ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(d["id"] for d in response.json()["items"])


def all_polled(store: SqlHealthStore) -> bool:
    return len(store.states()) == 5


def test_device_states_with_filters_history_and_uptime(
    client: TestClient, container: Container, store: SqlHealthStore, region: SimRegion
) -> None:
    wait_for(lambda: all_polled(store))
    region.terminals[NVKZ].faults.update({"offline": True})
    wait_for(lambda: store.states()[(DeviceKind.TERMINAL, NVKZ)].state is HealthState.DOWN)
    headers = auth(container)

    every = client.get("/api/v1/monitor/devices", headers=headers)
    down = client.get("/api/v1/monitor/devices?state=down", headers=headers)
    kemerovo = client.get("/api/v1/monitor/devices?municipality=kemerovo", headers=headers)
    cameras = client.get("/api/v1/monitor/devices?network=kem-net-1&kind=camera", headers=headers)
    school7 = client.get("/api/v1/monitor/devices?site=nvkz-school-7", headers=headers)
    unknown_site = client.get("/api/v1/monitor/devices?site=kem-school-99", headers=headers)
    history = client.get(f"/api/v1/monitor/devices/terminal/{NVKZ}/history", headers=headers)
    detail = wait_for(
        lambda: (
            (r := client.get(f"/api/v1/monitor/devices/terminal/{NVKZ}", headers=headers)).json()[
                "today"
            ]["down_s"]
            > 0
            and r
        )
    )

    assert ids(every) == [
        "bbb-1",
        "cam-kem-20-hall",
        "term-kem-20-hall",
        "term-kem-20-it",
        NVKZ,
    ]
    assert ids(down) == [NVKZ]
    assert ids(kemerovo) == ["cam-kem-20-hall", "term-kem-20-hall", "term-kem-20-it"]
    assert ids(cameras) == ["cam-kem-20-hall"]
    assert ids(school7) == [NVKZ]
    assert unknown_site.status_code == 404
    assert [(t["from_state"], t["to_state"], t["cause"]) for t in history.json()["items"]] == [
        ("ok", "down", "connection refused"),
        ("unknown", "ok", "ok"),
    ]
    body = detail.json()
    assert (body["state"], body["site_name"], body["cause"]) == (
        "down",
        "МБОУ «СОШ №7»",
        "connection refused",
    )
    assert body["today"]["failures"] >= 3
    assert body["month"]["period"] == datetime.now(ZoneInfo("Asia/Novokuznetsk")).strftime("%Y-%m")
    assert body["month"]["down_s"] >= body["today"]["down_s"]


def test_a_school_coordinator_sees_only_the_devices_of_their_school(
    client: TestClient, container: Container, store: SqlHealthStore
) -> None:
    wait_for(lambda: all_polled(store))
    headers = auth(container, SCHOOL_20)

    mine = client.get("/api/v1/monitor/devices", headers=headers)
    theirs = client.get(f"/api/v1/monitor/devices/terminal/{NVKZ}", headers=headers)
    elsewhere = client.get("/api/v1/monitor/devices?site=nvkz-school-7", headers=headers)
    anonymous = client.get("/api/v1/monitor/devices")

    assert ids(mine) == ["cam-kem-20-hall", "term-kem-20-hall", "term-kem-20-it"]
    assert theirs.status_code == 404
    assert elsewhere.json()["items"] == []
    assert anonymous.status_code == 401


def test_lessons_at_risk_and_acknowledging_an_alert_through_the_api(
    client: TestClient,
    container: Container,
    store: SqlHealthStore,
    region: SimRegion,
    sql_uow: Callable[[], SqlUnitOfWork],
) -> None:
    start = (datetime.now(UTC) + timedelta(hours=23)).replace(second=0, microsecond=0)
    occurrence_id = region.book(
        sql_uow, title="Физика 10А — СОШ №7", start=start, terminals=(NVKZ,)
    )
    wait_for(lambda: all_polled(store))
    region.terminals[NVKZ].faults.update({"offline": True})
    headers = auth(container)

    at_risk = wait_for(
        lambda: (
            (r := client.get("/api/v1/monitor/lessons/at-risk", headers=headers)).json()["items"]
            and r
        )
    )
    [alert] = wait_for(
        lambda: client.get("/api/v1/monitor/alerts?status=open", headers=headers).json()["items"]
    )
    foreign = client.post(
        f"/api/v1/monitor/alerts/{alert['id']}/ack",
        json={"note": "не наше"},
        headers=auth(container, SCHOOL_20),
    )
    acked = client.post(
        f"/api/v1/monitor/alerts/{alert['id']}/ack",
        json={"note": "Инженер выехал в СОШ №7"},
        headers=headers,
    )
    still_open = client.get("/api/v1/monitor/alerts?status=open", headers=headers)

    [lesson] = at_risk.json()["items"]
    assert lesson["occurrence_id"] == occurrence_id
    assert lesson["terminal_ids"] == [NVKZ]
    assert "terminal term-nvkz-7 «Кабинет физики», МБОУ «СОШ №7» is down" in lesson["reason"]
    assert datetime.fromisoformat(lesson["since"]) <= datetime.now(UTC)  # flagged since
    assert (alert["device_id"], alert["severity"], alert["cause"]) == (
        NVKZ,
        "down",
        "connection refused",
    )
    assert foreign.status_code == 404
    assert acked.status_code == 200, acked.text
    assert (acked.json()["status"], acked.json()["acked_by"]) == ("acknowledged", "rcc-operator")
    assert still_open.json()["items"] == []


@pytest.mark.parametrize(
    "reader",
    [
        Principal("viewer", Role.VIEWER, "kuzbass", "kuzbass"),
        Principal("teacher-7", Role.TEACHER, "nvkz-school-7", "kuzbass/novokuznetsk/nvkz-school-7"),
    ],
    ids=["viewer", "teacher"],
)
def test_read_only_roles_may_not_acknowledge_an_alert_it_stays_open_and_escalates(
    client: TestClient,
    container: Container,
    store: SqlHealthStore,
    region: SimRegion,
    reader: Principal,
) -> None:
    wait_for(lambda: all_polled(store))
    region.terminals[NVKZ].faults.update({"offline": True})
    [alert] = wait_for(
        lambda: client.get("/api/v1/monitor/alerts?status=open", headers=auth(container)).json()[
            "items"
        ]
    )

    refused = client.post(
        f"/api/v1/monitor/alerts/{alert['id']}/ack",
        json={"note": "видел"},
        headers=auth(container, reader),
    )
    still_open = client.get("/api/v1/monitor/alerts?status=open", headers=auth(container))

    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden"
    assert [a["id"] for a in still_open.json()["items"]] == [alert["id"]]


def test_metrics_scrape_in_the_prometheus_format(
    client: TestClient, store: SqlHealthStore, region: SimRegion
) -> None:
    wait_for(lambda: all_polled(store))
    region.terminals[NVKZ].faults.update({"offline": True})
    wait_for(lambda: store.states()[(DeviceKind.TERMINAL, NVKZ)].state is HealthState.DOWN)

    response = client.get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    samples = [s for f in families.values() for s in f.samples]

    def value(name: str, **labels: str) -> float:
        return next(
            s.value
            for s in samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert value("vks_devices", kind="terminal", state="down") == 1
    assert value("vks_devices", kind="terminal", state="ok") == 2
    assert value("vks_devices", kind="server", state="ok") == 1
    assert value("vks_poll_duration_seconds_count", kind="camera") > 0
    assert value("vks_polls_total", kind="terminal", outcome="down") >= 3
    assert value("vks_queue_depth", queue="vks-automation") == 0
    assert value("vks_job_failures", queue="vks-automation") == 0
    assert "vks_lessons_at_risk" in families
    assert "vks_lessons" in families
    assert value("vks_alerts_open", severity="down") == 1


def test_push_feedback_needs_the_terminal_token(client: TestClient) -> None:
    feedback = (
        '<?xml version="1.0"?><Event><CallDisconnect><CallId>3</CallId>'
        "<CauseType>RemoteDisconnect</CauseType></CallDisconnect></Event>"
    )
    url = "/api/v1/monitor/push/terminals/term-kem-20-hall"

    forged = client.post(f"{url}?token=0123456789abcdef", content=feedback)
    missing = client.post(url, content=feedback)
    accepted = client.post(
        f"{url}?token={push_token(SECRET, 'term-kem-20-hall')}",
        content=feedback,
        headers={"Content-Type": "text/xml"},
    )

    assert forged.status_code == 403
    assert missing.status_code == 403
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": True, "in_call": False}
