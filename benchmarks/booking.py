"""Benchmark: booking on a region of 10,000 terminals and 1,000,000 occurrences.

On PostgreSQL (database `vks_bench`, created if absent, one schema per phase, dropped and
made again on every run) and on SQLite (files in a temporary directory), measures:

1. create one booking with the conflict check, through the service layer
   (`booking.services.bookings.create_booking` over `SqlUnitOfWork`) and through HTTP
   (`vks.api.app:create_app`, httpx's in-process ASGI transport): median and p99 — for a
   free slot (written) and for a taken one (refused with alternatives);
2. availability of every terminal of the region for one slot (`free_terminals`);
3. free lessons of one school for a week (`free_lessons`);
4. import of a timetable of 50,000 weekly lessons over the 2026/27 year (≈1.7 million
   occurrences) into an empty schema, as `vks import` does it
   (`booking.services.timetable_import.import_timetable`: every item validated and checked
   by every rule, then one bulk load), from the parsed requests to the commit;
5. the same lessons planned by the benchmark itself and written with
   `adapters.storage.timetable_load.load_timetable` (COPY on PostgreSQL): the storage's
   share of the import;
6. reads through HTTP against one real `vks serve` process on loopback (its own
   subprocess, Redis mode so no embedded monitor polls the 10,000 fake terminals): one page
   of bookings (the first, and one at a random offset), a school's iCal feed for a quarter
   (median and p99 of one client), each kind of the mix alone (one client), and a
   mixed-read load of 20 concurrent clients (requests/s, p50/p99, the server's CPU per
   request; `--profile` records where the server's time goes with py-spy).

The 1,000,000 occurrences of phases 1–3 are loaded with the path of 5 (timed too).
Targets: create p99 ≤ 10 ms (service layer, PostgreSQL); availability ≤ 50 ms;
import ≤ 60 s; a page of bookings and a school's quarter feed ≤ 20 ms median through HTTP;
the mixed reads ≥ 500 requests/s per API process. A calibration figure (a fixed CPU loop
and a PostgreSQL scan) is printed so results from different machines can be compared.

    .venv/bin/python benchmarks/booking.py [--db postgres|sqlite|both] [--quick]
                                           [--only reads]

`--only reads` loads the region and measures phase 6 only (the reads of issue 12).

`--peer-shape` (issue 19) measures instead the data shape on which Indico's room booking
was compared: 1,000 terminals, 8,300 weekly series × 12 weeks (99,600 occurrences, 1-hour
lessons 08:00–16:00 Monday–Friday) on PostgreSQL, and four operations — a single create,
a weekly ×12 create, an exact collision refused with alternatives, the free terminals of
the region for one slot — through the service layer, in-process ASGI and a real
`vks serve` on loopback with its automation and health monitor on (embedded mode; the
terminals' addresses refuse connections, so the monitor polls and alerts as for a dead
fleet). Medians, p95 and the CPU time per operation: of the measuring process for the
in-process layers, of every thread of the server (Linux schedstat, nanoseconds) for
`vks serve` — on a loaded machine CPU time is the steadier figure. `--baseline DIR` runs
another checkout (e.g. `git worktree add /tmp/base main`) interleaved with this one —
worker processes alternating round by round, two servers alternating request by
request — and prints the ratios this ÷ baseline. The servers run without their own access
log, as `deploy/` runs them behind nginx (`--serve-access-log` turns it on). Written to
benchmarks/results/booking-peer-shape.json.

Prints the figures and writes benchmarks/results/booking.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `booking` package: keep its own folder off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
# the checkout: the shared test-data builder — or, for an A/B worker, the code under test
sys.path.insert(
    0, sys.argv[sys.argv.index("--code") + 1] if "--code" in sys.argv else str(_HERE.parent)
)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from datetime import time as clock  # noqa: E402
from typing import Any  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from sqlalchemy import URL, Engine, text  # noqa: E402

from adapters.storage.calendars import SqlAcademicYears, SqlBellSchedules  # noqa: E402
from adapters.storage.engine import create_engine_for, normalise_url  # noqa: E402
from adapters.storage.equipment import SqlServers, SqlTerminals  # noqa: E402
from adapters.storage.organisations import SqlOrganisations, SqlUsers  # noqa: E402
from adapters.storage.schema import upgrade  # noqa: E402
from adapters.storage.timetable_load import cyclic_gc_paused, load_timetable  # noqa: E402
from adapters.storage.unit_of_work import SqlUnitOfWork  # noqa: E402
from booking.access import Principal, Role  # noqa: E402
from booking.bells import BellSchedule, LessonSlot  # noqa: E402
from booking.bookings import (  # noqa: E402
    Booking,
    Occurrence,
    Participant,
    Recurrence,
    Reservation,
    SessionKind,
)
from booking.errors import BookingConflict  # noqa: E402
from booking.organisations import Organisation, OrgKind  # noqa: E402
from booking.recurrence import expand  # noqa: E402
from booking.repository import UnitOfWork  # noqa: E402
from booking.resources import ConferenceServer, Terminal, TerminalVendor  # noqa: E402
from booking.schoolyear import AcademicYear  # noqa: E402
from booking.services import availability  # noqa: E402
from booking.services.bookings import BookingRequest, ItemStatus, create_booking  # noqa: E402
from booking.services.timetable_import import import_timetable  # noqa: E402
from booking.users import User  # noqa: E402
from tests.builders import (  # noqa: E402
    a_bbb_server,
    a_municipality,
    a_network,
    a_school,
    a_terminal,
    the_region,
    the_year_2026_27,
)
from vks.cli import start_up_done  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "booking.json"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/vks_bench"
NOW = datetime(2026, 8, 25, 3, 0, tzinfo=UTC)  # before the year: every lesson is bookable
REGION = "kuzbass"
KEMEROVO, MOSCOW = "Asia/Novokuznetsk", "Europe/Moscow"
LESSONS_PER_DAY = 7
SETUP = timedelta(minutes=10)


@dataclass(frozen=True)
class Scale:
    terminals: int
    occurrences: int  # the region's data set for phases 1–3
    import_lessons: int  # phase 4
    creates: int
    refusals: int
    availability_runs: int
    lesson_runs: int
    read_runs: int  # phase 6: each single read
    load_seconds: float  # phase 6: the mixed-read load


FULL = Scale(10_000, 1_000_000, 50_000, 500, 100, 100, 50, 200, 20.0)
QUICK = Scale(1_000, 100_000, 5_000, 100, 30, 15, 20, 50, 8.0)


# --- the region -----------------------------------------------------------------------------
def bells() -> BellSchedule:
    starts = [
        clock(8, 0),
        clock(8, 50),
        clock(9, 45),
        clock(10, 40),
        clock(11, 35),
        clock(12, 30),
        clock(13, 25),
    ]
    lessons = {}
    for number, start in enumerate(starts, 1):
        end = (datetime.combine(date.min, start) + timedelta(minutes=40)).time()
        lessons[number] = (start, end)
    return BellSchedule(id="standard", name="Основное расписание", lessons=lessons)


def academic_year() -> AcademicYear:
    return the_year_2026_27(
        public_holidays=[date(2027, 2, 23), date(2027, 3, 8), date(2027, 5, 1), date(2027, 5, 11)],
        shortened_days=[],
    )


@dataclass
class Region:
    organisations: list[Organisation] = field(default_factory=list)
    terminals: list[Terminal] = field(default_factory=list)
    servers: list[ConferenceServer] = field(default_factory=list)
    school_of: dict[str, Organisation] = field(default_factory=dict)  # by terminal id


def make_region(terminal_count: int, control_url: str | None = None) -> Region:
    """Municipalities → networks → schools with two terminals each; the last fifth of the
    municipalities keep Moscow time (the partner region), the rest Kemerovo's.
    `control_url`: every terminal's address (default: one unroutable address each)."""
    region = Region()
    orgs = region.organisations
    orgs.append(the_region())
    schools = terminal_count // 2
    municipalities = max(1, schools // 250)
    per_network = 50
    school_no = 0
    for m in range(municipalities):
        zone = MOSCOW if m >= municipalities * 4 // 5 and municipalities > 1 else KEMEROVO
        mun = a_municipality(f"mun-{m}", f"Муниципалитет №{m + 1}", orgs[0], tz=zone)
        orgs.append(mun)
        for n in range(250 // per_network):
            net = a_network(f"net-{m}-{n}", f"Сеть №{m + 1}.{n + 1}", mun)
            orgs.append(net)
            for _ in range(per_network):
                if school_no >= schools:
                    break
                school = a_school(
                    f"school-{school_no}",
                    f"МБОУ «СОШ №{school_no + 1}»",
                    net,
                    address=f"ул. Школьная, {school_no}",
                )
                orgs.append(school)
                for k in range(2):
                    terminal = a_terminal(
                        f"term-{school_no}-{k}",
                        school.id,
                        "Актовый зал" if k == 0 else "Кабинет информатики",
                        vendor=TerminalVendor.CISCO_XAPI if k == 0 else TerminalVendor.POLY_REST,
                        control_url=control_url or f"http://10.{m}.{school_no % 250}.{k + 10}",
                        credentials_ref=f"env:VKS_TERM_{school_no}_{k}",
                    )
                    region.terminals.append(terminal)
                    region.school_of[terminal.id] = school
                school_no += 1
    for i in range(20):
        region.servers.append(
            a_bbb_server(
                f"bbb-{i}",
                name=f"BBB №{i + 1}",
                base_url=f"http://bbb-{i}.example.ru/bigbluebutton/",
                secret_ref="env:BBB_SECRET",
                max_rooms=200,
                max_participants=10_000,
                gateway_sip_host=f"bbb-{i}.example.ru",
                gateway_ports=1_000,
            )
        )
    return region


def seed_region(
    engine: Engine,
    region: Region,
    schedule: BellSchedule | None = None,
    year: AcademicYear | None = None,
) -> None:
    with SqlUnitOfWork(engine) as uow:
        connection = uow.connection  # the SQL repositories' bulk `add_all`
        SqlBellSchedules(connection).add_all([schedule or bells()])
        SqlAcademicYears(connection).add_all([year or academic_year()])
        SqlOrganisations(connection).add_all(region.organisations)
        SqlTerminals(connection).add_all(region.terminals)
        SqlServers(connection).add_all(region.servers)
        SqlUsers(connection).add(  # the RCC operator the HTTP phases' tokens are issued to
            User(RCC.user_id, "bench-rcc", "-", Role.RCC_OPERATOR, REGION, full_name="РКЦ")
        )
        uow.commit()


# --- weekly lessons, planned in bulk ------------------------------------------------------------
def weekly_slot(terminal_index: int, nth: int) -> tuple[int, int]:
    """The (weekday, lesson number) of a terminal's nth weekly lesson; distinct per terminal
    for nth < 35."""
    return (terminal_index + nth) % 5, 1 + (terminal_index * 3 + nth * 2 + nth // 5) % 7


def nth_lesson(region: Region, k: int) -> tuple[Terminal, Organisation, int, int, int]:
    """The k-th weekly lesson of a timetable: (terminal, its school, the terminal's nth
    lesson, weekday, lesson number) — each terminal in turn, then its next lesson."""
    terminals = region.terminals
    index, nth = k % len(terminals), k // len(terminals)
    terminal = terminals[index]
    weekday, lesson = weekly_slot(index, nth)
    return terminal, region.school_of[terminal.id], nth, weekday, lesson


class Planner:
    """Expands weekly lessons with the domain's `expand`, once per distinct (zone,
    weekday, lesson) — thousands of lessons share a few dozen calendars."""

    def __init__(self) -> None:
        self.year = academic_year()
        self.bells = bells()
        self._slots: dict[tuple[str, int, int], list[LessonSlot]] = {}

    def slots(self, zone: str, weekday: int, lesson: int) -> list[LessonSlot]:
        key = (zone, weekday, lesson)
        if key not in self._slots:
            recurrence = Recurrence(
                weekdays=[weekday],
                starts_on=self.year.start,
                ends_on=self.year.end,
                lesson_number=lesson,
            )
            self._slots[key] = expand(
                recurrence, zone=ZoneInfo(zone), year=self.year, bells=self.bells, max_days=400
            ).slots
        return self._slots[key]

    def lessons(
        self, region: Region, count: int, *, prefix: str, max_occurrences: int | None = None
    ) -> tuple[list[Booking], list[Occurrence], list[Reservation]]:
        found: tuple[list[Booking], list[Occurrence], list[Reservation]] = ([], [], [])
        bookings, occurrences, reservations = found
        for k in range(count):
            terminal, school, nth, weekday, lesson = nth_lesson(region, k)
            booking_id = f"{prefix}{k}"
            recurrence = Recurrence(
                weekdays=[weekday],
                starts_on=self.year.start,
                ends_on=self.year.end,
                lesson_number=lesson,
            )
            bookings.append(
                Booking(
                    id=booking_id,
                    title=f"Сетевой курс №{k}",
                    kind=SessionKind.FULL_BROADCAST,
                    organiser_id="svc:import",
                    owner_org_id=school.id,
                    host_school_id=school.id,
                    teacher=f"Педагог {k % 997}",
                    participants=[Participant(school.id, terminal.id, "teacher", f"{5 + nth}А")],
                    recurrence=recurrence,
                    external_ref=f"{prefix}{k}",
                    created_at=NOW,
                )
            )
            for slot in self.slots(school.time_zone, weekday, lesson):
                occurrence_id = f"{booking_id}-{slot.local_date:%m%d}"
                setup_start = slot.start - SETUP
                occurrences.append(
                    Occurrence(
                        occurrence_id,
                        booking_id,
                        slot.start,
                        slot.end,
                        setup_start,
                        slot.local_date,
                        lesson,
                        terminal_ids=[terminal.id],
                    )
                )
                reservations.append(
                    Reservation(occurrence_id, booking_id, terminal.id, setup_start, slot.end)
                )
            if max_occurrences is not None and len(occurrences) >= max_occurrences:
                break
        return found


def bulk_load(
    engine: Engine, region: Region, lessons: int, prefix: str, max_occurrences: int | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    with cyclic_gc_paused():
        planned = Planner().lessons(region, lessons, prefix=prefix, max_occurrences=max_occurrences)
    planned_at = time.perf_counter()
    with SqlUnitOfWork(engine) as uow:
        load_timetable(uow, *planned)
        written_at = time.perf_counter()
        uow.commit()
    done = time.perf_counter()
    return {
        "lessons": len(planned[0]),
        "occurrences": len(planned[1]),
        "total_s": round(done - started, 2),
        "plan_s": round(planned_at - started, 2),
        "write_s": round(written_at - planned_at, 2),
        "commit_s": round(done - written_at, 2),
    }


def timetable_requests(region: Region, count: int) -> list[BookingRequest]:
    """`count` weekly lessons over the year, as a timetable file would give them: the same
    terminals, weekdays and lessons as `Planner.lessons`."""
    year = academic_year()
    found = []
    for k in range(count):
        terminal, school, nth, weekday, lesson = nth_lesson(region, k)
        found.append(
            BookingRequest(
                title=f"Сетевой курс №{k}",
                kind=SessionKind.FULL_BROADCAST,
                host_school_id=school.id,
                teacher=f"Педагог {k % 997}",
                participants=[Participant(school.id, terminal.id, "teacher", f"{5 + nth}А")],
                recurrence=Recurrence([weekday], year.start, year.end, lesson_number=lesson),
                external_ref=f"imp-{k}",
            )
        )
    return found


def service_import(engine: Engine, region: Region, count: int) -> dict[str, Any]:
    """The timetable import of `vks import` (all rules, then one bulk load), timed from
    the parsed requests to the commit; the cyclic GC paused as `vks import` does."""
    requests = timetable_requests(region, count)
    started = time.perf_counter()
    with cyclic_gc_paused():
        results = import_timetable(SqlUnitOfWork(engine), RCC, requests, now=NOW)
    done = time.perf_counter()
    refused = [r for r in results if r.status != ItemStatus.CREATED]
    assert not refused, refused[:3]
    with engine.connect() as connection:
        occurrences = connection.execute(text("SELECT count(*) FROM occurrences")).scalar_one()
    return {
        "lessons": len(results),
        "occurrences": occurrences,
        "total_s": round(done - started, 2),
    }


# --- measuring ----------------------------------------------------------------------------------
def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def timed(runs: int, action: Callable[[int], object], warmup: int = 5) -> dict[str, float]:
    for i in range(warmup):
        action(-1 - i)
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        action(i)
        samples.append(time.perf_counter() - started)
    return summary(samples)


def uow(engine: Engine, *, read_only: bool = False) -> UnitOfWork:
    return SqlUnitOfWork(engine, read_only=read_only)


RCC = Principal(user_id="u-rcc", role=Role.RCC_OPERATOR, org_id=REGION, org_path=REGION)


class FreeSlots:
    """One-off lessons on (terminal, date, lesson) triples that nothing occupies: not the
    data set's weekly lessons (other weekday/lesson pairs), not an earlier request."""

    def __init__(self, region: Region, seed: int) -> None:
        self.region = region
        self.rng = random.Random(seed)
        self.used: set[tuple[int, date, int]] = set()

    def request(self, i: int) -> BookingRequest:
        rng, terminals = self.rng, self.region.terminals
        while True:
            index = rng.randrange(len(terminals))
            day = date(2026, 9, 7) + timedelta(days=rng.randrange(7 * 6))
            lesson = rng.randrange(1, LESSONS_PER_DAY + 1)
            taken = {weekly_slot(index, nth) for nth in range(5)}
            key = (index, day, lesson)
            if day.weekday() < 5 and (day.weekday(), lesson) not in taken and key not in self.used:
                self.used.add(key)
                break
        terminal = terminals[index]
        school = self.region.school_of[terminal.id]
        return BookingRequest(
            title=f"Открытый урок №{i}",
            kind=SessionKind.FULL_BROADCAST,
            host_school_id=school.id,
            teacher="Иванова Мария Петровна",
            participants=[Participant(school.id, terminal.id, "teacher", f"10{'АБ'[index % 2]}")],
            on_date=day,
            lesson_number=lesson,
        )


def taken_request(region: Region, rng: random.Random) -> BookingRequest:
    index = rng.randrange(len(region.terminals))
    terminal = region.terminals[index]
    school = region.school_of[terminal.id]
    weekday, lesson = weekly_slot(index, 0)
    day = date(2026, 9, 14) + timedelta(days=weekday)
    return BookingRequest(
        title="Урок на занятое время",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id=school.id,
        teacher="Петров Сергей Иванович",
        participants=[Participant(school.id, terminal.id, "teacher")],
        on_date=day,
        lesson_number=lesson,
    )


def measure_service(
    engine: Engine, region: Region, scale: Scale, free: FreeSlots
) -> dict[str, Any]:
    rng = random.Random(7)
    figures: dict[str, Any] = {}

    def create(i: int) -> None:
        result = create_booking(uow(engine), RCC, free.request(i), now=NOW)
        assert result.written

    figures["create_free"] = timed(scale.creates, create)

    def refuse(_: int) -> None:
        try:
            create_booking(uow(engine), RCC, taken_request(region, rng), now=NOW)
        except BookingConflict as conflict:
            assert conflict.details["conflicts"]
        else:
            raise AssertionError("a taken slot was booked")

    figures["create_refused_with_alternatives"] = timed(scale.refusals, refuse)

    zone = ZoneInfo(KEMEROVO)
    slot_start = datetime(2026, 9, 15, 9, 45, tzinfo=zone)  # 3rd lesson, Tuesday
    counts: list[int] = []

    def free_terminals(_: int) -> None:
        found = availability.free_terminals(
            uow(engine, read_only=True),
            RCC,
            slot_start,
            slot_start + timedelta(minutes=40),
            org_id=REGION,
            setup_minutes=10,
        )
        counts.append(len(found))

    figures["availability_all_terminals"] = timed(scale.availability_runs, free_terminals)
    figures["availability_all_terminals"]["free"] = counts[-1]
    figures["availability_all_terminals"]["terminals"] = len(region.terminals)

    lessons_found: list[int] = []

    def free_lessons(i: int) -> None:
        school = region.school_of[region.terminals[(i * 7919) % len(region.terminals)].id]
        found = availability.free_lessons(
            uow(engine, read_only=True),
            RCC,
            start_date=date(2026, 9, 21),
            end_date=date(2026, 9, 27),
            site_id=school.id,
            now=NOW,
        )
        lessons_found.append(len(found))

    figures["free_lessons_site_week"] = timed(scale.lesson_runs, free_lessons)
    figures["free_lessons_site_week"]["lessons"] = lessons_found[-1]
    return figures


class FixedClock:
    def now(self) -> datetime:
        return NOW


def measure_http(
    url: str, engine: Engine, region: Region, scale: Scale, free: FreeSlots
) -> dict[str, Any]:
    try:
        import httpx

        from vks.api.app import create_app
        from vks.bootstrap import build_container
        from vks.settings import Settings
    except ImportError as missing:
        return {"skipped": f"the API is not available: {missing}"}
    settings = Settings(
        database_url=url, secret_key="benchmark-hmac-key-of-32-bytes-at-least", hold_sweep_seconds=0
    )
    container = build_container(settings, clock=FixedClock(), engine=engine)
    app = create_app(container=container)
    token = container.tokens.issue(RCC, now=NOW, ttl=timedelta(hours=4)).value
    rng = random.Random(11)
    zone = ZoneInfo(KEMEROVO)
    slot_start = datetime(2026, 9, 16, 9, 45, tzinfo=zone)

    async def run() -> dict[str, Any]:
        figures: dict[str, Any] = {}
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as client:

            async def series(
                runs: int, call: Callable[[int], Any], warmup: int = 5
            ) -> dict[str, float]:
                for i in range(warmup):
                    await call(-1 - i)
                samples = []
                for i in range(runs):
                    started = time.perf_counter()
                    await call(i)
                    samples.append(time.perf_counter() - started)
                return summary(samples)

            async def create(i: int) -> None:
                request = free.request(i)
                body = {
                    "title": request.title,
                    "kind": "full_broadcast",
                    "host_school_id": request.host_school_id,
                    "teacher": request.teacher,
                    "participants": [vars(p) for p in request.participants],
                    "date": request.on_date.isoformat() if request.on_date else None,
                    "lesson_number": request.lesson_number,
                }
                key = {"Idempotency-Key": f"bench-{i}-{rng.random()}"}
                response = await client.post("/api/v1/bookings", json=body, headers=key)
                assert response.status_code == 201, response.text

            figures["create_free"] = await series(scale.creates, create)

            async def free_terminals(_: int) -> None:
                response = await client.get(
                    "/api/v1/availability/terminals",
                    params={
                        "start": slot_start.isoformat(),
                        "end": (slot_start + timedelta(minutes=40)).isoformat(),
                        "org_id": REGION,
                        "setup_minutes": 10,
                    },
                )
                assert response.status_code == 200, response.text

            figures["availability_all_terminals"] = await series(
                scale.availability_runs, free_terminals
            )
        return figures

    try:
        return asyncio.run(run())
    finally:
        container.close()


# --- reads through a real server (issue 12) --------------------------------------------------
SERVER_SECRET = "benchmark-hmac-key-of-32-bytes-at-least"
QUARTER_2 = (date(2026, 11, 5), date(2026, 12, 28))
LOAD_CLIENTS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def api_server(
    url: str, log: Path, *, embedded: bool = False, code: Path | None = None,
    access_log: bool = True,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:  # fmt: skip
    """One `vks serve` process over the benchmark's database, on a free loopback port, in
    Redis mode (no embedded health monitor polling the region's fake terminals) — or,
    `embedded`, without Redis: the automation and the health monitor run inside it, as in
    a one-process production. `code`: another checkout of vks to serve (an A/B baseline),
    run with this virtualenv. `access_log` off as `deploy/` runs it (nginx logs requests)."""
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "VKS_DATABASE_URL": url,
        "VKS_SECRET_KEY": SERVER_SECRET,
        "VKS_HOST": "127.0.0.1",
        "VKS_PORT": str(port),
        "VKS_REDIS_URL": ""
        if embedded
        else os.environ.get("VKS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"),
        "VKS_HOLD_SWEEP_SECONDS": "0",
        "VKS_ACCESS_LOG": "true" if access_log else "false",
        "VKS_DATA_DIR": str(log.parent),
        "BBB_SECRET": "benchmark-bbb-secret",  # the servers' `secret_ref`s are resolved at start
    }
    command = [str(Path(sys.executable).with_name("vks")), "serve"]
    if code is not None:
        env["PYTHONPATH"] = str(code)
        command = [sys.executable, "-c", "import sys, vks.cli; sys.exit(vks.cli.main(['serve']))"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=str(code or ROOT),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"vks serve exited ({process.returncode}): {log.read_text()}")
            try:
                httpx.get(f"{base}/api/v1/health", timeout=5)
                break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"vks serve did not answer in 120 s: {log.read_text()}")
            time.sleep(0.5)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_token(url: str, engine: Engine) -> str:
    from vks.bootstrap import build_container
    from vks.settings import Settings

    settings = Settings(database_url=url, secret_key=SERVER_SECRET, hold_sweep_seconds=0)
    container = build_container(settings, engine=engine)
    try:
        return container.tokens.issue(RCC, now=datetime.now(UTC), ttl=timedelta(hours=4)).value
    finally:
        container.close()


class ReadMix:
    """The requests of the mixed-read load, by weight: what coordinators' screens and
    calendar clients ask most."""

    def __init__(self, region: Region, booking_ids: list[str], seed: int) -> None:
        self.rng = random.Random(seed)
        self.region = region
        self.booking_ids = booking_ids
        self.schools = [o.id for o in region.organisations if o.kind == OrgKind.SCHOOL]
        self.paths: list[tuple[str, int, Callable[[], str]]] = [
            ("bookings_page", 25, self.bookings_page),
            ("booking", 20, lambda: f"/api/v1/bookings/{self.rng.choice(self.booking_ids)}"),
            ("terminals_page", 15, self.terminals_page),
            ("terminal", 15, lambda: f"/api/v1/terminals/{self.terminal().id}"),
            ("sites_page", 10, lambda: f"/api/v1/sites?limit=50&offset={self.offset(2500)}"),
            ("organisation", 10, lambda: f"/api/v1/organisations/{self.school()}"),
            ("school_feed_quarter", 5, self.school_feed),
            ("occurrences_week_page", 5, self.occurrences_week),
        ]
        self.weights = [weight for _, weight, _ in self.paths]

    def offset(self, size: int) -> int:
        return self.rng.randrange(max(1, size - 50))

    def school(self) -> str:
        return self.rng.choice(self.schools)

    def terminal(self) -> Terminal:
        return self.rng.choice(self.region.terminals)

    def bookings_page(self) -> str:
        return f"/api/v1/bookings?limit=20&offset={self.offset(len(self.booking_ids))}"

    def terminals_page(self) -> str:
        return f"/api/v1/terminals?limit=50&offset={self.offset(len(self.region.terminals))}"

    def school_feed(self) -> str:
        first, last = QUARTER_2
        return f"/api/v1/calendars/schools/{self.school()}.ics?from={first}&to={last}"

    def occurrences_week(self) -> str:
        """A page of everything the RCC sees in a school week (tens of thousands)."""
        week = "start=2026-11-09T00:00:00%2B07:00&end=2026-11-16T00:00:00%2B07:00"
        return f"/api/v1/occurrences?{week}&limit=50&offset={self.offset(1000)}"

    def next(self) -> tuple[str, str]:
        name, _, path = self.rng.choices(self.paths, self.weights)[0]
        return name, path()


def measure_reads(
    url: str, engine: Engine, region: Region, scale: Scale, tmp: Path, profile: Path | None
) -> Any:
    """Phase 6: single reads of one client, then 20 concurrent clients, all through HTTP
    against one `vks serve` process."""
    import httpx

    with engine.connect() as connection:
        booking_ids = list(connection.execute(text("SELECT id FROM bookings")).scalars())
    token = server_token(url, engine)
    headers = {"Authorization": f"Bearer {token}"}
    mix = ReadMix(region, booking_ids, seed=23)
    figures: dict[str, Any] = {"bookings": len(booking_ids), "clients": LOAD_CLIENTS}
    with api_server(url, tmp / "vks-serve.log") as (base, process):
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:

            def get(path: str) -> httpx.Response:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code, response.text)
                return response

            first_page = get("/api/v1/bookings?limit=50").json()
            assert first_page["total"] == len(booking_ids), first_page["total"]
            figures["bookings_first_page"] = timed(
                scale.read_runs, lambda _: get("/api/v1/bookings?limit=50")
            )
            figures["bookings_page_random_offset"] = timed(
                scale.read_runs, lambda _: get(mix.bookings_page())
            )
            events: list[int] = []

            def feed(_: int) -> None:
                events.append(get(mix.school_feed()).content.count(b"BEGIN:VEVENT"))

            figures["school_feed_quarter"] = timed(scale.read_runs, feed)
            figures["school_feed_quarter"]["events_median"] = statistics.median(events)
            by_kind: dict[str, float] = {}  # where the mixed load's time goes, kind by kind
            for name, _, path in mix.paths:

                def read(_: int, path: Callable[[], str] = path) -> None:
                    get(path())

                by_kind[name] = timed(max(10, scale.read_runs // 4), read)["median_ms"]
            figures["mix_one_client_median_ms"] = by_kind
        figures["mixed_reads"] = asyncio.run(
            mixed_load(base, headers, mix, scale.load_seconds, process.pid, profile)
        )
    return figures


async def mixed_load(
    base: str,
    headers: dict[str, str],
    mix: ReadMix,
    seconds: float,
    server_pid: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    import httpx

    samples: list[float] = []
    by_kind: dict[str, int] = {}
    failures: list[str] = []
    limits = httpx.Limits(max_connections=LOAD_CLIENTS, max_keepalive_connections=LOAD_CLIENTS)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:

        async def one_client(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                kind, path = mix.next()
                started = time.perf_counter()
                response = await client.get(path)
                if record:
                    samples.append(time.perf_counter() - started)
                    by_kind[kind] = by_kind.get(kind, 0) + 1
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code}")

        warm_until = time.perf_counter() + 2
        await asyncio.gather(*(one_client(warm_until, False) for _ in range(LOAD_CLIENTS)))
        spy = None
        if profile is not None:  # py-spy's collapsed stacks of the server, while it is loaded
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                 str(server_pid), "--duration", str(int(seconds)), "--rate", "250",
                 "--format", "raw", "--output", str(profile)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        cpu_before, load_before = cpu_seconds(server_pid), os.getloadavg()[0]
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(one_client(until, True) for _ in range(LOAD_CLIENTS)))
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(server_pid) - cpu_before
        if spy is not None:
            spy.wait()
    assert not failures, failures[:5]
    figures: dict[str, Any] = summary(samples)
    figures.update(
        {
            "seconds": round(wall, 1),
            "requests_per_s": round(len(samples) / wall, 1),
            "server_cpu_share": round(server_cpu / wall, 2),  # 1.0 = one core all the time
            "server_cpu_ms_per_request": round(server_cpu * 1000 / len(samples), 2),
            "requests_per_server_cpu_s": round(len(samples) / server_cpu, 1)
            if server_cpu
            else None,
            "load_average_1m_before": round(load_before, 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
            "mix": {name: weight for name, weight, _ in mix.paths},
            "requests_by_kind": by_kind,
        }
    )
    return figures


# --- databases ------------------------------------------------------------------------------------
def benchmark_database(server_url: str) -> tuple[URL, Engine]:
    """The benchmark database's URL and an engine on it: the database created if absent,
    with the extension the schema needs."""
    url = normalise_url(server_url)
    admin = create_engine_for(url.set(database="postgres"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    owner = create_engine_for(url)
    with owner.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
    return url, owner


@contextmanager
def postgres_schema(server_url: str, name: str) -> Iterator[str]:
    """A fresh schema `name` in the benchmark database (the database is created if absent)."""
    with kept_schema(server_url, name, keep=False) as (url, _):
        yield url


@contextmanager
def kept_schema(server_url: str, name: str, keep: bool) -> Iterator[tuple[str, bool]]:
    """The benchmark's schema `name` (made when absent; dropped after the run unless `keep`)
    and whether a previous run left it loaded (its table `bench_ready` is there)."""
    url, owner = benchmark_database(server_url)
    with owner.begin() as connection:
        present = connection.execute(
            text("SELECT 1 FROM information_schema.tables "
                 "WHERE table_schema = :s AND table_name = 'bench_ready'"), {"s": name},
        ).first() is not None  # fmt: skip
        if not (keep and present):
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
            present = False
    try:
        options = {"options": f"-csearch_path={name},public"}
        yield url.update_query_dict(options).render_as_string(False), present
    finally:
        if not keep:
            with owner.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        owner.dispose()


@contextmanager
def sqlite_file(directory: Path, name: str) -> Iterator[str]:
    path = directory / f"{name}.sqlite"
    yield f"sqlite:///{path}"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def calibration(engine: Engine | None) -> dict[str, float]:
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i & 7
    figures = {"python_loop_3M_s": round(time.perf_counter() - started, 3)}
    if engine is not None and engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            started = time.perf_counter()
            # the set-returning function in the select list streams (in FROM it would be
            # materialised and spill 140 MB to a temporary file: disk, not CPU)
            connection.execute(
                text("SELECT count(*) FROM (SELECT generate_series(1, 10000000)) AS s")
            ).scalar()
            figures["postgres_count_10M_s"] = round(time.perf_counter() - started, 3)
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    return figures


def run_database(
    kind: str,
    scale: Scale,
    pg_url: str,
    tmp: Path,
    only: str = "all",
    profile: Path | None = None,
) -> dict[str, Any]:
    region = make_region(scale.terminals)
    result: dict[str, Any] = {"terminals": len(region.terminals)}
    place = (
        (lambda name: postgres_schema(pg_url, name))
        if kind == "postgres"
        else (lambda name: sqlite_file(tmp, name))
    )
    print(f"\n== {kind}: region of {len(region.terminals):,} terminals", flush=True)
    with place("bench_region") as url:
        upgrade(url)
        engine = create_engine_for(url)
        try:
            result["calibration"] = calibration(engine)
            seed_region(engine, region)
            lessons = scale.occurrences // 30 + len(region.terminals)
            loaded = bulk_load(engine, region, lessons, "base-", max_occurrences=scale.occurrences)
            result["data_set"] = loaded
            print(
                f"   data set: {loaded['occurrences']:,} occurrences of {loaded['lessons']:,}"
                f" weekly lessons loaded in {loaded['total_s']} s",
                flush=True,
            )
            if kind == "postgres":  # as after any bulk load: statistics, visibility map, and
                # no autovacuum of the fresh million rows running into the measurements
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("VACUUM (ANALYZE)"))
                    # and the pages the load and the vacuum dirtied written out now, not
                    # during the measurements (the creates' commits wait for the disk)
                    connection.execute(text("CHECKPOINT"))
            start_up_done()  # as `vks serve` does: the region built above is not scanned
            if only == "reads":
                result["reads"] = measure_and_show_reads(url, engine, region, scale, tmp, profile)
                return result
            free = FreeSlots(region, seed=3)
            result["calibration_before_service"] = calibration(engine)
            result["service"] = measure_service(engine, region, scale, free)
            result["calibration_after_service"] = calibration(engine)
            show("calibration before/after", {
                "before": result["calibration_before_service"],
                "after": result["calibration_after_service"],
            })  # fmt: skip
            show("service", result["service"])
            result["http"] = measure_http(url, engine, region, scale, free)
            show("http (in-process ASGI)", result["http"])
            result["reads"] = measure_and_show_reads(url, engine, region, scale, tmp, profile)
        finally:
            engine.dispose()
    with place("bench_import") as url:
        upgrade(url)
        engine = create_engine_for(url)
        try:
            seed_region(engine, region)
            result["calibration_before_import"] = calibration(engine)
            print(f"   calibration: {result['calibration_before_import']}")
            result["import"] = service_import(engine, region, scale.import_lessons)
            print(f"   import (vks import: all rules, one bulk load): {result['import']}")
        finally:
            engine.dispose()
    with place("bench_load") as url:  # the same lessons planned by the benchmark, loaded
        upgrade(url)
        engine = create_engine_for(url)
        try:
            seed_region(engine, region)
            result["bulk_load"] = bulk_load(engine, region, scale.import_lessons, "imp-")
            print(f"   bulk load (storage only): {result['bulk_load']}", flush=True)
        finally:
            engine.dispose()
    return result


def measure_and_show_reads(
    url: str, engine: Engine, region: Region, scale: Scale, tmp: Path, profile: Path | None
) -> dict[str, Any]:
    figures: dict[str, Any] = {"calibration_before": calibration(engine)}
    figures.update(measure_reads(url, engine, region, scale, tmp, profile))
    figures["calibration_after"] = calibration(engine)
    show("reads through HTTP (one vks serve process)", figures)
    return figures


def show(title: str, figures: dict[str, Any]) -> None:
    print(f"   {title}:")
    for name, value in figures.items():
        print(f"     {name:34} {value}")


# --- the peer's shape (issue 19): 1,000 terminals, 8,300 weekly series × 12 weeks ------------
PEER_TERMINALS = 1_000
PEER_SERIES = 8_300
PEER_WEEKS = 12
PEER_HOURS = 8  # 1-hour lessons 08:00–16:00, Monday–Friday
PEER_SLOTS = 5 * PEER_HOURS  # a terminal's weekly hours
PEER_LANES = 16  # disjoint terminal sets, so concurrent measuring processes never collide
INDICO_MS = {  # issue 19's Indico figures, measured on this machine (median, ms)
    "create_single": (21.1, 35.3),
    "create_weekly_12": (28.7, 45.2),
    "refused_with_alternatives": (14.2, 26.2),
    "free_terminals_one_slot": (39.0, 71.8),
}
PEER_TARGETS_MS = {  # ten times Indico: (service layer, `vks serve`)
    "create_single": (2.0, 3.5),
    "create_weekly_12": (3.0, 4.5),
    "refused_with_alternatives": (1.5, 2.5),
    "free_terminals_one_slot": (3.9, 7.2),
}
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri")


def peer_bells() -> BellSchedule:
    lessons = {n + 1: (clock(8 + n), clock(9 + n)) for n in range(PEER_HOURS)}
    return BellSchedule(id="standard", name="Часовые уроки", lessons=lessons)


def peer_first_monday(today: date) -> date:
    """The series start a week after the next Monday: every lesson in the future."""
    return today + timedelta(days=7 - today.weekday() + 7)


def peer_year(today: date) -> AcademicYear:
    from tests.builders import a_year_around

    return a_year_around(today, days=200)  # one quarter, no holidays: 12 full weeks


def peer_series_of(index: int) -> int:
    """How many of the 8,300 series terminal `index` has (8 or 9)."""
    return PEER_SERIES // PEER_TERMINALS + (index < PEER_SERIES % PEER_TERMINALS)


def peer_hour(index: int, nth: int) -> int:
    """The weekly hour (0…39: weekday + 5 × lesson) of a terminal's nth series; distinct
    for nth < 10."""
    return (index + nth * 13) % PEER_SLOTS


def peer_load(engine: Engine, region: Region, today: date) -> dict[str, Any]:
    started = time.perf_counter()
    year, schedule, first = peer_year(today), peer_bells(), peer_first_monday(today)
    cache: dict[tuple[str, int, int], list[LessonSlot]] = {}
    bookings: list[Booking] = []
    occurrences: list[Occurrence] = []
    reservations: list[Reservation] = []
    for k in range(PEER_SERIES):
        index, nth = k % PEER_TERMINALS, k // PEER_TERMINALS
        terminal = region.terminals[index]
        school = region.school_of[terminal.id]
        hour = peer_hour(index, nth)
        weekday, lesson = hour % 5, hour // 5 + 1
        recurrence = Recurrence([weekday], first, first + timedelta(weeks=PEER_WEEKS, days=-1),
                                lesson_number=lesson)  # fmt: skip
        key = (school.time_zone, weekday, lesson)
        if key not in cache:
            cache[key] = expand(recurrence, zone=ZoneInfo(school.time_zone), year=year,
                                bells=schedule, max_days=400).slots  # fmt: skip
        booking_id = f"peer-{k}"
        bookings.append(
            Booking(id=booking_id, title=f"Курс №{k}", kind=SessionKind.FULL_BROADCAST,
                    organiser_id="svc:import", owner_org_id=school.id, host_school_id=school.id,
                    teacher=f"Педагог {k % 997}",
                    participants=[Participant(school.id, terminal.id, "teacher", "9А")],
                    recurrence=recurrence, external_ref=booking_id, created_at=NOW)
        )  # fmt: skip
        for slot in cache[key]:
            occurrence_id = f"{booking_id}-{slot.local_date:%m%d}"
            occurrences.append(Occurrence(occurrence_id, booking_id, slot.start, slot.end,
                                          slot.start, slot.local_date, lesson,
                                          terminal_ids=[terminal.id]))  # fmt: skip
            reservations.append(
                Reservation(occurrence_id, booking_id, terminal.id, slot.start, slot.end)
            )
    with SqlUnitOfWork(engine) as unit:
        load_timetable(unit, bookings, occurrences, reservations)
        unit.commit()
    return {"series": len(bookings), "occurrences": len(occurrences),
            "load_s": round(time.perf_counter() - started, 2)}  # fmt: skip


class PeerRequests:
    """The four operations' requests, on terminals of one lane only: singles on the first
    half of the region's terminals, weekly series on the second; never colliding with the
    data set, with each other or with another lane's."""

    def __init__(self, region: Region, today: date, lane: int) -> None:
        self.region, self.first = region, peer_first_monday(today)
        self.rng = random.Random(1000 + lane)
        half = PEER_TERMINALS // 2
        self.singles = [i for i in range(half) if i % PEER_LANES == lane]
        self.weeklies = [i for i in range(half, PEER_TERMINALS) if i % PEER_LANES == lane]
        self.used: set[tuple[int, int, int]] = set()  # (terminal, day or -1, hour)

    def _free_hour(self, index: int) -> int:
        taken = {peer_hour(index, nth) for nth in range(peer_series_of(index))}
        return self.rng.choice([h for h in range(PEER_SLOTS) if h not in taken])

    def _body(self, index: int, title: str) -> dict[str, Any]:
        terminal = self.region.terminals[index]
        school = self.region.school_of[terminal.id]
        return {"title": title, "kind": "full_broadcast", "host_school_id": school.id,
                "teacher": "Иванова Мария Петровна", "setup_minutes": 0,
                "participants": [{"school_id": school.id, "terminal_id": terminal.id,
                                  "camera_preset": "teacher",
                                  "class_name": f"{10 + index % 2}А"}]}  # fmt: skip

    def single(self) -> dict[str, Any]:
        while True:
            index, hour = self.rng.choice(self.singles), self.rng.randrange(PEER_SLOTS)
            week = self.rng.randrange(PEER_WEEKS)
            taken = {peer_hour(index, nth) for nth in range(peer_series_of(index))}
            if hour not in taken and (index, week, hour) not in self.used:
                self.used.add((index, week, hour))
                break
        body = self._body(index, "Открытый урок")
        day = self.first + timedelta(weeks=week, days=hour % 5)
        body.update({"date": day.isoformat(), "lesson_number": hour // 5 + 1})
        return body

    def weekly(self) -> dict[str, Any]:
        while True:
            index = self.rng.choice(self.weeklies)
            hour = self._free_hour(index)
            if (index, -1, hour) not in self.used:
                self.used.add((index, -1, hour))
                break
        body = self._body(index, "Сетевой курс на четверть")
        last = self.first + timedelta(weeks=PEER_WEEKS, days=-1)
        body["weekly"] = {
            "weekdays": [WEEKDAY_KEYS[hour % 5]],
            "lesson_number": hour // 5 + 1,
            "starts_on": self.first.isoformat(),
            "ends_on": last.isoformat(),
        }
        return body  # fmt: skip

    def taken(self) -> dict[str, Any]:
        """An exact collision with one date of a series of the data set."""
        index = self.rng.randrange(PEER_TERMINALS)
        hour = peer_hour(index, self.rng.randrange(peer_series_of(index)))
        body = self._body(index, "Урок на занятое время")
        day = self.first + timedelta(weeks=self.rng.randrange(PEER_WEEKS), days=hour % 5)
        body.update({"date": day.isoformat(), "lesson_number": hour // 5 + 1})
        return body

    def slot(self) -> dict[str, Any]:
        day = self.first + timedelta(weeks=2, days=1)  # a Tuesday, 10:00–11:00 in Kemerovo
        start = datetime.combine(day, clock(10), tzinfo=ZoneInfo(KEMEROVO))
        return {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(),
                "org_id": REGION, "setup_minutes": 0}  # fmt: skip


PEER_OPERATIONS = ("create_single", "create_weekly_12", "refused_with_alternatives",
                   "free_terminals_one_slot")  # fmt: skip


def peer_call(requests: PeerRequests, operation: str) -> tuple[str, str, Any, int]:
    """(method, path, body or params, expected status) of one operation."""
    if operation == "create_single":
        return "POST", "/api/v1/bookings", requests.single(), 201
    if operation == "create_weekly_12":
        return "POST", "/api/v1/bookings", requests.weekly(), 201
    if operation == "refused_with_alternatives":
        return "POST", "/api/v1/bookings", requests.taken(), 409
    return "GET", "/api/v1/availability/terminals", requests.slot(), 200


def peer_service_call(
    engine: Engine, requests: PeerRequests, operation: str, now: datetime
) -> Callable[[], None]:
    """The same operation through the service layer (the API's own translation of the body
    into a request is done before the clock starts)."""
    from vks.api.schemas.bookings import BookingIn

    method, _, body, status = peer_call(requests, operation)
    if method == "GET":
        start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])

        def free() -> None:
            found = availability.free_terminals(uow(engine, read_only=True), RCC, start, end,
                                                org_id=REGION, setup_minutes=0)  # fmt: skip
            assert len(found) > 0

        return free
    request = BookingIn.model_validate(body).to_request()

    def create() -> None:
        try:
            result = create_booking(uow(engine), RCC, request, now=now)
        except BookingConflict as conflict:
            assert status == 409 and conflict.details["conflicts"], conflict
        else:
            assert status == 201 and result.written, result.report

    return create


def thread_cpu_ns(pid: int) -> int:
    """CPU time of every thread of a process so far, in nanoseconds (Linux schedstat: far
    finer than the clock ticks of /proc/<pid>/stat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread ended
            total += int((task / "schedstat").read_text().split()[0])
    return total


def peer_worker(args: argparse.Namespace) -> None:
    """One measuring process (`--peer-worker service|asgi`): runs each operation
    `--runs` times with the code it was started with, prints the samples as JSON."""
    today = date.fromisoformat(args.today)
    region = make_region(PEER_TERMINALS)
    requests = PeerRequests(region, today, args.lane)
    engine = create_engine_for(args.url)
    samples: dict[str, dict[str, list[float]]] = {}
    if args.peer_worker == "service":
        now = datetime.now(UTC)
        for operation in PEER_OPERATIONS:
            walls, cpus = [], []
            for i in range(args.runs + 5):
                call = peer_service_call(engine, requests, operation, now)
                cpu, wall = time.process_time(), time.perf_counter()
                call()
                if i >= 5:  # the first five warm up
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.process_time() - cpu)
            samples[operation] = {"wall": walls, "cpu": cpus}
    else:
        samples = asyncio.run(peer_asgi(args.url, engine, requests, args.runs))
    engine.dispose()
    print(json.dumps(samples))


async def peer_asgi(
    url: str, engine: Engine, requests: PeerRequests, runs: int
) -> dict[str, dict[str, list[float]]]:
    import httpx

    from vks.api.app import create_app
    from vks.bootstrap import build_container
    from vks.settings import Settings

    settings = Settings(database_url=url, secret_key=SERVER_SECRET, hold_sweep_seconds=0)
    container = build_container(settings, engine=engine)
    app = create_app(container=container)
    token = container.tokens.issue(RCC, now=datetime.now(UTC), ttl=timedelta(hours=1)).value
    samples: dict[str, dict[str, list[float]]] = {}
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers=headers) as client:  # fmt: skip
            for operation in PEER_OPERATIONS:
                walls, cpus = [], []
                for i in range(runs + 5):
                    method, path, body, status = peer_call(requests, operation)
                    extra = {"Idempotency-Key": f"peer-{random.random()}"}
                    cpu, wall = time.process_time(), time.perf_counter()
                    if method == "GET":
                        response = await client.get(path, params=body)
                    else:
                        response = await client.post(path, json=body, headers=extra)
                    if i >= 5:
                        walls.append(time.perf_counter() - wall)
                        cpus.append(time.process_time() - cpu)
                    assert response.status_code == status, response.text[:600]
                samples[operation] = {"wall": walls, "cpu": cpus}
    finally:
        container.close()
    return samples


def peer_figures(walls: list[float], cpus: list[float]) -> dict[str, Any]:
    ordered = sorted(walls)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"n": len(walls), "median_ms": round(statistics.median(walls) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2),
            "cpu_median_ms": round(statistics.median(cpus) * 1000, 2)}  # fmt: skip


def peer_in_process(
    layer: str, url: str, today: date, codes: dict[str, Path], runs: int, rounds: int,
    lanes: Iterator[int],
) -> dict[str, Any]:  # fmt: skip
    """The service layer or in-process ASGI: one worker process per (code, round), the
    codes interleaved round by round so each sees the same machine."""
    collected: dict[str, dict[str, dict[str, list[float]]]] = {name: {} for name in codes}
    per_round = max(1, -(-runs // rounds))
    for _ in range(rounds):
        for name, code in codes.items():
            env = {**os.environ, "PYTHONPATH": str(code)}
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--peer-worker", layer,
                 "--code", str(code), "--url", url, "--today", today.isoformat(),
                 "--lane", str(next(lanes)), "--runs", str(per_round)],
                env=env, cwd=str(code), capture_output=True, text=True, check=False,
            )  # fmt: skip
            if out.returncode != 0:
                raise RuntimeError(f"{layer} worker ({name}) failed:\n{out.stderr[-3000:]}")
            for operation, got in json.loads(out.stdout.strip().splitlines()[-1]).items():
                into = collected[name].setdefault(operation, {"wall": [], "cpu": []})
                into["wall"] += got["wall"]
                into["cpu"] += got["cpu"]
    return {name: {operation: peer_figures(s["wall"], s["cpu"]) for operation, s in ops.items()}
            for name, ops in collected.items()}  # fmt: skip


def peer_serve(
    url: str, engine: Engine, region: Region, today: date, codes: dict[str, Path], runs: int,
    tmp: Path, lanes: Iterator[int], profile: Path | None, access_log: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Through real `vks serve` processes (embedded: automation and monitor on), one per
    code, requests alternating between them; the server's CPU per request from schedstat.
    The servers run as `deploy/` runs them: no access log of their own (nginx in front
    logs every request) unless `access_log`.

    The servers share the monitor's shards and the automation's leases, and the one started
    first leads (the monitor's leader does more in the background): the runs are taken in
    two halves, each with fresh servers started in the other order."""
    samples: dict[str, dict[str, dict[str, list[float]]]] = {name: {} for name in codes}
    halves = [list(codes), list(reversed(codes))] if len(codes) > 1 else [list(codes)]
    for k, order in enumerate(halves):
        spy = profile if k == len(halves) - 1 else None
        _serve_half(url, engine, region, today, {name: codes[name] for name in order},
                    -(-runs // len(halves)), tmp, lanes, spy, samples, access_log)  # fmt: skip
    return {name: {operation: peer_figures(s["wall"], s["cpu"]) for operation, s in ops.items()}
            for name, ops in samples.items()}  # fmt: skip


def _serve_half(
    url: str, engine: Engine, region: Region, today: date, codes: dict[str, Path], runs: int,
    tmp: Path, lanes: Iterator[int], profile: Path | None,
    samples: dict[str, dict[str, dict[str, list[float]]]], access_log: bool = False,
) -> None:  # fmt: skip
    """`runs` of each operation on servers started in the order of `codes`, into `samples`."""
    import httpx

    token = server_token(url, engine)
    headers = {"Authorization": f"Bearer {token}"}
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(api_server(url, tmp / f"serve-{name}.log",
                                                        embedded=True, code=code,
                                                        access_log=access_log))
                   for name, code in codes.items()}  # fmt: skip
        clients = {name: stack.enter_context(httpx.Client(base_url=base, headers=headers,
                                                          timeout=60))
                   for name, (base, _) in servers.items()}  # fmt: skip
        requests = {name: PeerRequests(region, today, next(lanes)) for name in codes}
        waited = background_settled(engine, [process.pid for _, process in servers.values()])
        print(f"   servers settled after {waited:.0f} s", flush=True)
        spies = []
        for operation in PEER_OPERATIONS:
            for i in range(runs + 5):
                order = list(codes) if i % 2 == 0 else list(reversed(codes))
                for name in order:
                    pid = servers[name][1].pid
                    method, path, body, status = peer_call(requests[name], operation)
                    extra = {"Idempotency-Key": f"peer-{random.random()}"}
                    cpu, wall = thread_cpu_ns(pid), time.perf_counter()
                    if method == "GET":
                        response = clients[name].get(path, params=body)
                    else:
                        response = clients[name].post(path, json=body, headers=extra)
                    elapsed, used = time.perf_counter() - wall, thread_cpu_ns(pid) - cpu
                    assert response.status_code == status, (name, response.text[:600])
                    if i >= 5:
                        into = samples[name].setdefault(operation, {"wall": [], "cpu": []})
                        into["wall"].append(elapsed)
                        into["cpu"].append(used / 1e9)
        if profile is not None:  # py-spy (samples holding the GIL: CPU) on this code's
            name, process = "this", servers["this"][1]  # server, under a stream of requests
            output = profile.with_suffix(f".serve-{name}.txt")
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                 str(process.pid), "--duration", "20", "--rate", "500", "--format", "raw", "--gil",
                 "--output", str(output)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            spies.append(spy)
            time.sleep(1)
            until = time.monotonic() + 18
            k = 0
            while time.monotonic() < until:
                method, path, body, _ = peer_call(requests[name], PEER_OPERATIONS[k % 4])
                if method == "GET":
                    clients[name].get(path, params=body)
                else:
                    clients[name].post(path, json=body, headers={"Idempotency-Key": f"p{k}"})
                k += 1
            for spy in spies:
                spy.wait()


def background_settled(engine: Engine, pids: list[int], longest: float = 90) -> float:
    """Wait for the servers' start-up work to be over; the seconds waited. On a fresh
    schema the embedded monitor finds the 1,000 terminals down (they refuse connections)
    a few seconds after it starts and opens an alert for each: ~4 s of CPU over ~8 s,
    which a fixed 3 s wait left on the first operations' requests. Done: every active
    terminal has an open alert, then every server quiet (< 5 % of a core) for a second."""
    started = time.monotonic()
    query = text(
        "SELECT count(*) FROM terminals t WHERE t.active AND NOT EXISTS (SELECT 1 "
        "FROM health_alerts a WHERE a.device_id = t.id AND a.resolved_at IS NULL)"
    )
    time.sleep(3)  # the automation's and the monitor's first rounds
    while time.monotonic() - started < longest:
        with engine.connect() as connection:
            unalerted = connection.execute(query).scalar_one()
        before = {pid: thread_cpu_ns(pid) for pid in pids}
        time.sleep(1)
        busiest = max(thread_cpu_ns(pid) - before[pid] for pid in pids) / 1e9
        if unalerted == 0 and busiest < 0.05:
            break
    return time.monotonic() - started


def run_peer_shape(
    pg_url: str, tmp: Path, runs: int, baseline: Path | None, profile: Path | None,
    access_log: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Issue 19's comparison: the peer's data shape on PostgreSQL, the four operations
    through the service layer, in-process ASGI and a real `vks serve`."""
    today = datetime.now(UTC).date()
    region = make_region(PEER_TERMINALS, control_url="http://127.0.0.1:9")  # refused at once
    codes = {"this": ROOT} if baseline is None else {"baseline": baseline, "this": ROOT}
    lanes = iter(range(PEER_LANES))
    result: dict[str, Any] = {"terminals": PEER_TERMINALS, "codes": {k: str(v) for k, v in
                                                                     codes.items()}}  # fmt: skip
    print(f"\n== postgres: the peer's shape ({PEER_TERMINALS:,} terminals,"
          f" {PEER_SERIES:,} weekly series × {PEER_WEEKS})", flush=True)  # fmt: skip
    with postgres_schema(pg_url, "bench_peer") as url:
        upgrade(url)
        engine = create_engine_for(url)
        try:
            result["calibration_before"] = calibration(engine)
            seed_region(engine, region, peer_bells(), peer_year(today))
            result["data_set"] = peer_load(engine, region, today)
            print(f"   data set: {result['data_set']}", flush=True)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM (ANALYZE)"))
                connection.execute(text("CHECKPOINT"))
            for layer in ("service", "asgi"):
                result[layer] = peer_in_process(layer, url, today, codes, runs, 3, lanes)
                show(layer, result[layer])
            result["serve"] = peer_serve(url, engine, region, today, codes, runs, tmp, lanes,
                                         profile, access_log)  # fmt: skip
            result["serve_access_log"] = access_log
            show("vks serve (embedded: automation and monitor on)", result["serve"])
            result["calibration_after"] = calibration(engine)
        finally:
            engine.dispose()
    result["indico_ms"] = INDICO_MS
    result["targets_ms"] = PEER_TARGETS_MS
    if baseline is not None:
        result["ratios_this_to_baseline"] = {
            layer: {operation: {key: round(result[layer]["this"][operation][key]
                                           / result[layer]["baseline"][operation][key], 2)
                                for key in ("median_ms", "cpu_median_ms")}
                    for operation in PEER_OPERATIONS}
            for layer in ("service", "asgi", "serve")
        }  # fmt: skip
        show("this ÷ baseline", result["ratios_this_to_baseline"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a tenth of the region")
    parser.add_argument(
        "--only", choices=["all", "reads"], default="all", help="reads: phase 6 alone"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the server under the mixed reads with py-spy (collapsed stacks to"
        " PROFILE.<db>.txt; py-spy from PyPI)",
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("VKS_BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument(
        "--peer-shape",
        action="store_true",
        help="issue 19: 1,000 terminals, 8,300 weekly series × 12 weeks, the four operations"
        " through the service layer, in-process ASGI and `vks serve` (PostgreSQL)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="with --peer-shape: another checkout of vks measured interleaved with this one"
        " (e.g. `git worktree add /tmp/base main`), ratios this ÷ baseline",
    )
    parser.add_argument("--runs", type=int, default=36, help="with --peer-shape: runs per op")
    parser.add_argument(
        "--serve-access-log",
        action="store_true",
        help="with --peer-shape: `vks serve` writes its own access log (deploy/ turns it off)",
    )
    for internal in ("--peer-worker", "--code", "--url", "--today"):
        parser.add_argument(internal, help=argparse.SUPPRESS)
    parser.add_argument("--lane", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_worker:
        peer_worker(args)
        return
    if args.peer_shape:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        with tempfile.TemporaryDirectory(prefix="vks-bench-") as tmp:
            profile = args.profile and args.profile.with_suffix(".peer.txt")
            peer = run_peer_shape(args.postgres_url, Path(tmp), args.runs, args.baseline, profile,
                                  args.serve_access_log)  # fmt: skip
        peer["started"] = started
        peer["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
        written = RESULTS.with_name("booking-peer-shape.json")
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_text(json.dumps(peer, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwritten to {written.relative_to(ROOT)}")
        return
    scale = QUICK if args.quick else FULL
    kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    report: dict[str, Any] = {
        "scale": vars(scale),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "targets": {
            "create_p99_ms_service_postgres": 10,
            "availability_ms": 50,
            "import_s": 60,
            "bookings_page_median_ms_http": 20,
            "school_feed_quarter_median_ms_http": 20,
            "mixed_reads_per_s_per_process": 500,
        },
        "only": args.only,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="vks-bench-") as tmp:
        for kind in kinds:
            profile = args.profile and args.profile.with_suffix(f".{kind}.txt")
            report[kind] = run_database(
                kind, scale, args.postgres_url, Path(tmp), args.only, profile
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
