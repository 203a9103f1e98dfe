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
from datetime import UTC, date, datetime

from booking.access import Principal, Role
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Terminal
from tests.builders import (
    KEMEROVO_TZ,
    MOSCOW_TZ,
    a_bbb_server,
    a_jitsi_server,
    a_municipality,
    a_network,
    a_principal,
    a_school,
    a_school_year,
    a_terminal,
    an_organisation,
    t,
    the_kemerovo_network,
    the_standard_bells,
)
from tests.builders import seed as seed_reference_data

__all__ = [
    "BEFORE_YEAR",
    "KEMEROVO_TZ",
    "MOSCOW_TZ",
    "STANDARD_BELLS",
    "YEAR_2026_27",
    "Region",
    "org",
    "principal",
    "seed_region",
    "t",
    "terminal",
]

# "now" for most specifications: a week before the school year starts
BEFORE_YEAR = datetime(2026, 8, 25, 3, 0, tzinfo=UTC)

STANDARD_BELLS = the_standard_bells()

# the booking specifications' calendar: the third quarter starts a day earlier and the
# spring holidays a day later than in `the_year_2026_27()`, with every public holiday
YEAR_2026_27 = a_school_year(
    [
        (date(2026, 9, 1), date(2026, 10, 24)),
        (date(2026, 11, 5), date(2026, 12, 28)),
        (date(2027, 1, 11), date(2027, 3, 21)),
        (date(2027, 4, 1), date(2027, 5, 31)),
    ],
    {
        "Осенние каникулы": (date(2026, 10, 25), date(2026, 11, 4)),
        "Зимние каникулы": (date(2026, 12, 29), date(2027, 1, 10)),
        "Весенние каникулы": (date(2027, 3, 22), date(2027, 3, 31)),
    },
    public_holidays=[
        *(date(2026, 11, 4), date(2027, 1, 1), date(2027, 1, 7), date(2027, 2, 23)),
        *(date(2027, 3, 8), date(2027, 5, 1), date(2027, 5, 3), date(2027, 5, 9)),
        date(2027, 5, 10),
    ],
    shortened_days=[date(2026, 12, 28), date(2027, 3, 5)],
)


def org(
    id: str, kind: OrgKind, name: str, parent: Organisation | None, tz: str = KEMEROVO_TZ
) -> Organisation:
    bells = "standard" if kind == OrgKind.SCHOOL else None
    return an_organisation(id, kind, name, parent, tz=tz, bell_schedule_id=bells)


def terminal(id: str, site: str, name: str, port: int, active: bool = True) -> Terminal:
    return a_terminal(id, site, name, port=port, active=active)


@dataclass
class Region:
    rcc: Principal
    network_admin: Principal  # Kemerovo network of СОШ №20
    other_network_admin: Principal  # Novokuznetsk network
    local_coordinator: Principal  # СОШ №12
    scheduler: Principal  # the external timetable scheduler, for the Kemerovo network
    viewer: Principal


principal = a_principal


def seed_region(uow_factory: Callable[[], UnitOfWork]) -> Region:
    region, kemerovo, net = the_kemerovo_network()
    school20 = a_school(
        "kem-school-20", "МБОУ «СОШ №20»", net, address="г. Кемерово, пр. Ленина, 1"
    )
    school12 = a_school("kem-school-12", "МБОУ «СОШ №12»", net)
    insar = a_school("insar-school-1", "МБОУ «Инсарская СОШ №1»", net, tz=MOSCOW_TZ)
    novokuznetsk = a_municipality("novokuznetsk", "Новокузнецкий городской округ", region)
    nvk_net = a_network("nvk-net-1", "Сеть СОШ №5", novokuznetsk)
    school5 = a_school("nvk-school-5", "МБОУ «СОШ №5»", nvk_net)
    seed_reference_data(
        uow_factory,
        bells=[STANDARD_BELLS],
        years=[YEAR_2026_27],
        organisations=[
            *(region, kemerovo, net, school20, school12, insar),
            *(novokuznetsk, nvk_net, school5),
        ],
        terminals=[
            terminal("term-kem-20-hall", "kem-school-20", "Актовый зал", 18001),
            terminal("term-kem-20-it", "kem-school-20", "Кабинет информатики", 18002),
            terminal("term-kem-12", "kem-school-12", "Кабинет 12", 18003),
            terminal("term-kem-12-old", "kem-school-12", "Старый кодек", 18004, active=False),
            terminal("term-insar-1", "insar-school-1", "Кабинет 5", 18005),
            terminal("term-nvk-5", "nvk-school-5", "Библиотека", 18006),
            terminal("term-rcc-1", "kuzbass", "Студия РКЦ", 18007),
        ],
        servers=[a_jitsi_server(), a_bbb_server()],
    )
    return Region(
        rcc=principal(Role.RCC_OPERATOR, region, "rcc-operator"),
        network_admin=principal(Role.NETWORK_ADMIN, net, "admin-kem-net-1"),
        other_network_admin=principal(Role.NETWORK_ADMIN, nvk_net, "admin-nvk-net-1"),
        local_coordinator=principal(Role.LOCAL_COORDINATOR, school12, "coord-kem-12"),
        scheduler=principal(Role.SCHEDULER, net, "scheduler-kem-net-1"),
        viewer=principal(Role.VIEWER, region, "viewer"),
    )
