"""Benchmark: `vks check` over a generated fleet (`vks-sim fleet --generate N`: terminals,
cameras, BBB and Jitsi servers on consecutive ports), stored as a region in SQLite the way
benchmarks/health_poll.py stores it. Runs the command as an operator would, in a
subprocess, and prints its wall time and summary.

    .venv/bin/python benchmarks/check_fleet.py [--devices 2000] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.health_poll import fleet, store_region

VKS = Path(sys.executable).with_name("vks")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, fleet(args.devices) as f:
        url = f"sqlite:///{tmp}/vks.sqlite"
        store_region(url, f.devices)
        env = {
            **os.environ,
            "VKS_DATABASE_URL": url,
            "VKS_CHECK_CONCURRENCY": str(args.concurrency),
        }
        env.pop("VKS_REDIS_URL", None)
        started = time.monotonic()
        done = subprocess.run(
            [str(VKS), "check", "--json"], env=env, capture_output=True, text=True, check=False
        )
        wall = time.monotonic() - started
    report = json.loads(done.stdout)
    print(
        json.dumps(
            {
                "devices": args.devices,
                "concurrency": args.concurrency,
                "exit_code": done.returncode,
                "wall_s": round(wall, 2),
                "checked": report["checked"],
                "check_s": report["seconds"],
                "problems": len(report["problems"]),
                "first_problems": [p["line"] for p in report["problems"][:3]],
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
