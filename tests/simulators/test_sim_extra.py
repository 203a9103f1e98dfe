"""`vks-sim` on a production install (`pip install .`, without the `sim` extra): it says
which extra to install, with no traceback (the console script of pyproject.toml, as
installed)."""

from __future__ import annotations

import subprocess
import sys

WITHOUT_PILLOW = """
import sys
from importlib.metadata import entry_points
sys.modules["PIL"] = None  # as on a machine without the sim extra: Pillow is not installed
(vks_sim,) = entry_points(group="console_scripts", name="vks-sim")
sys.exit(vks_sim.load()(sys.argv[1:]))
"""


def test_vks_sim_without_the_sim_extra_says_to_install_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PILLOW, "camera", "--port", "18989"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 2
    assert "pip install 'vks[sim]'" in done.stderr
    assert "Traceback" not in done.stderr
