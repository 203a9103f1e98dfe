"""What `vks demo` tells a newcomer: a recorded scheduler token to post a timetable with,
what the printed times are, and that its lead times are shortened."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from booking.access import Principal, Role
from booking.services import sessions
from vks.api.app import create_app
from vks.bootstrap import build_container
from vks.demo.runner import _automation, fresh_database, load_demo
from vks.settings import Settings

RCC = Principal("op", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
SECRET = "test-secret-key-for-the-demo-of-the-rcc-kuzbass"


def test_the_demo_prints_a_recorded_scheduler_token_and_says_what_its_times_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET)
    settings = settings.model_copy(update={"database_url": fresh_database(tmp_path)})
    container = build_container(settings, migrate=True)
    try:
        load_demo(container)
        out = capsys.readouterr().out

        found = re.search(r"scheduler token of kem-net-20 .* revoke: vks token revoke (\w+)\n"
                          r"    (\S+)", out)  # fmt: skip
        assert found, out
        jti, token = found.groups()
        with TestClient(create_app(container=container)) as client:
            me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["role"] == "scheduler"
        recorded = sessions.list_tokens(container.uow_factory(), RCC, "svc:demo-scheduler")
        assert [t.id for t in recorded] == [jti]  # recorded, so revocable
        assert "this machine's local time" in out and "UTC" in out
    finally:
        container.close()


def test_the_demo_says_it_shortens_the_pre_flight_and_the_start_lead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import vks.automation.demo

    monkeypatch.setattr(vks.automation.demo, "extension", lambda container: None)

    _automation(None)  # type: ignore[arg-type]

    out = capsys.readouterr().out
    assert "pre-flight 90 s and start 30 s before a lesson" in out
    assert "VKS_PREFLIGHT_MINUTES" in out
