"""A small piece of the Kemerovo region for storage tests: three schools of a network
around СОШ №20 in Кемерово, one school in another time zone, terminals with cameras, a
BBB and a Jitsi server, the standard bells and the 2026/27 academic year."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time

from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bells import BellSchedule
from booking.organisations import Organisation, OrgKind
from booking.resources import Camera, ConferenceServer, PlatformKind, Terminal, TerminalVendor
from booking.schoolyear import AcademicYear, Holiday, Quarter

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
