"""The automation through the API: an operator starts a lesson by hand, watches its
lifecycle, redials a terminal, moves a camera, takes a snapshot and ends it; each user
gets only the join link of their role, and only for a school of the lesson."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.access import Principal, Role
from booking.bookings import OccurrenceState
from tests.automation.conftest import database_on, wait_for
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from tests.automation.timing import fast_config
from tests.user_tokens import user_token
from vks.api.app import create_app
from vks.bootstrap import Container, build_container
from vks.jobs.assembly import attach_automation
from vks.settings import Settings

pytestmark = pytest.mark.slow  # end to end: the simulated region and a runner

SECRET = "test-secret-key-for-the-automation-api"
API = "/api/v1"

database_url = database_on(
    "sqlite", "embedded mode, as deployed: SQLite (both backends: test_embedded_runner)"
)


@pytest.fixture
def container(engine: Engine, region: SimRegion, tmp_path: Path) -> Iterator[Container]:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, hold_sweep_seconds=0)
    built = build_container(settings, engine=engine)
    stop = attach_automation(built, fast_config())
    yield built
    stop()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def headers(container: Container) -> Callable[[Role, str, str], dict[str, str]]:
    def issue(role: Role, org_id: str, path: str) -> dict[str, str]:
        principal = Principal(f"{role}-{org_id}", role, org_id, path)
        token = user_token(container, principal, now=datetime.now(UTC), ttl=timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}

    return issue


def test_an_operator_runs_a_lesson_by_hand_and_users_get_their_own_links(
    client: TestClient,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    headers: Callable[[Role, str, str], dict[str, str]],
) -> None:
    rcc = headers(Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    teacher = headers(Role.TEACHER, "kem-school-20", "kuzbass/kemerovo/kem-net-1/kem-school-20")
    coordinator12 = headers(
        Role.LOCAL_COORDINATOR, "kem-school-12", "kuzbass/kemerovo/kem-net-1/kem-school-12"
    )
    scheduler = headers(Role.SCHEDULER, "kem-net-1", "kuzbass/kemerovo/kem-net-1")
    now = datetime.now(UTC)
    _, occurrence = region.book(
        uow_factory,
        title="Физика 8 класс: давление",
        start=now + timedelta(hours=1),
        end=now + timedelta(hours=1, minutes=40),
        participants=[SCHOOL_20, SCHOOL_12],
    )
    url = f"{API}/occurrences/{occurrence}"

    assert client.post(f"{url}/start-now", headers=teacher).status_code == 403
    started = client.post(f"{url}/start-now", headers=rcc)
    assert started.status_code == 202, started.text
    assert started.json()["accepted"] is True

    def state() -> str:
        return str(client.get(f"{url}/lifecycle", headers=rcc).json()["state"])

    wait_for(lambda: state() == OccurrenceState.LIVE, timeout=8)
    lifecycle = client.get(f"{url}/lifecycle", headers=coordinator12).json()
    assert [(t["from_state"], t["to_state"], t["cause"]) for t in lifecycle["transitions"]] == [
        ("scheduled", "preparing", "start"),
        ("preparing", "live", "start"),
    ]
    assert lifecycle["room"]["platform"] == "bbb"
    assert lifecycle["plan"]["step"] == "end"

    moderator = client.get(f"{url}/room", headers=teacher).json()
    attendee = client.get(f"{url}/room", headers=coordinator12).json()
    assert moderator["role"] == "moderator" and "role=MODERATOR" in moderator["join_link"]
    assert attendee["role"] == "attendee" and "role=VIEWER" in attendee["join_link"]
    assert client.get(f"{url}/room", headers=scheduler).status_code == 403
    outsider = headers(Role.LOCAL_COORDINATOR, "kem-net-1", "kuzbass/kemerovo/kem-net-2")
    assert client.get(f"{url}/room", headers=outsider).status_code == 403

    redial = client.post(f"{url}/terminals/term-kem-12/redial", headers=rcc)
    assert redial.status_code == 200, redial.text
    moved = client.post(f"{url}/cameras/cam-kem-12/preset", headers=rcc, json={"preset": "class"})
    assert moved.status_code == 200, moved.text
    wait_for(lambda: region.cameras["cam-kem-12"].preset_at() == "class", timeout=4)
    snapshot = client.get(f"{API}/cameras/cam-kem-12/snapshot", headers=rcc)
    assert snapshot.status_code == 200
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert snapshot.content[:2] == b"\xff\xd8"
    assert client.get(f"{API}/cameras/cam-kem-12/snapshot", headers=teacher).status_code == 403

    def end_now() -> bool:  # refused while a worker holds the lesson (a redial in progress)
        ended = client.post(f"{url}/end-now", headers=rcc)
        assert ended.status_code == 202, ended.text
        return bool(ended.json()["accepted"])

    wait_for(end_now, timeout=6, every=0.3)
    wait_for(lambda: state() == OccurrenceState.ENDED, timeout=6)
    notes = [t["reason"] for t in client.get(f"{url}/lifecycle", headers=rcc).json()["transitions"]]
    assert "redialled term-kem-12" in notes
    assert "camera cam-kem-12 to preset 'class'" in notes
    assert region.meetings_of(occurrence) == []
    over = client.post(f"{url}/end-now", headers=rcc)
    assert over.status_code == 409, over.text
    assert over.json()["detail"].startswith(f"occurrence {occurrence} is already ended")


def test_an_operator_hangs_up_and_resets_a_terminal(
    client: TestClient,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    headers: Callable[[Role, str, str], dict[str, str]],
) -> None:
    rcc = headers(Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    teacher = headers(Role.TEACHER, "kem-school-12", "kuzbass/kemerovo/kem-net-1/kem-school-12")
    now = datetime.now(UTC)
    _, occurrence = region.book(
        uow_factory,
        title="Физика 8 класс: давление",
        start=now + timedelta(hours=1),
        end=now + timedelta(hours=1, minutes=40),
        participants=[SCHOOL_20, SCHOOL_12],
    )
    lesson = f"{API}/occurrences/{occurrence}"
    assert client.post(f"{lesson}/start-now", headers=rcc).status_code == 202
    wait_for(
        lambda: client.get(f"{lesson}/lifecycle", headers=rcc).json()["state"] == "live",
        timeout=8,
    )
    codec = region.terminals["term-kem-12"]
    in_room = codec.call.remote if codec.call is not None else None
    url = f"{API}/terminals/term-kem-12"

    refused = client.post(f"{url}/hang-up", headers=teacher)
    hung_up = client.post(f"{url}/hang-up", headers=rcc)
    idle = codec.call is None
    reset = client.post(f"{url}/reset", headers=rcc)

    assert refused.status_code == 403
    assert hung_up.status_code == 200, hung_up.text
    assert hung_up.json() == {
        "terminal_id": "term-kem-12",
        "operation": "hang-up",
        "hung_up": in_room,
        "in_running_lesson": True,
    }
    assert in_room is not None and idle
    assert reset.status_code == 200, reset.text
    assert reset.json()["operation"] == "reset"


def test_an_operator_moves_a_camera_to_a_preset_outside_any_lesson(
    client: TestClient,
    container: Container,
    region: SimRegion,
    headers: Callable[[Role, str, str], dict[str, str]],
) -> None:
    rcc = headers(Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    teacher = headers(Role.TEACHER, "kem-school-12", "kuzbass/kemerovo/kem-net-1/kem-school-12")
    url = f"{API}/cameras/cam-kem-12/preset"

    moved = client.post(url, headers=rcc, json={"preset": "board"})
    refused = client.post(url, headers=teacher, json={"preset": "class"})
    unknown = client.post(url, headers=rcc, json={"preset": "ceiling"})

    assert moved.status_code == 200, moved.text
    assert moved.json() == {"camera_id": "cam-kem-12", "operation": "camera_preset",
                            "preset": "board"}  # fmt: skip
    wait_for(lambda: region.cameras["cam-kem-12"].preset_at() == "board", timeout=4)
    assert refused.status_code == 403
    assert unknown.status_code == 422 and "teacher, board, class" in unknown.json()["detail"]
    trail = client.get(f"{API}/audit", headers=rcc).json()["items"]
    assert any(e["object_id"] == "cam-kem-12" and e["details"] == {"preset": "board"}
               for e in trail)  # fmt: skip


def test_the_camera_page_sends_the_camera_to_a_preset_for_an_operator_only(
    client: TestClient, container: Container, region: SimRegion
) -> None:
    from tests.web.conftest import csrf_of
    from vks.web.session import SESSION_COOKIE

    def signed_in(role: Role, org: str, path: str) -> str:
        token = user_token(container, Principal(f"{role}-{org}", role, org, path),
                           now=datetime.now(UTC), ttl=timedelta(hours=1))  # fmt: skip
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, token)
        return csrf_of(client.get("/equipment").text)

    token = signed_in(Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    moved = client.post("/equipment/cameras/cam-kem-12/preset",
                        data={"preset": "class", "csrf_token": token},
                        follow_redirects=False)  # fmt: skip

    assert moved.status_code == 303
    assert moved.headers["location"] == "/equipment/cameras/cam-kem-12?moved=class"
    wait_for(lambda: region.cameras["cam-kem-12"].preset_at() == "class", timeout=4)
    token = signed_in(Role.TEACHER, "kem-school-12", "kuzbass/kemerovo/kem-net-1/kem-school-12")
    refused = client.post("/equipment/cameras/cam-kem-12/preset",
                          data={"preset": "board", "csrf_token": token})  # fmt: skip
    assert refused.status_code == 403 and "rcc_operator" not in refused.text
    assert "оператор РКЦ" in refused.text  # the roles that would do, in Russian
