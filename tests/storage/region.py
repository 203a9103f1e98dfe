"""A small piece of the Kemerovo region for storage tests: three schools of a network
around СОШ №20 in Кемерово, one school in another time zone, terminals with cameras, a
BBB and a Jitsi server, the standard bells and the 2026/27 academic year; and builders of
bookings, occurrences and whole timetables over it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bells import BellSchedule
from booking.bookings import Booking, Occurrence, Participant, Recurrence, Reservation, SessionKind
from booking.organisations import Organisation, OrgKind
from booking.recurrence import expand
from booking.resources import Camera, ConferenceServer, PlatformKind, Terminal, TerminalVendor
from booking.schoolyear import AcademicYear, Holiday, Quarter

UowFactory = Callable[[], SqlUnitOfWork]
NOVOKUZNETSK = "Asia/Novokuznetsk"
MOSCOW = "Europe/Moscow"


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
    lessons = {
        1: (time(8, 0), time(8, 40)),
        2: (time(8, 50), time(9, 30)),
        3: (time(9, 45), time(10, 25)),
        4: (time(10, 40), time(11, 20)),
        5: (time(11, 30), time(12, 10)),
        6: (time(12, 20), time(13, 0)),
    }
    shortened = {
        1: (time(8, 0), time(8, 30)),
        2: (time(8, 40), time(9, 10)),
        3: (time(9, 20), time(9, 50)),
    }
    return BellSchedule(
        id="standard", name="Основное расписание звонков", lessons=lessons, shortened=shortened
    )


def year_2026() -> AcademicYear:
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
        public_holidays=[date(2026, 11, 4), date(2027, 2, 23), date(2027, 3, 8), date(2027, 5, 1)],
        shortened_days=[date(2026, 12, 28)],
    )


def kuzbass() -> Region:
    region = Region()
    orgs = region.organisations
    orgs.append(
        Organisation(
            "kuzbass",
            OrgKind.REGION,
            "Кемеровская область — Кузбасс",
            None,
            "kuzbass",
            NOVOKUZNETSK,
        )
    )
    orgs.append(
        Organisation(
            "kemerovo",
            OrgKind.MUNICIPALITY,
            "Кемеровский городской округ",
            "kuzbass",
            "kuzbass/kemerovo",
            NOVOKUZNETSK,
        )
    )
    orgs.append(
        Organisation(
            "kem-net-1",
            OrgKind.NETWORK,
            "Сеть СОШ №20",
            "kemerovo",
            "kuzbass/kemerovo/kem-net-1",
            NOVOKUZNETSK,
            base_school_id="kem-school-20",
        )
    )
    for number, street in (
        (20, "ул. Весенняя, 12"),
        (41, "пр. Ленина, 77"),
        (92, "ул. Тухачевского, 3"),
    ):
        orgs.append(
            Organisation(
                f"kem-school-{number}",
                OrgKind.SCHOOL,
                f"МБОУ «СОШ №{number}»",
                "kem-net-1",
                f"kuzbass/kemerovo/kem-net-1/kem-school-{number}",
                NOVOKUZNETSK,
                address=f"г. Кемерово, {street}",
                contacts={
                    "phone": f"+7 3842 00-00-{number:02d}",
                    "email": f"school{number}@example.ru",
                },
                bell_schedule_id="standard",
            )
        )
    orgs.append(
        Organisation(
            "insar",
            OrgKind.MUNICIPALITY,
            "Инсарский муниципальный район",
            "kuzbass",
            "kuzbass/insar",
            MOSCOW,
        )
    )
    orgs.append(
        Organisation(
            "insar-school-1",
            OrgKind.SCHOOL,
            "МБОУ «Инсарская СОШ №1»",
            "insar",
            "kuzbass/insar/insar-school-1",
            MOSCOW,
            bell_schedule_id="standard",
        )
    )
    region.bells.append(standard_bells())
    region.years.append(year_2026())
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
                Terminal(
                    id=terminal_id,
                    site_id=school,
                    name="Актовый зал" if n == 1 else f"Кабинет информатики {n}",
                    vendor=TerminalVendor.CISCO_XAPI if n == 1 else TerminalVendor.POLY_REST,
                    sip_address=f"sip:{terminal_id}@vks.example.ru",
                    control_url=f"http://127.0.0.1:{18000 + len(region.terminals)}",
                    credentials_ref=f"env:VKS_TERM_{short.upper()}_{n}_PASSWORD",
                )
            )
            region.cameras.append(
                Camera(
                    id=f"cam-{short}-{n}",
                    terminal_id=terminal_id,
                    onvif_url=f"http://127.0.0.1:{18100 + len(region.cameras)}",
                    credentials_ref="inline:secret",
                )
            )
    region.servers.append(
        ConferenceServer(
            "bbb-1",
            PlatformKind.BBB,
            "BBB РКЦ №1",
            "http://127.0.0.1:18201/bigbluebutton/",
            "inline:demo-bbb-secret",
            max_rooms=40,
            max_participants=400,
            gateway_sip_host="127.0.0.1:18201",
            gateway_ports=60,
        )
    )
    region.servers.append(
        ConferenceServer(
            "jitsi-1",
            PlatformKind.JITSI,
            "Jitsi РКЦ",
            "http://127.0.0.1:18301/",
            "inline:demo-jitsi-secret",
            max_rooms=20,
            max_participants=200,
        )
    )
    return region


def seed(uow_factory: Callable[[], SqlUnitOfWork], region: Region) -> None:
    with uow_factory() as uow:
        uow.bell_schedules.add_all(region.bells)
        uow.academic_years.add_all(region.years)
        uow.organisations.add_all(region.organisations)
        uow.terminals.add_all(region.terminals)
        uow.cameras.add_all(region.cameras)
        uow.servers.add_all(region.servers)
        uow.commit()


# --- bookings and their occurrences ------------------------------------------------------
KEMEROVO = ZoneInfo("Asia/Novokuznetsk")


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=KEMEROVO)


def weekly_lesson(booking_id: str = "b-physics-7a", external_ref: str | None = None) -> Booking:
    return Booking(
        id=booking_id,
        title="Физика, 7А — дистанционный урок",
        kind=SessionKind.FULL_BROADCAST,
        organiser_id="u-net-admin",
        owner_org_id="kem-net-1",
        host_school_id="kem-school-20",
        teacher="Иванова Мария Петровна",
        participants=[
            Participant("kem-school-20", "term-kem20-1", "teacher", "7А"),
            Participant("kem-school-41", "term-kem41-1", "class", "7Б"),
        ],
        platform=PlatformKind.BBB,
        setup_minutes=10,
        expected_participants=45,
        subject="Физика",
        recurrence=Recurrence(
            weekdays=[1, 3],
            starts_on=date(2026, 9, 1),
            ends_on=date(2026, 10, 24),
            lesson_number=3,
            week_parity="A",
        ),
        external_ref=external_ref,
        created_at=datetime(2026, 8, 20, 3, 15, tzinfo=UTC),
    )


def occurrence_of(
    booking: Booking, day: date, start: time, end: time, occurrence_id: str | None = None
) -> Occurrence:
    begins, ends = local(day, start), local(day, end)
    return Occurrence(
        id=occurrence_id or f"{booking.id}-{day:%Y%m%d}",
        booking_id=booking.id,
        start=begins,
        end=ends,
        setup_start=begins - timedelta(minutes=booking.setup_minutes),
        local_date=day,
        lesson_number=3,
        terminal_ids=list(booking.terminal_ids),
    )


def reservations_of(occurrence: Occurrence) -> list[Reservation]:
    return [
        Reservation(occurrence.id, occurrence.booking_id, t, occurrence.setup_start, occurrence.end)
        for t in occurrence.terminal_ids
    ]


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
            booking = Booking(
                id=f"{terminal_id}-L{lesson}",
                title=f"Урок {lesson}",
                kind=SessionKind.FULL_BROADCAST,
                organiser_id="u-import",
                owner_org_id=site.id,
                host_school_id=site.id,
                teacher="Сетевой педагог",
                participants=[Participant(site.id, terminal_id, "teacher", f"{lesson + 4}А")],
                recurrence=recurrence,
                external_ref=f"timetable/{terminal_id}/{lesson}",
                created_at=datetime(2026, 8, 20, tzinfo=UTC),
            )
            found[0].append(booking)
            slots = expand(recurrence, zone=ZoneInfo(site.time_zone), year=year, bells=bells,
                           max_days=400).slots  # fmt: skip
            for slot in slots:
                occurrence = Occurrence(
                    id=f"{booking.id}-{slot.local_date:%Y%m%d}", booking_id=booking.id,
                    start=slot.start, end=slot.end, setup_start=slot.start - timedelta(minutes=10),
                    local_date=slot.local_date, lesson_number=lesson, terminal_ids=[terminal_id],
                )  # fmt: skip
                found[1].append(occurrence)
                found[2].append(
                    Reservation(
                        occurrence.id,
                        booking.id,
                        terminal_id,
                        occurrence.setup_start,
                        occurrence.end,
                    )
                )
    return found
