"""The `sim` extra: the packages only the simulated devices import (Pillow for the camera's
snapshots), left out of a production install (`pip install .`). `vks-sim` and `vks demo`
check for them first and say what to install instead of failing with a traceback on the
first device that needs one."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence

INSTALL = "pip install 'vks[sim]'"


def missing_module() -> str | None:
    """The first module the simulators cannot import, or None when the extra is there."""
    package = importlib.import_module("simulators")
    try:
        for module in pkgutil.walk_packages(package.__path__, "simulators."):
            importlib.import_module(module.name)
    except ImportError as exc:
        return exc.name or str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """`vks-sim`: the simulators' command, once their extra is known to be installed."""
    missing = missing_module()
    if missing is not None:
        print(
            f"vks-sim: the simulated devices need the `sim` extra (cannot import {missing}):"
            f" {INSTALL}",
            file=sys.stderr,
        )
        return 2
    from simulators.cli import main as simulate

    return simulate(argv)
