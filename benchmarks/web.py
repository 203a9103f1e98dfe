"""Benchmark: how long the server takes to render the web interface's pages.

Builds a region in a fresh database (SQLite by default, `--db postgres` for the test
PostgreSQL): one municipality, `--schools` schools with one terminal each, every school's
terminal booked for `--lessons` lessons today (so the RCC's Today board lists
schools × lessons rows), then renders in this process (the ASGI app through Starlette's
test client: routing, session check, services, SQL, templates; no network) and reports
the median and 90th percentile of `--repeats` renders of:

- the Today board of the whole region (the RCC operator),
- a terminal's page (30 days of uptime, changes of state, alerts),
- the equipment list of the region,
- the live board's change mark (what the event stream polls every 0.5 s).

Target: each page ≤ 100 ms median. Figures (wall and CPU time of this process, which
runs the server too) are printed with a calibration (a fixed Python loop, the load
average) and written to benchmarks/results/web.json.

    .venv/bin/python benchmarks/web.py [--schools 100] [--lessons 6] [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from booking.access import Role  # noqa: E402
from booking.bookings import Participant  # noqa: E402
from booking.services import users  # noqa: E402
from booking.users import User  # noqa: E402
from tests.builders import (  # noqa: E402
    a_school,
    a_terminal,
    a_year_around,
    book_lesson,
    seed,
    the_kemerovo_network,
    the_rcc_operator,
)
from vks.api.app import create_app  # noqa: E402
from vks.bootstrap import build_container  # noqa: E402
from vks.settings import Settings  # noqa: E402
from vks.web.board import change_mark  # noqa: E402
from vks.web.session import SESSION_COOKIE  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def calibration() -> dict[str, float]:
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i & 7
    return {
        "python_loop_3M_s": round(time.perf_counter() - started, 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def timed(call: Any, repeats: int) -> dict[str, float]:
    """Wall time, and CPU time of this process (the server runs in it: on a machine
    shared with other work, CPU time is what the render itself costs)."""
    call()  # warm: templates compiled, caches filled
    runs, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        runs.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    runs.sort()
    return {
        "median_ms": round(statistics.median(runs), 2),
        "p90_ms": round(runs[int(len(runs) * 0.9) - 1], 2),
        "cpu_median_ms": round(statistics.median(cpu), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--lessons", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vks-bench-web-") as folder:
        url = (
            f"sqlite:///{folder}/web.sqlite"
            if args.db == "sqlite"
            else os.environ.get("VKS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
        )
        settings = Settings(data_dir=Path(folder), database_url=url, hold_sweep_seconds=0,
                            secret_key="benchmark-secret-key-of-the-web-pages")  # fmt: skip
        container = build_container(settings, migrate=True)
        region, kemerovo, net = the_kemerovo_network()
        region.study_days = 7
        schools = [a_school(f"kem-school-{n}", f"МБОУ «СОШ №{n}»", net, bell_schedule_id=None)
                   for n in range(1, args.schools + 1)]  # fmt: skip
        terminals = [a_terminal(f"term-kem-{n}", s.id, "Кабинет ВКС")
                     for n, s in enumerate(schools, 1)]  # fmt: skip
        now = datetime.now(UTC)
        seed(container.uow_factory, years=[a_year_around(now.date())],
             organisations=[region, kemerovo, net, *schools], terminals=terminals)  # fmt: skip
        rcc = the_rcc_operator(region)
        users.add_user(container.uow_factory(), rcc, User(
            id=uuid.uuid4().hex[:16], username="rcc", password_hash="", role=Role.RCC_OPERATOR,
            org_id="kuzbass"))  # fmt: skip
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        started = time.perf_counter()
        for school, terminal in zip(schools, terminals, strict=True):
            for lesson in range(args.lessons):
                start = day + timedelta(hours=1 + lesson, minutes=5)
                book_lesson(container.uow_factory, rcc, title=f"Урок {lesson + 1}",
                            start=start, end=start + timedelta(minutes=40),
                            participants=[Participant(school.id, terminal.id)],
                            host_school_id=school.id, now=day - timedelta(days=1))  # fmt: skip
        booked_s = time.perf_counter() - started
        app = create_app(container=container)
        figures: dict[str, Any] = {"calibration": calibration(), "db": args.db,
                                   "schools": args.schools, "rows": args.schools * args.lessons,
                                   "booking_s": round(booked_s, 1)}  # fmt: skip
        with TestClient(app) as client:
            user = users.find_user(container.uow_factory(), "rcc")
            assert user is not None
            principal = users.principal_of(container.uow_factory(), user)
            token = container.tokens.issue(principal, now=datetime.now(UTC),
                                           ttl=timedelta(hours=1)).value  # fmt: skip
            client.cookies.set(SESSION_COOKIE, token)
            board = client.get("/today")
            assert board.status_code == 200 and board.text.count('id="occ-') == figures["rows"]

            def page(path: str) -> Any:
                return lambda: client.get(path).raise_for_status()

            figures["today_board"] = timed(page("/today"), args.repeats)
            figures["terminal_page"] = timed(page("/equipment/terminals/term-kem-1"), args.repeats)
            figures["equipment_list"] = timed(page("/equipment"), args.repeats)
            figures["change_mark"] = timed(lambda: change_mark(container), args.repeats * 10)
        container.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
