"""Benchmark: the reports on the region of 10,000 terminals and 1,000,000 occurrences.

The region and its year of weekly lessons are built as `benchmarks/booking.py` builds
them (its `make_region`, `seed_region` and `bulk_load`); then two months (October and
November 2026) of lesson outcomes and attendance are written for every occurrence of
those months (a mix of on-time, late, partly held, failed by cause and cancelled lessons;
pupils recorded for most classes) with the terminals' daily uptime, and measured (median
and worst of several runs, through the service layer over PostgreSQL):

1. the monthly report of one municipality (`monthly_report`) — target ≤ 500 ms;
2. the region overview for the month (`region_overview`) — target ≤ 2 s;
3. the region's XLSX (the overview rendered by `adapters.export.xlsx`) — target ≤ 5 s.

Each report first asks which lessons of the month still need an outcome (none here:
the month was settled at its first report), as it does in service. On PostgreSQL the
database is vacuumed and analysed after the writes, as autovacuum would have done.

    .venv/bin/python benchmarks/reports.py [--quick] [--db postgres|sqlite]

Prints the figures and writes benchmarks/results/reports.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import Engine, select, text  # noqa: E402

from adapters.export.xlsx import workbook  # noqa: E402
from adapters.storage.automation import SqlAutomationStore  # noqa: E402
from adapters.storage.engine import create_engine_for  # noqa: E402
from adapters.storage.health.tables import device_uptime  # noqa: E402
from adapters.storage.reports import SqlAvailability, SqlReportStore  # noqa: E402
from adapters.storage.reports.tables import report_lessons, report_school_lessons  # noqa: E402
from adapters.storage.schema import upgrade  # noqa: E402
from adapters.storage.tables import occurrences  # noqa: E402
from adapters.storage.unit_of_work import SqlUnitOfWork  # noqa: E402
from booking.access import Principal, Role  # noqa: E402
from booking.services.reports.monthly import Sources, monthly_report  # noqa: E402
from booking.services.reports.region import region_overview  # noqa: E402
from booking.services.reports.tables import tables_of  # noqa: E402
from vks.cli import start_up_done  # noqa: E402

ROOT = _HERE.parent
RESULTS = ROOT / "benchmarks" / "results" / "reports.json"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/vks_bench"
MONTHS = {
    "2026-10": (date(2026, 10, 1), date(2026, 10, 31)),
    "2026-11": (date(2026, 11, 1), date(2026, 11, 30)),
}
MONTH = "2026-11"
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
RCC = Principal("bench-rcc", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
PROFILE = "--profile" in sys.argv
TARGETS = {"monthly_ms": 500.0, "region_ms": 2000.0, "region_xlsx_ms": 5000.0}
FAILURES = ["terminal"] * 6 + ["server"] * 2 + ["nobody_joined", "automation"]
CANCELS = ["school"] * 3 + ["municipality", "rcc"]


def booking_bench() -> ModuleType:
    """benchmarks/booking.py (its region builder), loaded by path: the folder is no package."""
    spec = importlib.util.spec_from_file_location("bench_booking", _HERE / "booking.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_booking"] = module
    spec.loader.exec_module(module)
    return module


def outcome(rng: random.Random) -> tuple[str, str, int]:
    roll = rng.random()
    if roll < 0.80:
        return "on_time", "", 0
    if roll < 0.87:
        return "late", "", rng.randint(90, 900)
    if roll < 0.91:
        return "partial", "", rng.randint(0, 300)
    if roll < 0.95:
        return "failed", rng.choice(FAILURES), 0
    return "cancelled", rng.choice(CANCELS), 0


def write_month_of_outcomes(engine: Engine, bench: ModuleType, region: Any) -> dict[str, int]:
    """Outcomes and attendance for every occurrence of October and November."""
    rng = random.Random(17)
    paths = {o.id: o.path for o in region.organisations}
    school_of = {t: s.id for t, s in region.school_of.items()}
    o = occurrences.c
    counts = {"lessons": 0, "school_rows": 0}
    for month, (first, last) in MONTHS.items():
        with engine.connect() as c:
            rows = c.execute(
                select(o.id, o.booking_id, o.start, o.local_date, o.terminal_ids).where(
                    o.local_date >= first, o.local_date <= last
                )
            ).all()
        lessons, schools = [], []
        for occurrence_id, booking_id, start, day, terminal_ids in rows:
            kind, cause, late = outcome(rng)
            school = school_of[terminal_ids[0]]
            online = 40 * 60
            present = 0 if kind in ("failed", "cancelled") else online - late
            missing = rng.randint(300, 1200) if kind == "partial" else 0
            lessons.append(
                {
                    "occurrence_id": occurrence_id,
                    "booking_id": booking_id,
                    "month": month,
                    "start": start,
                    "title": "Сетевой курс",
                    "subject": "Физика",
                    "teacher": f"Педагог {hash(booking_id) % 997}",
                    "host_school_id": school,
                    "kind": kind,
                    "cause": cause,
                    "reason": "",
                    "late_s": late,
                    "online_s": online,
                    "cancelled_by": "",
                    "cancel_lead_s": 86400 if kind == "cancelled" else None,
                    "moved_from": None,
                }
            )
            recorded = kind not in ("failed", "cancelled") and rng.random() < 0.7
            schools.append(
                {
                    "occurrence_id": occurrence_id,
                    "school_id": school,
                    "org_path": paths[school],
                    "month": month,
                    "kind": kind,
                    "cause": cause,
                    "late_s": late,
                    "missing_s": missing,
                    "present_s": max(0, present - missing),
                    "day": day,
                    "online_s": online,
                    "moved": False,
                    "pupils_present": rng.randint(8, 28) if recorded else None,
                    "pupils_absent": [],
                    "recorded_by": "u-tutor" if recorded else "",
                    "recorded_at": start + timedelta(minutes=30) if recorded else None,
                }
            )
        with engine.begin() as c:
            for i in range(0, len(lessons), 5000):
                c.execute(report_lessons.insert(), lessons[i : i + 5000])
                c.execute(report_school_lessons.insert(), schools[i : i + 5000])
        counts["lessons"] += len(lessons)
        counts["school_rows"] += len(schools)
    uptime = []
    first, last = MONTHS[MONTH]
    day = first
    while day <= last:
        for terminal in region.terminals:
            down = rng.choice([0.0] * 9 + [rng.uniform(0, 7200)])
            uptime.append(
                {
                    "kind": "terminal",
                    "device_id": terminal.id,
                    "day": day,
                    "ok_s": 86400.0 - down,
                    "degraded_s": 0.0,
                    "down_s": down,
                    "unknown_s": 0.0,
                    "polls": 1440,
                    "failures": int(down // 60),
                    "rtt_sum_ms": 0.0,
                    "rtt_max_ms": 0.0,
                }
            )
        day += timedelta(days=1)
    with engine.begin() as c:
        for i in range(0, len(uptime), 10000):
            c.execute(device_uptime.insert(), uptime[i : i + 10000])
    counts["uptime_rows"] = len(uptime)
    return counts


def timed(runs: int, action: Callable[[], object]) -> dict[str, float]:
    action()  # warm: imports, caches, the database's buffers
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 1),
        "max_ms": round(max(samples), 1),
        "runs": runs,
    }


def measure(engine: Engine, runs: int) -> dict[str, Any]:
    def sources() -> Sources:
        return Sources(
            SqlUnitOfWork(engine, read_only=True),  # type: ignore[arg-type]
            SqlAutomationStore(engine),
            SqlReportStore(engine),
            SqlAvailability(engine),
        )

    if PROFILE:
        import cProfile
        import pstats

        monthly_report(sources(), RCC, "mun-0", MONTH, now=NOW)
        for name, report in (
            ("monthly", lambda: monthly_report(sources(), RCC, "mun-0", MONTH, now=NOW)),
            ("region", lambda: region_overview(sources(), RCC, MONTH, now=NOW)),
        ):
            with cProfile.Profile() as profile:
                report()
            print(f"--- profile of the {name} report")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
    monthly = timed(runs, lambda: monthly_report(sources(), RCC, "mun-0", MONTH, now=NOW))
    print(f"   monthly report of one municipality: {monthly}", flush=True)
    region = timed(max(3, runs // 3), lambda: region_overview(sources(), RCC, MONTH, now=NOW))
    print(f"   region overview: {region}", flush=True)

    def region_xlsx() -> bytes:
        return workbook(tables_of(region_overview(sources(), RCC, MONTH, now=NOW)))

    xlsx = timed(max(3, runs // 5), region_xlsx)
    print(f"   region XLSX: {xlsx}", flush=True)
    report = monthly_report(sources(), RCC, "mun-0", MONTH, now=NOW)
    return {
        "monthly": monthly,
        "region": region,
        "region_xlsx": xlsx,
        "region_xlsx_bytes": len(region_xlsx()),
        "mun_0_lessons_planned": report["totals"]["planned"],
        "met": {
            "monthly": monthly["median_ms"] <= TARGETS["monthly_ms"],
            "region": region["median_ms"] <= TARGETS["region_ms"],
            "region_xlsx": xlsx["median_ms"] <= TARGETS["region_xlsx_ms"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--quick", action="store_true", help="a tenth of the region")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="print where a report's time goes")
    args = parser.parse_args()
    bench = booking_bench()
    scale = bench.QUICK if args.quick else bench.FULL
    region = bench.make_region(scale.terminals)
    result: dict[str, Any] = {"db": args.db, "terminals": len(region.terminals)}
    with tempfile.TemporaryDirectory() as tmp:
        place = (
            bench.postgres_schema(args.postgres_url, "bench_reports")
            if args.db == "postgres"
            else bench.sqlite_file(Path(tmp), "reports")
        )
        with place as url:
            upgrade(url)
            engine = create_engine_for(url)
            try:
                result["calibration"] = bench.calibration(engine)
                bench.seed_region(engine, region)
                lessons = scale.occurrences // 30 + len(region.terminals)
                loaded = bench.bulk_load(
                    engine, region, lessons, "base-", max_occurrences=scale.occurrences
                )
                result["data_set"] = loaded
                print(
                    f"== {args.db}: {len(region.terminals):,} terminals,"
                    f" {loaded['occurrences']:,} occurrences",
                    flush=True,
                )
                started = time.perf_counter()
                result["outcomes"] = write_month_of_outcomes(engine, bench, region)
                result["outcomes"]["write_s"] = round(time.perf_counter() - started, 1)
                print(f"   outcomes and attendance: {result['outcomes']}", flush=True)
                if args.db == "postgres":  # as autovacuum has long done in service (the
                    # month's rows are weeks old): statistics and the visibility map, then
                    # the pages written out now rather than during the measurements
                    with engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    ) as connection:
                        connection.execute(text("VACUUM (ANALYZE)"))
                        connection.execute(text("CHECKPOINT"))
                start_up_done()  # as `vks serve` does: the region built above is not scanned
                result.update(measure(engine, 5 if args.quick else args.runs))
            finally:
                engine.dispose()
    result["targets"] = TARGETS
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result["met"]), f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
