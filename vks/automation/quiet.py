"""onvif-zeep-async calls `logging.basicConfig(level=logging.INFO)` when it is imported,
which turns on a log line for every HTTP request of every device client in the process
(httpx logs requests at INFO) — thousands of lines, and real CPU, at a bell. This undoes
exactly that side effect: a root logger at INFO whose only handler is the one
`basicConfig` installs (stderr, the default format). A process that configured logging
itself keeps its configuration."""

from __future__ import annotations

import logging
import sys


def undo_onvif_logging_setup() -> None:
    root = logging.getLogger()
    if root.level != logging.INFO or len(root.handlers) != 1:
        return
    handler = root.handlers[0]
    fmt = getattr(handler.formatter, "_fmt", None)
    if (
        type(handler) is logging.StreamHandler
        and getattr(handler, "stream", None) is sys.stderr
        and fmt == logging.BASIC_FORMAT
    ):
        root.removeHandler(handler)
        root.setLevel(logging.WARNING)
