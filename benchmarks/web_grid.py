"""Benchmark: the timetable grid of a network for one week on a large region.

The region of `benchmarks/booking.py` (10,000 terminals in networks of 50 schools with two
terminals each, the last fifth of the municipalities in Moscow time, 1,000,000 occurrences
of weekly lessons; `--quick`: a tenth), on PostgreSQL (schema `bench_grid` of the database
`vks_bench`) or SQLite. Measures, as medians (and p99) of many runs, each against a
baseline measured in the same run (a calibration loop before and after):

1. service: `booking.services.week_grid.week_grid` of one network (100 terminals, 7 days,
   7 lessons a day) — the rules and the queries, no HTTP;
2. json:    `GET /api/v1/grid?network=…&week=…` through the app in process (httpx's ASGI
   transport): the service, the answer's model and its JSON;
3. page:    `GET /grid?network=…&week=…` — the web page the server renders (template,
   translations), through the same transport with a logged-in session, when the web
   interface is installed; `page_by_school`: the same with a row per school (50 rows).

Target: the page rendered in ≤ 100 ms median (issue 16). Each figure also gives this
process's CPU time per request (the app runs in it), which another job's load on the
machine disturbs far less than the wall time.

    .venv/bin/python benchmarks/web_grid.py [--db postgres|sqlite] [--quick] [--runs N]

Prints the figures and writes benchmarks/results/web_grid.json.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "web_grid.json"
WEEK = date(2026, 10, 12)  # a full study week of the first quarter
NOW = datetime(2026, 8, 25, 3, 0, tzinfo=UTC)
TARGET_PAGE_MEDIAN_MS = 100


def region_tools() -> ModuleType:
    """The large region of the booking benchmark (its builder, loader and figures)."""
    spec = importlib.util.spec_from_file_location(
        "bench_booking", ROOT / "benchmarks" / "booking.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_booking"] = module
    spec.loader.exec_module(module)
    return module


class FixedClock:
    def now(self) -> datetime:
        return NOW


def measure(bench: ModuleType, url: str, engine: Any, network_id: str, runs: int) -> dict[str, Any]:
    from booking.services.week_grid import week_grid
    from vks.api.app import create_app
    from vks.bootstrap import build_container
    from vks.settings import Settings

    figures: dict[str, Any] = {"network": network_id, "runs": runs}

    def service(_: int) -> None:
        grid = week_grid(
            bench.uow(engine, read_only=True), bench.RCC, network_id=network_id, week=WEEK, now=NOW
        )
        assert len(grid.rows) == 100, len(grid.rows)

    figures["calibration_before"] = bench.calibration(engine)
    figures["service"] = bench.timed(runs, service)
    cpu_started = time.process_time()
    for i in range(runs):
        service(i)
    figures["service"]["cpu_median_ms_approx"] = round(
        (time.process_time() - cpu_started) / runs * 1000, 2
    )
    grid = week_grid(bench.uow(engine), bench.RCC, network_id=network_id, week=WEEK, now=NOW)
    cells = [c for r in grid.rows for d in r.days for c in d.cells]
    figures["cells"] = len(cells)
    figures["busy_cells"] = sum(1 for c in cells if c.state == "busy")

    settings = Settings(
        database_url=url,
        secret_key="benchmark-hmac-key-of-32-bytes-at-least",
        hold_sweep_seconds=0,
        data_dir=Path(tempfile.mkdtemp(prefix="vks-grid-bench-")),
    )
    container = build_container(settings, clock=FixedClock(), engine=engine)
    app = create_app(container=container)
    token = container.tokens.issue(bench.RCC, now=NOW, ttl=timedelta(hours=4)).value

    async def run() -> None:
        import httpx

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def series(call: Callable[[], Awaitable[None]]) -> dict[str, Any]:
                """Wall time, and this process's CPU time (the app runs here: what the
                server spends, less sensitive to other jobs on the machine)."""
                for _ in range(5):
                    await call()
                samples, cpu = [], []
                for _ in range(runs):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    await call()
                    samples.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
                figures: dict[str, Any] = bench.summary(samples)
                figures["cpu_median_ms"] = round(statistics.median(cpu) * 1000, 2)
                return figures

            params = {"network": network_id, "week": WEEK.isoformat(), "limit": 100}
            headers = {"Authorization": f"Bearer {token}"}

            async def json_grid() -> None:
                answer = await client.get("/api/v1/grid", params=params, headers=headers)
                assert answer.status_code == 200, answer.text

            figures["json"] = await series(json_grid)
            page = page_headers(token)
            if page is None:
                figures["page"] = {"skipped": "the web interface is not installed"}
                return

            async def render() -> None:
                answer = await client.get("/grid", params=params, headers=page)
                assert answer.status_code == 200, answer.text[:500]

            figures["page"] = await series(render)

            async def render_by_school() -> None:
                by_school = {**params, "rows": "school"}
                answer = await client.get("/grid", params=by_school, headers=page)
                assert answer.status_code == 200, answer.text[:500]

            figures["page_by_school"] = await series(render_by_school)
            answer = await client.get("/grid", params=params, headers=page)
            figures["page_bytes"] = len(answer.content)

    try:
        asyncio.run(run())
    finally:
        container.close()
    figures["calibration_after"] = bench.calibration(engine)
    return figures


def page_headers(token: str) -> dict[str, str] | None:
    """The cookie of a logged-in browser session of the RCC (the session cookie carries the
    login token), or None without the web pages."""
    try:
        from vks.web.session import SESSION_COOKIE
    except ImportError:
        return None
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--quick", action="store_true", help="a tenth of the region")
    parser.add_argument("--runs", type=int, default=0, help="runs of each figure")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "VKS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/vks_bench"
        ),
    )
    args = parser.parse_args()
    bench = region_tools()
    scale = bench.QUICK if args.quick else bench.FULL
    runs = args.runs or (30 if args.quick else 100)
    region = bench.make_region(scale.terminals)
    network_id = "net-0-0"  # Kemerovo time, 50 schools
    report: dict[str, Any] = {
        "db": args.db,
        "terminals": len(region.terminals),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "target_page_median_ms": TARGET_PAGE_MEDIAN_MS,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    from adapters.storage.engine import create_engine_for
    from adapters.storage.schema import upgrade

    with tempfile.TemporaryDirectory(prefix="vks-grid-") as tmp:
        place = (
            bench.postgres_schema(args.postgres_url, "bench_grid")
            if args.db == "postgres"
            else bench.sqlite_file(Path(tmp), "bench_grid")
        )
        with place as url:
            upgrade(url)
            engine = create_engine_for(url)
            try:
                bench.seed_region(engine, region)
                lessons = scale.occurrences // 30 + len(region.terminals)
                report["data_set"] = bench.bulk_load(
                    engine, region, lessons, "base-", max_occurrences=scale.occurrences
                )
                print(f"data set: {report['data_set']}", flush=True)
                if args.db == "postgres":
                    with engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    ) as connection:
                        from sqlalchemy import text

                        connection.execute(text("VACUUM (ANALYZE)"))
                        connection.execute(text("CHECKPOINT"))
                report["grid"] = measure(bench, url, engine, network_id, runs)
            finally:
                engine.dispose()
    for name in ("service", "json", "page", "page_by_school", "page_bytes"):
        print(f"  {name:8} {report['grid'][name]}")
    print(f"  cells    {report['grid']['cells']} ({report['grid']['busy_cells']} busy)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
