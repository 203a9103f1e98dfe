"""A small piece of the Kemerovo region for storage tests: three schools of a network
around СОШ №20 in Кемерово, one school in another time zone, terminals with cameras, a
BBB and a Jitsi server, the standard bells and the 2026/27 academic year; and builders of
bookings, occurrences and whole timetables over it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bells import BellSchedule
from booking.bookings import Booking, Occurrence, Participant, Recurrence, Reservation
from booking.organisations import Organisation
from booking.recurrence import expand
from booking.resources import Camera, ConferenceServer, Terminal, TerminalVendor
from booking.schoolyear import AcademicYear
from tests.builders import (
    KEMEROVO,
    KEMEROVO_TZ,
    MOSCOW_TZ,
    a_bbb_server,
    a_booking,
    a_camera,
    a_jitsi_server,
    a_municipality,
    a_school,
    a_terminal,
    an_occurrence,
    local,
    reservations_of,
    the_kemerovo_network,
    the_standard_bells,
    the_year_2026_27,
)
from tests.builders import seed as seed_reference_data

__all__ = [
    "KEMEROVO",
    "MOSCOW",
    "NOVOKUZNETSK",
    "Region",
    "Timetable",
    "UowFactory",
    "kuzbass",
    "local",
    "occurrence_of",
    "reservations_of",
    "seed",
    "standard_bells",
    "store",
    "weekly_lesson",
    "weekly_timetable",
    "year_2026",
]

UowFactory = Callable[[], SqlUnitOfWork]
NOVOKUZNETSK = KEMEROVO_TZ
MOSCOW = MOSCOW_TZ


@dataclass
class Region:
    organisations: list[Organisation] = field(default_factory=list)
    bells: list[BellSchedule] = field(default_factory=list)
    years: list[AcademicYear] = field(default_factory=list)
    terminals: list[Terminal] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)
    servers: list[ConferenceServer] = field(default_factory=list)

    def org(self, id: str) -> Organisation:
        return next(o for o in self.organisations if o.id == id)

    def terminal(self, id: str) -> Terminal:
        return next(t for t in self.terminals if t.id == id)


def standard_bells() -> BellSchedule:
    """Six lessons, three on shortened days."""
    return the_standard_bells(lessons=6, shortened=3)


def year_2026() -> AcademicYear:
    return the_year_2026_27()


def kuzbass() -> Region:
    region = Region(bells=[standard_bells()], years=[year_2026()])
    trunk = the_kemerovo_network()
    net = trunk[-1]
    region.organisations.extend(trunk)
    for number, street in (
        (20, "ул. Весенняя, 12"),
        (41, "пр. Ленина, 77"),
        (92, "ул. Тухачевского, 3"),
    ):
        contacts = {"phone": f"+7 3842 00-00-{number:02d}", "email": f"school{number}@example.ru"}
        region.organisations.append(
            a_school(
                f"kem-school-{number}",
                f"МБОУ «СОШ №{number}»",
                net,
                address=f"г. Кемерово, {street}",
                contacts=contacts,
            )
        )
    insar = a_municipality("insar", "Инсарский муниципальный район", trunk[0], tz=MOSCOW)
    region.organisations += [insar, a_school("insar-school-1", "МБОУ «Инсарская СОШ №1»", insar)]
    for school, count in (
        ("kem-school-20", 2),
        ("kem-school-41", 1),
        ("kem-school-92", 1),
        ("insar-school-1", 1),
        ("kuzbass", 1),
    ):
        for n in range(1, count + 1):
            short = school.replace("kem-school-", "kem").replace("insar-school-", "insar")
            terminal_id = f"term-{short}-{n}"
            region.terminals.append(
                a_terminal(
                    terminal_id,
                    school,
                    "Актовый зал" if n == 1 else f"Кабинет информатики {n}",
                    vendor=TerminalVendor.CISCO_XAPI if n == 1 else TerminalVendor.POLY_REST,
                    port=18000 + len(region.terminals),
                    credentials_ref=f"env:VKS_TERM_{short.upper()}_{n}_PASSWORD",
                )
            )
            region.cameras.append(a_camera(terminal_id, port=18100 + len(region.cameras)))
    region.servers.append(a_bbb_server(secret_ref="inline:demo-bbb-secret"))
    region.servers.append(
        a_jitsi_server(
            secret_ref="inline:demo-jitsi-secret",
            max_rooms=20,
            max_participants=200,
            gateway_ports=0,
        )
    )
    return region


def seed(uow_factory: Callable[[], SqlUnitOfWork], region: Region) -> None:
    seed_reference_data(
        uow_factory,
        bells=region.bells,
        years=region.years,
        organisations=region.organisations,
        terminals=region.terminals,
        cameras=region.cameras,
        servers=region.servers,
    )


# --- bookings and their occurrences ------------------------------------------------------
def weekly_lesson(booking_id: str = "b-physics-7a", external_ref: str | None = None) -> Booking:
    """Physics for 7А of СОШ №20 with 7Б of СОШ №41: lesson 3 on Tuesdays and Thursdays of
    the A weeks of the first quarter."""
    return a_booking(
        booking_id,
        recurrence=Recurrence(
            weekdays=[1, 3],
            starts_on=date(2026, 9, 1),
            ends_on=date(2026, 10, 24),
            lesson_number=3,
            week_parity="A",
        ),
        external_ref=external_ref,
    )


def occurrence_of(
    booking: Booking, day: date, start: time, end: time, occurrence_id: str | None = None
) -> Occurrence:
    return an_occurrence(booking, local(day, start), local(day, end), id=occurrence_id)


def store(
    uow_factory: UowFactory, booking: Booking, *occurrences: Occurrence, reserve: bool = True
) -> None:
    """Write a booking with its occurrences (and, if live, their reservations)."""
    with uow_factory() as uow:
        uow.bookings.add(booking)
        uow.occurrences.add_all(
            list(occurrences),
            [r for o in occurrences if reserve and not o.cancelled for r in reservations_of(o)],
        )
        uow.commit()


Timetable = tuple[list[Booking], list[Occurrence], list[Reservation]]


def weekly_timetable(region: Region, terminals: list[str], lessons: range) -> Timetable:
    """Every terminal gets lesson n on every weekday (Mon–Fri) of the 2026/27 year."""
    year = region.years[0]
    bells = region.bells[0]
    found: Timetable = ([], [], [])
    for terminal_id in terminals:
        site = region.org(region.terminal(terminal_id).site_id)
        for lesson in lessons:
            recurrence = Recurrence(
                weekdays=[0, 1, 2, 3, 4], starts_on=year.start, ends_on=year.end,
                lesson_number=lesson,
            )  # fmt: skip
            booking = a_booking(
                f"{terminal_id}-L{lesson}",
                title=f"Урок {lesson}",
                organiser_id="u-import",
                owner_org_id=site.id,
                host_school_id=site.id,
                teacher="Сетевой педагог",
                participants=[Participant(site.id, terminal_id, "teacher", f"{lesson + 4}А")],
                recurrence=recurrence,
                external_ref=f"timetable/{terminal_id}/{lesson}",
                created_at=datetime(2026, 8, 20, tzinfo=UTC),
                platform=None,
                expected_participants=30,
                subject="",
            )
            found[0].append(booking)
            slots = expand(recurrence, zone=ZoneInfo(site.time_zone), year=year, bells=bells,
                           max_days=400).slots  # fmt: skip
            for slot in slots:
                occurrence = an_occurrence(
                    booking, slot.start, slot.end, local_date=slot.local_date, lesson_number=lesson
                )
                found[1].append(occurrence)
                found[2].extend(reservations_of(occurrence))
    return found
