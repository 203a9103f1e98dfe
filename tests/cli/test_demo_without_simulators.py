"""`vks demo` on a production install (`pip install .`, without the `sim` extra): it says
which extra to install instead of failing in the middle with a traceback, and
`--no-simulators` still runs without them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WITHOUT_PILLOW = """
import sys
sys.modules["PIL"] = None  # as on a machine without the sim extra: Pillow is not installed
from vks.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_demo_without_the_sim_extra_says_to_install_it(tmp_path: Path) -> None:
    env = {**os.environ, "VKS_DATA_DIR": str(tmp_path), "VKS_DEMO_SIM_PORT": "18996"}

    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PILLOW, "demo", "--port", "18995"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 2
    assert "pip install 'vks[sim]'" in done.stdout + done.stderr
    assert "--no-simulators" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "demo.sqlite").exists()  # refused before anything was started
