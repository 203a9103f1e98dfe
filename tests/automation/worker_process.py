"""An automation RQ worker in its own process, for the specifications:

    python -m tests.automation.worker_process DATABASE_URL REDIS_URL NAME [CONFIG_JSON]

It is `vks worker` with second-scale lead times (`tests.automation.timing.fast_config`,
overridden by CONFIG_JSON), so a test can kill it (SIGKILL) in the middle of a start."""

from __future__ import annotations

import json
import logging
import sys

from adapters.storage.engine import create_engine_for
from tests.automation.timing import fast_config
from vks.bootstrap import hardware_automation
from vks.jobs.worker import run_worker


def main() -> None:
    database_url, redis_url, name = sys.argv[1:4]
    changes = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    logging.basicConfig(level=logging.WARNING)
    engine = create_engine_for(database_url)
    automation = hardware_automation(engine, fast_config(**changes))
    run_worker(redis_url, automation, name=name)


if __name__ == "__main__":
    main()
