"""`vks check` against the simulated Kuzbass region over loopback (tests/monitor/region.py:
«СОШ №20» with a Cisco and a Poly codec and a camera, «СОШ №7» with a codec, the RCC's
BigBlueButton server) and a second BigBlueButton server, `bbb-2`, whose secret is
`env:VKS_TEST_BBB2_SECRET` — not set — while the Poly codec of «СОШ №20» is configured with
a wrong password. The check lists exactly these two problems, each with its device, school
and what to do, and exits 1; once the variable is set and the password corrected it exits 0
(issue 20)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from adapters.storage.engine import create_engine_for
from adapters.storage.schema import upgrade
from adapters.storage.tables import terminals
from adapters.storage.unit_of_work import sql_uow_factory
from booking.resources import ConferenceServer, PlatformKind
from simulators.bbb import BbbServer
from tests.monitor.region import PASSWORD, SimRegion, start_region
from vks.cli import main

UNSET = "VKS_TEST_BBB2_SECRET"
BBB2_SECRET = "kuzbass-bbb-2-secret-0123456789"
POLY = "term-kem-20-it"


@dataclass
class Region:
    engine: Engine
    sims: SimRegion
    url: str

    def set_password(self, terminal_id: str, ref: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(terminals).where(terminals.c.id == terminal_id).values(credentials_ref=ref)
            )


@pytest.fixture
def region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str) -> Iterator[Region]:
    """The region with its two configuration faults, and the environment of `vks check`."""
    url = f"sqlite:///{tmp_path / 'vks.sqlite'}"
    upgrade(url)
    engine = create_engine_for(url)
    uow_factory = sql_uow_factory(engine)
    sims = start_region(uow_factory)
    port = sims.host.add(BbbServer("bbb-2", BBB2_SECRET, name="BBB РКЦ №2"))
    with uow_factory() as uow:
        uow.servers.add(
            ConferenceServer(
                id="bbb-2",
                kind=PlatformKind.BBB,
                name="BBB РКЦ №2",
                base_url=f"http://127.0.0.1:{port}/bigbluebutton/",
                secret_ref=f"env:{UNSET}",
                max_rooms=40,
                max_participants=400,
            )
        )
        uow.commit()
    region = Region(engine, sims, url)
    region.set_password(POLY, "inline:not-the-password")
    monkeypatch.setenv("VKS_DATABASE_URL", url)
    monkeypatch.setenv("VKS_REDIS_URL", redis_url)
    monkeypatch.setenv("VKS_CHECK_TIMEOUT_S", "2")
    monkeypatch.delenv(UNSET, raising=False)
    yield region
    sims.host.stop()
    engine.dispose()


def test_check_lists_exactly_the_unset_secret_and_the_wrong_password_and_exits_1(
    region: Region, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["ok"] is False
    assert report["checked"] == {"terminal": 3, "camera": 1, "server": 2}
    assert [(p["kind"], p["id"], p["problem"], p["school"]) for p in report["problems"]] == [
        ("server", "bbb-2", f"secret {UNSET} not set", ""),
        ("terminal", POLY, "credentials refused", "МБОУ «СОШ №20»"),
    ]
    assert f"set {UNSET} in the service's environment" in report["problems"][0]["action"]
    assert "correct the terminal's password" in report["problems"][1]["action"]


def test_check_prints_one_line_per_problem_then_a_summary(
    region: Region, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[:2] == [
        f"server bbb-2 «BBB РКЦ №2»: secret {UNSET} not set — set {UNSET} in the service's"
        " environment (the server's shared secret), then restart vks",
        f"terminal {POLY} «Кабинет информатики», МБОУ «СОШ №20»: credentials refused —"
        " correct the terminal's password (the region file's reference or the value on the"
        " device), then restart vks",
    ]
    assert len(lines) == 3
    assert lines[2].startswith("vks check: checked 3 terminals, 1 camera, 2 servers in ")
    assert lines[2].endswith(": 2 problems")


def test_check_exits_0_once_the_secret_is_set_and_the_password_corrected(
    region: Region, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(UNSET, BBB2_SECRET)
    region.set_password(POLY, f"inline:{PASSWORD}")

    code = main(["check"])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert len(out) == 1 and out[0].endswith(": all is well")


def test_check_names_a_stale_schema_with_the_command_that_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VKS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    monkeypatch.delenv("VKS_REDIS_URL", raising=False)

    code = main(["check"])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith("database: the schema is at nothing, the code needs ")
    assert out[0].endswith("— run `vks db upgrade`")
