"""`vks-sim` as a user runs it: a subprocess that prints where it listens, serves until
interrupted, and explains bad input without a traceback."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ENTRY = Path(sys.executable).parent / "vks-sim"
COMMAND = [str(ENTRY)] if ENTRY.exists() else [sys.executable, "-m", "simulators.cli"]


def run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def start(processes: list[subprocess.Popen[str]], *args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    processes.append(process)
    assert process.stdout is not None
    banner = process.stdout.readline()
    assert banner, process.stderr.read() if process.stderr else "no output"
    return process, banner


def test_terminal_command_serves_until_interrupted(started):
    process, banner = start(
        started,
        "terminal",
        "--port",
        "0",
        "--user",
        "admin",
        "--password",
        "secret",
        "--id",
        "term-kem-20",
    )

    url = re.search(r"listening on (http://[\d.]+:\d+)", banner).group(1)
    status = httpx.get(f"{url}/getxml?location=/Status/Standby", auth=("admin", "secret"))
    refused = httpx.get(f"{url}/getxml?location=/Status/Standby", auth=("admin", "wrong"))
    process.send_signal(signal.SIGINT)

    assert "terminal 'term-kem-20'" in banner
    assert status.status_code == 200 and "<State>Off</State>" in status.text
    assert refused.status_code == 401
    assert process.wait(timeout=10) == 0
    assert "Traceback" not in process.stderr.read()


def test_fault_flags_apply_at_start(started):
    _, banner = start(
        started, "bbb", "--port", "0", "--secret", "SECRET", "--auth-failure", "--latency-ms", "50"
    )
    url = re.search(r"listening on (http://[\d.]+:\d+)", banner).group(1)

    faults = httpx.get(f"{url}/_sim/faults").json()

    assert faults["auth_failure"] is True and faults["latency_ms"] == 50


def test_missing_region_file_is_explained():
    result = run("fleet", "/nonexistent/region.yaml")

    assert result.returncode == 2
    assert "vks-sim: error: region file not found: /nonexistent/region.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_explained():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = run("jitsi", "--port", str(port), "--secret", "SECRET")

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_commands_and_fault_flags():
    top = run("--help")
    camera = run("camera", "--help")

    assert top.returncode == 0
    for command in ("camera", "terminal", "bbb", "jitsi", "fleet"):
        assert command in top.stdout
    for flag in (
        "--offline",
        "--latency-ms",
        "--flapping-period",
        "--auth-failure",
        "--error-rate",
        "--at-capacity",
        "--clock-skew",
        "--drop-call-after",
        "--control-port",
    ):
        assert flag in camera.stdout
