"""The `vks` command: imports are all or nothing with a row-level report (exit code 2 on
bad input, never a traceback), tokens and users, the database upgrade.

Imports run on SQLite and PostgreSQL (`database_url` of tests/conftest.py). The
timetable specifications generate a small region whose academic year surrounds today,
because the command uses the real clock."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from booking.access import Principal, Role
from booking.errors import NotAuthenticated
from booking.services import bookings, inventory, sessions, users
from booking.services.region import find_region
from tests.conftest import empty_tables
from vks.auth.passwords import Passwords
from vks.auth.tokens import Tokens
from vks.bootstrap import Container, build_container
from vks.cli import main
from vks.demo import REGION_FILE
from vks.settings import Settings

SECRET = "cli-test-secret-key-of-the-kuzbass-rcc"
RCC = Principal("test", Role.RCC_OPERATOR, "kuzbass", "kuzbass")


@pytest.fixture
def database(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Container]:
    """An empty migrated database the command works on (through VKS_* variables), and a
    container to look at it."""
    empty_tables(engine)
    monkeypatch.setenv("VKS_DATABASE_URL", database_url)
    monkeypatch.setenv("VKS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VKS_SECRET_KEY", SECRET)
    container = build_container(Settings(database_url=database_url), engine=engine)
    yield container


def organisation_count(container: Container) -> int:
    region = find_region(container.uow_factory())
    if region is None:
        return 0
    return len(inventory.list_organisations(container.uow_factory(), RCC, limit=1000))


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- region files -----------------------------------------------------------------------------
def test_the_demo_region_imports_and_a_second_import_changes_nothing(
    database: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run("import", str(REGION_FILE), capsys=capsys)

    assert code == 0
    assert "39 organisations created" in out
    assert "36 terminals created" in out
    assert organisation_count(database) == 39

    again, out, _ = run("import", str(REGION_FILE), capsys=capsys)

    assert again == 0
    assert "39 organisations unchanged" in out and "created" not in out


def broken_region(tmp_path: Path) -> Path:
    data = yaml.safe_load(REGION_FILE.read_text(encoding="utf-8"))
    data["schools"][3]["municipality"] = "nowhere"  # kem-school-41
    data["schools"][5]["time_zone"] = "Asia/Kemerovo"  # kem-school-85: not a tz name
    data["terminals"][2]["control_url"] = "ftp://127.0.0.1:18003"
    data["cameras"][0]["terminal"] = "term-missing"
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_bad_region_file_is_reported_row_by_row_and_nothing_is_written(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = broken_region(tmp_path)

    code, _, err = run("import", str(path), capsys=capsys)

    assert code == 2
    lines = err.splitlines()
    assert lines[0] == "vks: 9 problems found; nothing imported:"
    assert [re.sub(r"line \d+ ", "line N ", line) for line in lines[1:]] == [
        "  line N (schools kem-school-41): unknown organisation nowhere",
        "  line N (schools kem-school-85): unknown time zone 'Asia/Kemerovo'",
        "  line N (terminals term-kem-33): control_url must be an http(s) URL,"
        " got 'ftp://127.0.0.1:18003'",
        "  line N (terminals term-kem-41): depends on kem-school-41, which was refused above",
        "  line N (terminals term-kem-85): depends on kem-school-85, which was refused above",
        "  line N (cameras cam-kem-20): unknown terminal term-missing",
        "  line N (cameras cam-kem-33): depends on term-kem-33, which was refused above",
        "  line N (cameras cam-kem-41): depends on term-kem-41, which was refused above",
        "  line N (cameras cam-kem-85): depends on term-kem-85, which was refused above",
    ]
    reported = int(re.search(r"line (\d+) \(schools kem-school-41\)", err).group(1))  # type: ignore[union-attr]
    assert path.read_text(encoding="utf-8").splitlines()[reported - 1] == "- id: kem-school-41"
    assert all(line.startswith(("vks:", "  line ")) for line in lines)
    assert "Traceback" not in err
    assert organisation_count(database) == 0  # not even the good rows


def test_a_dry_run_checks_everything_and_writes_nothing(
    database: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run("import", str(REGION_FILE), "--dry-run", capsys=capsys)

    assert code == 0
    assert out.startswith("vks: would import")
    assert organisation_count(database) == 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file"),
        ("region: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_an_unreadable_file_is_refused_with_the_reason(
    database: Container,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    reason: str,
) -> None:
    path = tmp_path / "region.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    code, _, err = run("import", str(path), capsys=capsys)

    assert code == 2
    assert reason in err
    assert "Traceback" not in err


# --- CSV timetables ---------------------------------------------------------------------------
def small_region(tmp_path: Path) -> tuple[Path, date]:
    """Two schools of one network; an academic year around today (the command's clock)."""
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=30), today + timedelta(days=200)
    data: dict[str, Any] = {
        "region": {"id": "kuzbass", "name": "Кузбасс", "time_zone": "Asia/Novokuznetsk"},
        "municipalities": [
            {"id": "kemerovo", "name": "Кемеровский городской округ",
             "time_zone": "Asia/Novokuznetsk"},
        ],
        "networks": [{"id": "kem-net-20", "name": "Сеть МБОУ «СОШ №20»",
                      "municipality": "kemerovo", "base_school": "kem-school-20"}],
        "schools": [
            {"id": sid, "name": name, "municipality": "kemerovo", "network": "kem-net-20",
             "time_zone": "Asia/Novokuznetsk", "bell_schedule": "standard"}
            for sid, name in (("kem-school-20", "МБОУ «СОШ №20»"),
                              ("kem-school-12", "МБОУ «СОШ №12»"))
        ],
        "bell_schedules": [{"id": "standard", "lessons": {
            1: ["08:00", "08:40"], 2: ["08:50", "09:30"], 3: ["09:45", "10:25"]}}],
        "academic_years": [{"id": "this-year", "start": start.isoformat(),
                            "end": end.isoformat()}],
        "terminals": [
            {"id": tid, "site": site, "name": "Кабинет информатики", "vendor": "cisco_xapi",
             "sip_address": f"sip:{tid}@vks.example.ru", "control_url": "http://127.0.0.1:18001",
             "password": "env:VKS_TERM_PASSWORD"}
            for tid, site in (("term-kem-20", "kem-school-20"), ("term-kem-12", "kem-school-12"))
        ],
    }  # fmt: skip
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path, end


HEADER = "external_ref,title,host_school,teacher,owner,participants,weekdays,lesson,whole_year\n"
PHYSICS = (
    'phys-10,"Физика, 10 класс",kem-school-20,Иванова Мария Петровна,kem-net-20,'
    "kem-school-20:term-kem-20:teacher:10А; kem-school-12:term-kem-12:class:10Б,tue,3,yes\n"
)
CHEMISTRY = (
    "chem-11,Химия,kem-school-20,Петров Иван Сергеевич,kem-net-20,"
    "kem-school-20:term-kem-20,thu,2,yes\n"
)


def test_a_csv_timetable_with_bad_rows_is_reported_by_line_and_nothing_is_written(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    region, _ = small_region(tmp_path)
    assert run("import", str(region), capsys=capsys)[0] == 0
    csv = tmp_path / "timetable.csv"
    csv.write_text(
        HEADER
        + PHYSICS
        + CHEMISTRY
        + "bio-9,Биология,kem-school-20,Кудашкина Н. П.,kem-net-20,kem-school-12:term-kem-12,"
        "wed,12,yes\n"  # no 12th lesson
         + "math-9,Математика,kem-school-20,Орлов В. А.,kem-net-20,kem-school-20:term-kem-20,"
        "tue,3,yes\n",  # the same terminal and lesson as phys-10
        encoding="utf-8",
    )

    code, _, err = run("import", str(csv), capsys=capsys)

    assert code == 2
    assert "3 problems found; nothing imported" in err
    assert "timetable.csv line 4: bell schedule standard has no lesson 12" in err
    assert "timetable.csv line 5:" in err and "term-kem-20" in err
    assert "line 2:" in err and "by item 'math-9'" in err  # both sides of the clash
    assert bookings.list_bookings(database.uow_factory(), RCC) == []


def test_a_good_csv_timetable_is_booked_and_reimporting_it_changes_nothing(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    region, _ = small_region(tmp_path)
    run("import", str(region), capsys=capsys)
    csv = tmp_path / "timetable.csv"
    csv.write_text(HEADER + PHYSICS + CHEMISTRY, encoding="utf-8-sig")  # as Excel saves it

    code, out, err = run("import", str(csv), capsys=capsys)
    again, out_again, _ = run("import", str(csv), capsys=capsys)

    assert code == 0, err
    assert "2 bookings created" in out
    assert again == 0
    assert "2 bookings unchanged" in out_again
    booked = bookings.list_bookings(database.uow_factory(), RCC)
    assert {b.external_ref for b in booked} == {"phys-10", "chem-11"}
    assert {b.owner_org_id for b in booked} == {"kem-net-20"}


def test_a_csv_with_unknown_columns_is_refused(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "timetable.csv"
    csv.write_text(HEADER.replace("whole_year", "colour") + PHYSICS, encoding="utf-8")

    code, _, err = run("import", str(csv), capsys=capsys)

    assert code == 2
    assert "unknown columns: colour" in err


# --- tokens and users -------------------------------------------------------------------------
def test_a_service_token_is_printed_for_an_organisation(
    database: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    run("import", str(REGION_FILE), capsys=capsys)

    code, out, err = run(
        "token", "create", "--role", "scheduler", "--org", "kem-net-20", "--name", "расписание",
        capsys=capsys,
    )  # fmt: skip

    assert code == 0
    claims = Tokens(SECRET).verify(out.strip(), now=datetime.now(UTC))
    assert claims.principal.role == Role.SCHEDULER
    assert claims.principal.org_path == "kuzbass/kemerovo/kem-net-20"
    assert claims.principal.user_id == "svc:расписание"
    assert "valid until" in err


def test_a_service_token_is_recorded_and_revoked_by_its_jti(
    database: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    run("import", str(REGION_FILE), capsys=capsys)
    _, out, err = run("token", "create", "--role", "scheduler", "--name", "1С", capsys=capsys)
    claims = Tokens(SECRET).verify(out.strip(), now=datetime.now(UTC))
    honoured = {"scope": claims.scope, "jti": claims.jti, "now": datetime.now(UTC)}
    sessions.check_session(database.uow_factory(), claims.principal, **honoured)
    assert f"vks token revoke {claims.jti}" in err

    code, _, err = run("token", "revoke", claims.jti, capsys=capsys)

    assert code == 0
    assert f"token {claims.jti} of svc:1С revoked" in err
    with pytest.raises(NotAuthenticated, match="revoked"):
        sessions.check_session(database.uow_factory(), claims.principal, **honoured)
    unknown, _, err = run("token", "revoke", "no-such-jti", capsys=capsys)
    assert unknown == 2
    assert "unknown token no-such-jti" in err


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--role", "scheduler", "--org", "nowhere"], "unknown organisation nowhere"),
        (["--role", "viewer", "--days", "0"], "at least 1"),
    ],
)
def test_a_token_for_something_unknown_is_refused(
    database: Container, capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    run("import", str(REGION_FILE), capsys=capsys)

    code, out, err = run("token", "create", *argv, capsys=capsys)

    assert code == 2
    assert out == ""
    assert reason in err


def test_an_unknown_role_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "create", "--role", "overlord"])

    assert exited.value.code == 2
    assert "invalid choice: 'overlord'" in capsys.readouterr().err


def test_tokens_need_a_region_first(
    database: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run("token", "create", "--role", "viewer", capsys=capsys)

    assert code == 2
    assert "run `vks import REGION_FILE` first" in err


def test_a_user_is_created_with_a_password_from_the_environment(
    database: Container, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run("import", str(REGION_FILE), capsys=capsys)
    monkeypatch.setenv("NEW_PASSWORD", "пароль-координатора")

    code, out, _ = run(
        "user", "create", "--username", "kem-coord-2", "--role", "municipal_coordinator",
        "--org", "kemerovo", "--full-name", "Белова О. Н.", "--password-env", "NEW_PASSWORD",
        capsys=capsys,
    )  # fmt: skip
    weak, _, err = run(
        "user", "create", "--username", "weak", "--role", "viewer", "--org", "kemerovo",
        "--password-env", "SHORT", capsys=capsys,
    )  # fmt: skip

    assert code == 0, out
    user = users.find_user(database.uow_factory(), "kem-coord-2")
    assert user is not None and user.full_name == "Белова О. Н."
    assert Passwords().verify(user.password_hash, "пароль-координатора")
    assert weak == 2
    assert "SHORT is not set" in err


def test_db_upgrade_creates_a_fresh_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VKS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VKS_DATABASE_URL", raising=False)

    code, out, _ = run("db", "upgrade", capsys=capsys)

    assert code == 0
    assert "up to date" in out
    assert (tmp_path / "data" / "vks.sqlite").is_file()


def test_the_installed_command_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    vks = Path(sys.executable).with_name("vks")

    done = subprocess.run(
        [str(vks), "import", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        env={"VKS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.strip() == f"vks: {tmp_path / 'missing.yaml'}: no such file"


def test_serve_answers_on_a_fresh_sqlite_database_and_stops_on_sigterm(tmp_path: Path) -> None:
    import signal
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    vks = Path(sys.executable).with_name("vks")
    env = {"VKS_DATA_DIR": str(tmp_path), "VKS_SECRET_KEY": SECRET, "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [str(vks), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "vks serve did not answer"
                time.sleep(0.1)
        unauthorised = httpx.get(f"http://127.0.0.1:{port}/api/v1/bookings")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)

    assert health.json() == {  # embedded mode: the database, and the devices (none yet)
        "status": "ok",
        "reason": "",
        "dependencies": {
            "database": {"status": "ok", "detail": ""},
            "devices": {"status": "ok", "detail": "0 devices"},
        },
    }
    assert unauthorised.status_code == 401
    assert (tmp_path / "vks.sqlite").is_file()  # the schema was created on the spot
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in err
    assert "Traceback" not in err


def test_the_demo_refuses_to_serve_on_the_simulators_fault_control_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VKS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VKS_DEMO_SIM_PORT", "18998")

    code, out, err = run("demo", "--port", "18998", capsys=capsys)

    assert code == 2
    assert "port 18998 is the simulators' fault control" in out + err
    assert not (tmp_path / "demo.sqlite").exists()  # nothing was started
