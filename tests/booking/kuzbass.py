"""A small, realistic test region for the booking specifications.

Kuzbass (the RCC, Asia/Novokuznetsk, UTC+7) → Kemerovo → the network of «МБОУ «СОШ №20»»
with «МБОУ «СОШ №12»» and a remote partner school in Moscow time, «МБОУ «Инсарская СОШ №1»»
(Europe/Moscow, UTC+3); Novokuznetsk → its own network around «МБОУ «СОШ №5»». One bell
schedule (08:00–08:40, 08:50–09:30, …; shortened days 30-minute lessons), the 2026/27
academic year with its quarters, holidays and public holidays, terminals, and one Jitsi
and one BigBlueButton server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from booking.access import Principal, Role
from booking.bells import BellSchedule
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import ConferenceServer, PlatformKind, Terminal, TerminalVendor
from booking.schoolyear import AcademicYear, Holiday, Quarter

KEMEROVO_TZ = "Asia/Novokuznetsk"
MOSCOW_TZ = "Europe/Moscow"

# "now" for most specifications: a week before the school year starts
BEFORE_YEAR = datetime(2026, 8, 25, 3, 0, tzinfo=UTC)


def t(value: str) -> time:
    return time.fromisoformat(value)


STANDARD_BELLS = BellSchedule(
    id="standard",
    name="Основное расписание звонков",
    lessons={
        1: (t("08:00"), t("08:40")),
        2: (t("08:50"), t("09:30")),
        3: (t("09:45"), t("10:25")),
        4: (t("10:40"), t("11:20")),
        5: (t("11:30"), t("12:10")),
        6: (t("12:20"), t("13:00")),
        7: (t("13:10"), t("13:50")),
    },
    shortened={
        1: (t("08:00"), t("08:30")),
        2: (t("08:40"), t("09:10")),
        3: (t("09:20"), t("09:50")),
        4: (t("10:00"), t("10:30")),
        5: (t("10:40"), t("11:10")),
        6: (t("11:20"), t("11:50")),
    },
)

YEAR_2026_27 = AcademicYear(
    id="2026-2027",
    start=date(2026, 9, 1),
    end=date(2027, 5, 31),
    quarters=[
        Quarter(1, date(2026, 9, 1), date(2026, 10, 24)),
        Quarter(2, date(2026, 11, 5), date(2026, 12, 28)),
        Quarter(3, date(2027, 1, 11), date(2027, 3, 21)),
        Quarter(4, date(2027, 4, 1), date(2027, 5, 31)),
    ],
    holidays=[
        Holiday("Осенние каникулы", date(2026, 10, 25), date(2026, 11, 4)),
        Holiday("Зимние каникулы", date(2026, 12, 29), date(2027, 1, 10)),
        Holiday("Весенние каникулы", date(2027, 3, 22), date(2027, 3, 31)),
    ],
    public_holidays=[
        date(2026, 11, 4),
        date(2027, 1, 1),
        date(2027, 1, 7),
        date(2027, 2, 23),
        date(2027, 3, 8),
        date(2027, 5, 1),
        date(2027, 5, 3),
        date(2027, 5, 9),
        date(2027, 5, 10),
    ],
    shortened_days=[date(2026, 12, 28), date(2027, 3, 5)],
)


def org(
    id: str, kind: OrgKind, name: str, parent: Organisation | None, tz: str = KEMEROVO_TZ
) -> Organisation:
    return Organisation(
        id=id,
        kind=kind,
        name=name,
        parent_id=parent.id if parent else None,
        path=f"{parent.path}/{id}" if parent else id,
        time_zone=tz,
        bell_schedule_id="standard" if kind == OrgKind.SCHOOL else None,
    )


def terminal(id: str, site: str, name: str, port: int, active: bool = True) -> Terminal:
    return Terminal(
        id=id,
        site_id=site,
        name=name,
        vendor=TerminalVendor.CISCO_XAPI,
        sip_address=f"sip:{id}@vks.example.ru",
        control_url=f"http://127.0.0.1:{port}",
        credentials_ref="inline:secret",
        active=active,
    )


@dataclass
class Region:
    rcc: Principal
    network_admin: Principal  # Kemerovo network of СОШ №20
    other_network_admin: Principal  # Novokuznetsk network
    local_coordinator: Principal  # СОШ №12
    scheduler: Principal  # the external timetable scheduler, for the Kemerovo network
    viewer: Principal


def principal(role: Role, o: Organisation, user: str) -> Principal:
    return Principal(user_id=user, role=role, org_id=o.id, org_path=o.path)


def seed_region(uow_factory: Callable[[], UnitOfWork]) -> Region:
    region = org("kuzbass", OrgKind.REGION, "Кемеровская область — Кузбасс", None)
    kemerovo = org("kemerovo", OrgKind.MUNICIPALITY, "Кемеровский городской округ", region)
    net = org("kem-net-1", OrgKind.NETWORK, "Сеть СОШ №20", kemerovo)
    net.base_school_id = "kem-school-20"
    school20 = org("kem-school-20", OrgKind.SCHOOL, "МБОУ «СОШ №20»", net)
    school20.address = "г. Кемерово, пр. Ленина, 1"
    school12 = org("kem-school-12", OrgKind.SCHOOL, "МБОУ «СОШ №12»", net)
    insar = org("insar-school-1", OrgKind.SCHOOL, "МБОУ «Инсарская СОШ №1»", net, MOSCOW_TZ)
    novokuznetsk = org(
        "novokuznetsk", OrgKind.MUNICIPALITY, "Новокузнецкий городской округ", region
    )
    nvk_net = org("nvk-net-1", OrgKind.NETWORK, "Сеть СОШ №5", novokuznetsk)
    school5 = org("nvk-school-5", OrgKind.SCHOOL, "МБОУ «СОШ №5»", nvk_net)
    with uow_factory() as uow:
        uow.bell_schedules.add(STANDARD_BELLS)
        uow.academic_years.add(YEAR_2026_27)
        for o in (region, kemerovo, net, school20, school12, insar, novokuznetsk, nvk_net, school5):
            uow.organisations.add(o)
        for item in (
            terminal("term-kem-20-hall", "kem-school-20", "Актовый зал", 18001),
            terminal("term-kem-20-it", "kem-school-20", "Кабинет информатики", 18002),
            terminal("term-kem-12", "kem-school-12", "Кабинет 12", 18003),
            terminal("term-kem-12-old", "kem-school-12", "Старый кодек", 18004, active=False),
            terminal("term-insar-1", "insar-school-1", "Кабинет 5", 18005),
            terminal("term-nvk-5", "nvk-school-5", "Библиотека", 18006),
            terminal("term-rcc-1", "kuzbass", "Студия РКЦ", 18007),
        ):
            uow.terminals.add(item)
        uow.servers.add(
            ConferenceServer(
                id="jitsi-1",
                kind=PlatformKind.JITSI,
                name="Jitsi РКЦ",
                base_url="http://127.0.0.1:18301/",
                secret_ref="inline:demo-jitsi",
                max_rooms=40,
                max_participants=400,
                gateway_sip_host="127.0.0.1:18301",
                gateway_ports=60,
            )
        )
        uow.servers.add(
            ConferenceServer(
                id="bbb-1",
                kind=PlatformKind.BBB,
                name="BBB РКЦ №1",
                base_url="http://127.0.0.1:18201/bigbluebutton/",
                secret_ref="inline:demo-bbb",
                max_rooms=40,
                max_participants=400,
                gateway_sip_host="127.0.0.1:18201",
                gateway_ports=60,
            )
        )
        uow.commit()
    return Region(
        rcc=principal(Role.RCC_OPERATOR, region, "rcc-operator"),
        network_admin=principal(Role.NETWORK_ADMIN, net, "admin-kem-net-1"),
        other_network_admin=principal(Role.NETWORK_ADMIN, nvk_net, "admin-nvk-net-1"),
        local_coordinator=principal(Role.LOCAL_COORDINATOR, school12, "coord-kem-12"),
        scheduler=principal(Role.SCHEDULER, net, "scheduler-kem-net-1"),
        viewer=principal(Role.VIEWER, region, "viewer"),
    )
