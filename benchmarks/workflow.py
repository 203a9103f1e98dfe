"""Benchmark: the request workflow on a region of 10,000 terminals and 1,000,000 occurrences.

On PostgreSQL (database `vks_bench`, schema `bench_workflow`, made again on every run unless
`--keep`):

1. the recurring-slot search (`booking.services.recurring_slots.recurring_free_terminals`):
   a weekly 1-hour slot over 12 weeks, across one municipality of 1,000 terminals and across
   the region's 10,000 — through the service layer and through HTTP
   (`GET /api/v1/availability/recurring`, httpx's in-process ASGI transport, and a real
   `vks serve` process on loopback: the issue's figure); median, p99;
   the baseline is the old way, one `free_terminals` call per date (12 calls);
2. approving a combined request of 200 weekly items (≈3,000 dates) in one transaction
   (`approve_combined`: 200 bookings through the booking service, their links, the states);
3. the search "from need" across 2,000 offers of every network (`search_needs`).

Targets (issue 15): 1,000 terminals ≤ 6 ms median (service) and ≤ 10 ms (HTTP); 10,000
terminals ≤ 50 ms; the approval ≤ 2 s; the search ≤ 200 ms. The region is the one of
`benchmarks/booking.py` (its builder and bulk load are reused), but with 500 schools per
municipality so that one municipality has 1,000 terminals; a calibration figure (a fixed
CPU loop, a PostgreSQL scan) is printed so runs on different machines compare.

    .venv/bin/python benchmarks/workflow.py [--quick] [--keep] [--only recurring]
        [--runs N] [--code DIR] [--answers FILE] [--out NAME] [--schema NAME]
        [--postgres-url URL]

`--quick`: 1,000 terminals, 100,000 occurrences, fewer runs. `--keep` leaves the loaded
schema for the next run and reuses one left by a previous run (loading takes minutes); on a
reused schema only the recurring-slot search is measured (the approval and the search "from
need" write their offers and bookings: they need a fresh schema). `--only recurring` skips
the other two; `--code DIR` measures another checkout of vks (an A/B baseline, e.g.
/work/base) on the same data; `--answers FILE` writes the search's answers (every terminal,
its dates and clashes) to compare two checkouts. Prints the figures and writes
benchmarks/results/workflow.json (workflow-quick.json with --quick; `--out`: another name).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(  # the checkout measured (the shared builders come from it too)
    0, sys.argv[sys.argv.index("--code") + 1] if "--code" in sys.argv else str(_HERE.parent)
)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from datetime import time as clock  # noqa: E402
from typing import Any, cast  # noqa: E402

from sqlalchemy import Engine, text  # noqa: E402

from adapters.storage.engine import create_engine_for  # noqa: E402
from adapters.storage.schema import upgrade  # noqa: E402
from adapters.storage.unit_of_work import SqlUnitOfWork  # noqa: E402
from booking.bookings import Participant, Recurrence, SessionKind  # noqa: E402
from booking.errors import BookingConflict, InvalidInput  # noqa: E402
from booking.services import availability  # noqa: E402
from booking.services.bookings import BookingRequest, create_booking  # noqa: E402
from booking.services.recurring_slots import recurring_free_terminals  # noqa: E402
from booking.services.workflow.approval import approve_combined  # noqa: E402
from booking.services.workflow.combining import assemble, submit_combined  # noqa: E402
from booking.services.workflow.need_search import search_needs  # noqa: E402
from booking.services.workflow.offers import OfferInput, create_offer  # noqa: E402
from booking.services.workflow.publishing import publish_timetable  # noqa: E402
from booking.services.workflow.school_requests import (  # noqa: E402
    ItemInput,
    RequestInput,
    create_request,
    submit_request,
)
from booking.workflow.needs import Need  # noqa: E402
from booking.workflow.offers import Offer  # noqa: E402
from booking.workflow.store import WorkflowUnitOfWork  # noqa: E402
from tests.builders import a_municipality, a_network, a_school, a_terminal, the_region  # noqa: E402


def _bench_booking() -> Any:
    """`benchmarks/booking.py` (named like the `booking` package: loaded by path)."""
    spec = importlib.util.spec_from_file_location("bench_booking", _HERE / "booking.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_booking"] = module
    spec.loader.exec_module(module)
    return module


bb = _bench_booking()
RESULTS = _HERE / "results"
RCC = bb.RCC
NOW = bb.NOW
SLOT = (clock(10, 40), clock(11, 40))  # a weekly 1-hour slot (clock times)
WEEKS_12 = (date(2026, 9, 1), date(2026, 11, 23))  # 12 weeks (autumn holidays skipped)
SUBJECTS = ["Физика", "Химия", "Биология", "Информатика", "Астрономия", "Право", "Экономика",
            "Черчение", "Литература", "Обществознание"]  # fmt: skip


@dataclass(frozen=True)
class Scale:
    terminals: int
    occurrences: int
    runs: int
    offers: int


FULL = Scale(10_000, 1_000_000, 200, 2_000)
QUICK = Scale(1_000, 100_000, 50, 2_000)


def make_region(terminal_count: int) -> Any:
    """Municipalities of 500 schools (1,000 terminals), networks of 50, two terminals per
    school; the last fifth of the municipalities in Moscow time."""
    region = bb.Region()
    orgs = region.organisations
    orgs.append(the_region())
    schools = terminal_count // 2
    municipalities = max(1, schools // 500)
    school_no = 0
    for m in range(municipalities):
        zone = bb.MOSCOW if m >= municipalities * 4 // 5 and municipalities > 1 else bb.KEMEROVO
        mun = a_municipality(f"mun-{m}", f"Муниципалитет №{m + 1}", orgs[0], tz=zone)
        orgs.append(mun)
        for n in range(10):
            net = a_network(f"net-{m}-{n}", f"Сеть №{m + 1}.{n + 1}", mun)
            orgs.append(net)
            for _ in range(50):
                if school_no >= schools:
                    break
                school = a_school(f"school-{school_no}", f"МБОУ «СОШ №{school_no + 1}»", net)
                orgs.append(school)
                for k in range(2):
                    terminal = a_terminal(
                        f"term-{school_no}-{k}", school.id,
                        control_url=f"http://10.{m}.{school_no % 250}.{k + 10}",
                    )  # fmt: skip
                    region.terminals.append(terminal)
                    region.school_of[terminal.id] = school
                school_no += 1
    region.servers.extend(
        bb.a_bbb_server(
            f"bbb-{i}", base_url=f"http://bbb-{i}.example.ru/bigbluebutton/",
            max_rooms=400, max_participants=20_000, gateway_sip_host=f"bbb-{i}.example.ru",
            gateway_ports=2_000,
        )
        for i in range(20)
    )  # fmt: skip
    return region


def summary(samples: list[float]) -> dict[str, float]:
    return cast(dict[str, float], bb.summary(samples))


def timed(runs: int, action: Any, warmup: int = 5) -> dict[str, float]:
    """Wall-time median and p99 of `runs` calls, and the process's CPU time per call (every
    thread: on a loaded machine the steadier figure to compare)."""
    started = time.process_time()
    figures = cast(dict[str, float], bb.timed(runs, action, warmup))
    figures["cpu_ms"] = round((time.process_time() - started) / (runs + warmup) * 1000, 2)
    return figures


def uow(engine: Engine, read_only: bool = False) -> WorkflowUnitOfWork:
    return SqlUnitOfWork(engine, read_only=read_only)


# --- 1. the recurring-slot search ---------------------------------------------------------------
def measure_recurring(
    engine: Engine, url: str, scale: Scale, code: Path | None = None
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    scopes = {"1000_terminals": "mun-0"}
    if scale.terminals >= 10_000:
        scopes["10000_terminals"] = "kuzbass"
    for name, org_id in scopes.items():

        def search(_: int, org_id: str = org_id) -> object:
            return recurring_free_terminals(
                uow(engine, read_only=True), RCC, weekday=1, start_time=SLOT[0],
                end_time=SLOT[1], start_date=WEEKS_12[0], end_date=WEEKS_12[1], org_id=org_id,
            )  # fmt: skip

        answer = search(0)
        figures[f"service_{name}"] = {
            **timed(scale.runs, search),
            "free": len(answer.free),  # type: ignore[attr-defined]
            "mostly_free": len(answer.mostly_free),  # type: ignore[attr-defined]
        }
    zone = bb.ZoneInfo(bb.KEMEROVO)
    tuesdays = [WEEKS_12[0] + timedelta(days=7 * w) for w in range(12)]

    def per_date(_: int) -> None:  # the baseline: one availability call per date
        for day in tuesdays:
            availability.free_terminals(
                uow(engine, read_only=True), RCC, datetime.combine(day, SLOT[0], tzinfo=zone),
                datetime.combine(day, SLOT[1], tzinfo=zone), org_id="mun-0",
            )  # fmt: skip

    figures["baseline_12_free_terminals_calls_1000_terminals"] = timed(
        max(10, scale.runs // 10), per_date, warmup=2
    )
    figures["http_1000_terminals"] = measure_http(engine, url, scale.runs)
    figures["serve_1000_terminals"] = measure_serve(engine, url, scale.runs, code)
    return figures


def measure_serve(engine: Engine, url: str, runs: int, code: Path | None) -> dict[str, Any]:
    """The municipality's search through a real `vks serve` process on loopback (as in
    production with Redis: its health monitor runs as its own process) of this checkout or
    `code`, one keep-alive client: wall time at the client, and the server's CPU per call."""
    import tempfile

    import httpx

    token = bb.server_token(url, engine)
    params = {"weekday": 1, "start_time": "10:40", "end_time": "11:40", "org_id": "mun-0",
              "from": WEEKS_12[0].isoformat(), "to": WEEKS_12[1].isoformat()}  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        bb.api_server(url, Path(tmp) / "serve.log", code=code) as (base, process),
        httpx.Client(base_url=base, headers=auth) as http,
    ):
        for _ in range(10):  # warm: the routes' schemas are built on first use
            assert http.get("/api/v1/availability/recurring", params=params).is_success
        samples = []
        cpu = bb.cpu_seconds(process.pid)
        for _ in range(runs):
            started = time.perf_counter()
            answer = http.get("/api/v1/availability/recurring", params=params)
            samples.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
        server_cpu_ms = round((bb.cpu_seconds(process.pid) - cpu) / runs * 1000, 2)
    return {**summary(samples), "server_cpu_ms": server_cpu_ms}


def measure_http(engine: Engine, url: str, runs: int) -> dict[str, Any]:
    import httpx

    from vks.api.app import create_app
    from vks.bootstrap import build_container
    from vks.settings import Settings

    settings = Settings(
        database_url=url, secret_key="benchmark-hmac-key-of-32-bytes-at-least", hold_sweep_seconds=0
    )
    container = build_container(settings, clock=bb.FixedClock(), engine=engine)
    app = create_app(container=container)
    token = container.tokens.issue(RCC, now=NOW, ttl=timedelta(hours=4)).value
    params = {"weekday": 1, "start_time": "10:40", "end_time": "11:40", "org_id": "mun-0",
              "from": WEEKS_12[0].isoformat(), "to": WEEKS_12[1].isoformat()}  # fmt: skip

    async def run() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://bench",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            samples = []
            cpu = time.process_time()
            for i in range(runs + 5):
                started = time.perf_counter()
                answer = await client.get("/api/v1/availability/recurring", params=params)
                elapsed = time.perf_counter() - started
                assert answer.status_code == 200, answer.text
                if i >= 5:
                    samples.append(elapsed)
            cpu_ms = round((time.process_time() - cpu) / (runs + 5) * 1000, 2)
            return {**summary(samples), "cpu_ms": cpu_ms}

    try:
        return asyncio.run(run())
    finally:
        container.close()


# --- 2. approving a combined request of 200 weekly items ---------------------------------------
def measure_approval(engine: Engine) -> dict[str, Any]:
    """The 50 schools of network net-0-0 each host 4 offers (terminal 0) and ask for 4 of the
    others' (terminal 1), at four clock times after the region's lessons: 200 items, every
    one free on its ~15 Wednesdays… Fridays of the first half-year."""
    network = "net-0-0"
    schools = [f"school-{i}" for i in range(50)]
    times = [(clock(15, 0), clock(15, 40)), (clock(15, 50), clock(16, 30)),
             (clock(16, 40), clock(17, 20)), (clock(17, 30), clock(18, 10))]  # fmt: skip
    offers: list[Offer] = []
    for group, (start, end) in enumerate(times):
        for s, school in enumerate(schools):
            offers.append(
                create_offer(
                    uow(engine),
                    RCC,
                    OfferInput(
                        teacher=f"Педагог {group}-{s}",
                        subject=SUBJECTS[s % 10],
                        grade=9,
                        kind=SessionKind.FULL_BROADCAST,
                        host_school_id=school,
                        host_terminal_id=f"term-{s}-0",
                        recurrence=Recurrence(
                            [s % 5],
                            date(2026, 9, 1),
                            date(2026, 12, 20),
                            start_time=start,
                            end_time=end,
                        ),
                    ),
                )
            )
    publish_timetable(
        uow(engine), RCC, network, [o.id for o in offers], starts_on=date(2026, 9, 1),
        ends_on=date(2026, 12, 20), now=NOW,
    )  # fmt: skip
    request_ids = []
    for r, school in enumerate(schools):
        items = [
            ItemInput(offers[group * 50 + (r + 25) % 50].id, "9А", 20, f"term-{r}-1")
            for group in range(4)
        ]
        made = create_request(uow(engine), RCC, RequestInput(school, items))
        request_ids.append(submit_request(uow(engine), RCC, made.id, now=NOW).id)
    combined = assemble(uow(engine), RCC, network, request_ids, now=NOW)
    submit_combined(uow(engine), RCC, combined.id, now=NOW)
    started = time.perf_counter()
    approval = approve_combined(uow(engine), RCC, combined.id, now=NOW)
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        dates = connection.execute(
            text(
                "SELECT count(*) FROM occurrences WHERE booking_id IN"
                " (SELECT booking_id FROM workflow_item_links)"
            )
        ).scalar_one()
    return {
        "items": len(approval.bookings),
        "bookings": len(set(approval.bookings.values())),
        "dates": dates,
        "seconds": round(elapsed, 3),
    }


# --- 3. the search "from need" across 2,000 offers -----------------------------------------------
def measure_need_search(engine: Engine, region: Any, scale: Scale) -> dict[str, Any]:
    networks = [o for o in region.organisations if o.kind == bb.OrgKind.NETWORK]
    schools = [o for o in region.organisations if o.kind == bb.OrgKind.SCHOOL]
    by_network: dict[str, list[Any]] = {}
    for school in schools:
        by_network.setdefault(school.parent_id or "", []).append(school)
    with uow(engine) as writing:
        for k in range(scale.offers):
            network = networks[k % len(networks)]
            host = by_network[network.id][(k // len(networks)) % len(by_network[network.id])]
            writing.workflow.offers.add(
                Offer(
                    id=f"need-offer-{k}", network_id=network.id, teacher=f"Педагог {k}",
                    subject=SUBJECTS[k % 10], grade=5 + (k // 10) % 7,
                    kind=SessionKind.FULL_BROADCAST, host_school_id=host.id,
                    host_terminal_id=f"term-{host.id.removeprefix('school-')}-0",
                    recurrence=Recurrence([k % 5], date(2026, 9, 1), date(2026, 10, 24),
                                          lesson_number=1 + k % 7),
                    places=3,
                )
            )  # fmt: skip
        writing.commit()
    seeker = schools[-1].id  # in Moscow time on the full region

    def search(_: int) -> object:
        return search_needs(uow(engine, read_only=True), RCC, seeker, Need("Физика", 9), limit=10)

    found = search(0)
    return {**timed(max(20, scale.runs // 5), search, warmup=3), "found": len(found)}  # type: ignore[arg-type]


# --- the run --------------------------------------------------------------------------------------
SCHEMA = "bench_workflow"


def add_odd_dates(engine: Engine, region: Any) -> int:
    """One-off lessons at the searched slot (Tuesdays 10:40–11:40) on one to three of the
    twelve weeks: 60 terminals of municipality 0 and 20 of the Moscow-time one are free on
    most dates rather than every one, and 10 lessons join a terminal of municipality 0 and
    one of municipality 1 (no one area's). Lessons that meet the weekly timetable or fall
    in the holidays are skipped; returns how many were booked."""
    tuesdays = [WEEKS_12[0] + timedelta(days=7 * w) for w in range(12)]
    last = len(region.terminals) // 2 - 1  # the last school: Moscow time on the full region
    picks = [([f"school-{n}"], n) for n in range(0, 60)]
    picks += [([f"school-{last - n}"], 1000 + n) for n in range(20)]
    picks += [(["school-100", f"school-{500 + n}"], 2000 + n) for n in range(10) if last > 500]
    booked = 0
    for schools, seed in picks:
        weeks = sorted({seed % 12, (seed * 5 + 3) % 12, (seed * 7 + 1) % 12})[: 1 + seed % 3]
        for week in weeks:
            request = BookingRequest(
                title=f"Разовое занятие №{seed}-{week}", kind=SessionKind.FULL_BROADCAST,
                host_school_id=schools[0], teacher="Иванова Мария Петровна",
                participants=[
                    Participant(school, f"term-{school.removeprefix('school-')}-{seed % 2}")
                    for school in schools
                ],
                on_date=tuesdays[week], start_time=SLOT[0], end_time=SLOT[1],
            )  # fmt: skip
            try:
                create_booking(uow(engine), RCC, request, now=NOW)
            except (BookingConflict, InvalidInput):  # the weekly timetable's, or a holiday
                continue
            booked += 1
    return booked


def load(engine: Engine, region: Any, scale: Scale) -> dict[str, Any]:
    bb.seed_region(engine, region)
    lessons = scale.occurrences // 30 + len(region.terminals)
    data_set = cast(
        dict[str, Any],
        bb.bulk_load(engine, region, lessons, "base-", max_occurrences=scale.occurrences),
    )
    data_set["odd_dates"] = add_odd_dates(engine, region)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_ready (at timestamptz)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE)"))
        connection.execute(text("CHECKPOINT"))
    return data_set


def write_answers(engine: Engine, path: Path) -> None:
    """Every scope's answer in full (terminal, school, dates, clashes), to compare the
    answers of two checkouts on the same data."""
    answers: dict[str, Any] = {}
    for org_id in ("mun-0", "kuzbass", "school-3", "net-0-0"):
        for name, lesson in (("clock", None), ("lesson_3", 3)):
            times = {} if lesson else {"start_time": SLOT[0], "end_time": SLOT[1]}
            answer: Any = recurring_free_terminals(
                uow(engine, read_only=True), RCC, weekday=1, lesson_number=lesson,
                start_date=WEEKS_12[0], end_date=WEEKS_12[1], org_id=org_id,
                **times,  # type: ignore[arg-type]
            )  # fmt: skip
            answers[f"{org_id}/{name}"] = {
                kind: [[f.terminal_id, f.site_id, f.dates, [d.isoformat() for d in f.clashes]]
                       for f in getattr(answer, kind)]
                for kind in ("free", "mostly_free")
            }  # fmt: skip
    path.write_text(json.dumps(answers, indent=1, sort_keys=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the region")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the loaded schema")
    parser.add_argument("--only", choices=["all", "recurring"], default="all")
    parser.add_argument("--runs", type=int, help="searches timed per figure")
    parser.add_argument("--code", help="another checkout of vks to measure (A/B)")
    parser.add_argument("--answers", type=Path, help="write the search's answers here")
    parser.add_argument("--out", help="file in benchmarks/results")
    parser.add_argument("--schema", default=SCHEMA, help="the schema of the loaded region")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("VKS_BENCH_DATABASE_URL", bb.DEFAULT_POSTGRES)
    )
    args = parser.parse_args()
    scale = QUICK if args.quick else FULL
    if args.runs:
        scale = replace(scale, runs=args.runs)
    region = make_region(scale.terminals)
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "code": args.code or str(_HERE.parent),
        "scale": scale.__dict__,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"== postgres: region of {len(region.terminals):,} terminals", flush=True)
    name = args.schema + ("_quick" if args.quick else "")
    with bb.kept_schema(args.postgres_url, name, args.keep) as (url, loaded):
        if not loaded or args.code is None:  # a kept schema gets this checkout's revisions
            upgrade(url)
        engine = create_engine_for(url)
        try:
            result["calibration"] = bb.calibration(engine)
            print(f"   calibration: {result['calibration']}", flush=True)
            if not loaded:
                result["data_set"] = load(engine, region, scale)
                print(f"   data set: {result['data_set']}", flush=True)
            bb.start_up_done()
            if args.answers:
                write_answers(engine, args.answers)
            result["recurring"] = measure_recurring(
                engine, url, scale, Path(args.code) if args.code else None
            )
            bb.show("recurring-slot search", result["recurring"])
            if args.only == "all" and loaded:
                print("   (a reused schema: the approval and the search from need not run)")
            elif args.only == "all":
                result["approval"] = measure_approval(engine)
                bb.show("approval of a combined request", result["approval"])
                result["need_search"] = measure_need_search(engine, region, scale)
                bb.show("search from need", result["need_search"])
            result["calibration_after"] = bb.calibration(engine)
            print(f"   calibration after: {result['calibration_after']}", flush=True)
        finally:
            engine.dispose()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / (args.out or ("workflow-quick.json" if args.quick else "workflow.json"))
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
