"""A database URL the service cannot use (another database, another driver, not a URL at
all) is refused by every command with one line naming the problem — exit code 2, like any
other bad input — and never a traceback; its password is not shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vks.cli import BAD_INPUT, main

COMMANDS = [
    ("serve",),
    ("worker",),
    ("monitor",),
    ("import", "kuzbass.yaml"),
    ("db", "upgrade"),
    ("demo", "--no-simulators"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_refuses_a_mysql_url_with_one_line(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    vks = Path(sys.executable).with_name("vks")

    done = subprocess.run(
        [str(vks), *command],
        capture_output=True,
        text=True,
        env={
            "VKS_DATA_DIR": str(tmp_path),
            "VKS_DATABASE_URL": "mysql://rcc:s3cret@db.kuzbass.example/vks",
            "VKS_REDIS_URL": "redis://127.0.0.1:1/0",
            "PATH": "/usr/bin:/bin",
        },
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert done.returncode == BAD_INPUT
    assert done.stderr.splitlines() == [
        "vks: VKS_DATABASE_URL: unsupported database 'mysql' in"
        " mysql://rcc:***@db.kuzbass.example/vks: use sqlite or postgresql"
    ]
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mssql+pyodbc://rcc@db/vks", "unsupported database 'mssql'"),
        ("postgresql+asyncpg://rcc@db/vks", "unsupported driver 'asyncpg'"),
        ("sqlite+aiosqlite:///data/vks.sqlite", "unsupported driver 'aiosqlite'"),
        ("db.kuzbass.example:5432/vks", "the database URL cannot be parsed"),
    ],
)
def test_other_unusable_urls_are_refused_with_the_reason(
    url: str,
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VKS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VKS_DATABASE_URL", url)

    code = main(["db", "upgrade"])

    err = capsys.readouterr().err
    assert code == BAD_INPUT
    assert len(err.splitlines()) == 1
    assert err.startswith(f"vks: VKS_DATABASE_URL: {reason}")
