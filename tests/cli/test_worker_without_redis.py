"""`vks worker` with Redis unreachable says so in one line and exits 1 (the service could
not do it), without a traceback — the supervisor restarts it; the password in the URL is
not shown."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from vks.cli import FAILED


def test_the_worker_exits_1_with_one_line_when_redis_does_not_answer(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    vks = Path(sys.executable).with_name("vks")

    done = subprocess.run(
        [str(vks), "worker"],
        capture_output=True,
        text=True,
        env={
            "VKS_DATA_DIR": str(tmp_path),
            "VKS_REDIS_URL": f"redis://:s3cret@127.0.0.1:{port}/0",
            "PATH": "/usr/bin:/bin",
        },
        timeout=60,
        check=False,
    )

    assert done.returncode == FAILED
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"vks: Redis at redis://:***@127.0.0.1:{port}/0 does not answer (")
    assert "Connection refused" in lines[0]
    assert lines[0].endswith("the worker needs it; start Redis or correct VKS_REDIS_URL")
