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
   share of the import.

The 1,000,000 occurrences of phases 1–3 are loaded with the path of 5 (timed too).
Targets: create p99 ≤ 10 ms (service layer, PostgreSQL); availability ≤ 50 ms;
import ≤ 60 s. A calibration figure (a fixed CPU loop and a PostgreSQL scan) is printed so
results from different machines can be compared.

    .venv/bin/python benchmarks/booking.py [--db postgres|sqlite|both] [--quick]

Prints the figures and writes benchmarks/results/booking.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `booking` package: keep its own folder off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from datetime import time as clock  # noqa: E402
from typing import Any  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from sqlalchemy import Engine, text  # noqa: E402

from adapters.storage.calendars import SqlAcademicYears, SqlBellSchedules  # noqa: E402
from adapters.storage.engine import create_engine_for, normalise_url  # noqa: E402
from adapters.storage.equipment import SqlServers, SqlTerminals  # noqa: E402
from adapters.storage.organisations import SqlOrganisations  # noqa: E402
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
from booking.resources import ConferenceServer, PlatformKind, Terminal, TerminalVendor  # noqa: E402
from booking.schoolyear import AcademicYear, Holiday, Quarter  # noqa: E402
from booking.services import availability  # noqa: E402
from booking.services.bookings import BookingRequest, ItemStatus, create_booking  # noqa: E402
from booking.services.timetable_import import import_timetable  # noqa: E402
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


FULL = Scale(10_000, 1_000_000, 50_000, 500, 100, 100, 50)
QUICK = Scale(1_000, 100_000, 5_000, 100, 30, 15, 20)


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
    return AcademicYear(
        id="2026-2027",
        start=date(2026, 9, 1),
        end=date(2027, 5, 31),
        quarters=[
            Quarter(1, date(2026, 9, 1), date(2026, 10, 24)),
            Quarter(2, date(2026, 11, 5), date(2026, 12, 28)),
            Quarter(3, date(2027, 1, 12), date(2027, 3, 20)),
            Quarter(4, date(2027, 3, 30), date(2027, 5, 31)),
        ],
        holidays=[
            Holiday("Осенние каникулы", date(2026, 10, 25), date(2026, 11, 4)),
            Holiday("Зимние каникулы", date(2026, 12, 29), date(2027, 1, 11)),
            Holiday("Весенние каникулы", date(2027, 3, 21), date(2027, 3, 29)),
        ],
        public_holidays=[date(2027, 2, 23), date(2027, 3, 8), date(2027, 5, 1), date(2027, 5, 11)],
    )


@dataclass
class Region:
    organisations: list[Organisation] = field(default_factory=list)
    terminals: list[Terminal] = field(default_factory=list)
    servers: list[ConferenceServer] = field(default_factory=list)
    school_of: dict[str, Organisation] = field(default_factory=dict)  # by terminal id


def make_region(terminal_count: int) -> Region:
    """Municipalities → networks → schools with two terminals each; the last fifth of the
    municipalities keep Moscow time (the partner region), the rest Kemerovo's."""
    region = Region()
    orgs = region.organisations
    orgs.append(
        Organisation(
            REGION, OrgKind.REGION, "Кемеровская область — Кузбасс", None, REGION, KEMEROVO
        )
    )
    schools = terminal_count // 2
    municipalities = max(1, schools // 250)
    per_network = 50
    school_no = 0
    for m in range(municipalities):
        zone = MOSCOW if m >= municipalities * 4 // 5 and municipalities > 1 else KEMEROVO
        mun = Organisation(
            f"mun-{m}",
            OrgKind.MUNICIPALITY,
            f"Муниципалитет №{m + 1}",
            REGION,
            f"{REGION}/mun-{m}",
            zone,
        )
        orgs.append(mun)
        for n in range(250 // per_network):
            net = Organisation(
                f"net-{m}-{n}",
                OrgKind.NETWORK,
                f"Сеть №{m + 1}.{n + 1}",
                mun.id,
                f"{mun.path}/net-{m}-{n}",
                zone,
            )
            orgs.append(net)
            for _ in range(per_network):
                if school_no >= schools:
                    break
                school = Organisation(
                    f"school-{school_no}",
                    OrgKind.SCHOOL,
                    f"МБОУ «СОШ №{school_no + 1}»",
                    net.id,
                    f"{net.path}/school-{school_no}",
                    zone,
                    address=f"ул. Школьная, {school_no}",
                    bell_schedule_id="standard",
                )
                orgs.append(school)
                for k in range(2):
                    terminal = Terminal(
                        id=f"term-{school_no}-{k}",
                        site_id=school.id,
                        name="Актовый зал" if k == 0 else "Кабинет информатики",
                        vendor=TerminalVendor.CISCO_XAPI if k == 0 else TerminalVendor.POLY_REST,
                        sip_address=f"sip:term-{school_no}-{k}@vks.example.ru",
                        control_url=f"http://10.{m}.{school_no % 250}.{k + 10}",
                        credentials_ref=f"env:VKS_TERM_{school_no}_{k}",
                    )
                    region.terminals.append(terminal)
                    region.school_of[terminal.id] = school
                school_no += 1
    for i in range(20):
        region.servers.append(
            ConferenceServer(
                f"bbb-{i}",
                PlatformKind.BBB,
                f"BBB №{i + 1}",
                f"http://bbb-{i}.example.ru/bigbluebutton/",
                "env:BBB_SECRET",
                max_rooms=200,
                max_participants=10_000,
                gateway_sip_host=f"bbb-{i}.example.ru",
                gateway_ports=1_000,
            )
        )
    return region


def seed_region(engine: Engine, region: Region) -> None:
    with SqlUnitOfWork(engine) as uow:
        connection = uow.connection  # the SQL repositories' bulk `add_all`
        SqlBellSchedules(connection).add_all([bells()])
        SqlAcademicYears(connection).add_all([academic_year()])
        SqlOrganisations(connection).add_all(region.organisations)
        SqlTerminals(connection).add_all(region.terminals)
        SqlServers(connection).add_all(region.servers)
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


# --- databases ------------------------------------------------------------------------------------
@contextmanager
def postgres_schema(server_url: str, name: str) -> Iterator[str]:
    """A fresh schema `name` in the benchmark database (the database is created if absent)."""
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
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={name},public"}).render_as_string(
            False
        )
    finally:
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


def run_database(kind: str, scale: Scale, pg_url: str, tmp: Path) -> dict[str, Any]:
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
            free = FreeSlots(region, seed=3)
            start_up_done()  # as `vks serve` does: the region built above is not scanned
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


def show(title: str, figures: dict[str, Any]) -> None:
    print(f"   {title}:")
    for name, value in figures.items():
        print(f"     {name:34} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a tenth of the region")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("VKS_BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    )
    args = parser.parse_args()
    scale = QUICK if args.quick else FULL
    kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    report: dict[str, Any] = {
        "scale": vars(scale),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "targets": {"create_p99_ms_service_postgres": 10, "availability_ms": 50, "import_s": 60},
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="vks-bench-") as tmp:
        for kind in kinds:
            report[kind] = run_database(kind, scale, args.postgres_url, Path(tmp))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
