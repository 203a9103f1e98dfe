"""A small Kuzbass region for the monitor's specifications, its equipment live simulators.

«МБОУ «СОШ №20»» (Кемерово, network «Сеть СОШ №20») has a Cisco codec in its assembly hall
with an ONVIF camera beside it and a Poly codec in its IT room; «МБОУ «СОШ №7»»
(Новокузнецк) has one codec; the RCC runs one BigBlueButton server. Every organisation
has an e-mail contact, so alerts have someone to reach.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from booking.bookings import OccurrenceState, Participant, SessionKind
from booking.health_memory import MemoryHealthStore
from booking.health_records import SessionRow, camera_device, server_device, terminal_device
from booking.organisations import Organisation
from booking.repository import UnitOfWork
from booking.resources import TerminalVendor
from simulators.hosting import SimHost
from tests.builders import (
    BBB_SECRET,
    KEMEROVO_TZ,
    PASSWORD,
    SimulatedRegion,
    a_bbb_server,
    a_camera,
    a_municipality,
    a_school,
    a_terminal,
    a_year_around,
    book_lesson,
    seed,
    the_kemerovo_network,
    the_rcc_operator,
)

__all__ = [
    "BBB_SECRET",
    "EMAILS",
    "PASSWORD",
    "TERMINALS",
    "TZ",
    "SimRegion",
    "memory_region",
    "organisations",
    "site_path",
    "start_region",
    "watched_lesson",
]

TZ = KEMEROVO_TZ

EMAILS = {
    "kuzbass": "rcc@vks.kuzbass.example.ru",
    "kemerovo": "ict@kemerovo-edu.example.ru",
    "kem-net-1": "base-school20@example.ru",
    "kem-school-20": "school20@example.ru",
    "novokuznetsk": "ict@nvkz-edu.example.ru",
    "nvkz-school-7": "school7@example.ru",
}


class SimRegion(SimulatedRegion):
    def book(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        title: str,
        start: datetime,
        minutes: int = 40,
        terminals: tuple[str, ...] = ("term-kem-20-hall",),
        setup_minutes: int = 10,
    ) -> str:
        """Book one full online lesson through the booking service; its occurrence id."""
        participants = [
            Participant(_site(t), t, "board", f"{9 + i}А") for i, t in enumerate(terminals)
        ]
        _, occurrence_id = book_lesson(
            uow_factory,
            self.rcc,
            title=title,
            start=start,
            end=start + timedelta(minutes=minutes),
            participants=participants,
            teacher="Петрова Анна Сергеевна",
            setup_minutes=setup_minutes,
            expected_participants=25,
        )
        return occurrence_id


def _site(terminal_id: str) -> str:
    return "nvkz-school-7" if terminal_id.startswith("term-nvkz") else "kem-school-20"


TERMINALS = (
    ("term-kem-20-hall", "kem-school-20", "Актовый зал", "cisco_xapi"),
    ("term-kem-20-it", "kem-school-20", "Кабинет информатики", "poly_rest"),
    ("term-nvkz-7", "nvkz-school-7", "Кабинет физики", "cisco_xapi"),
)


def organisations() -> list[Organisation]:
    """The region, its two municipalities, the network of school 20 and the two schools."""

    def contacts(id: str) -> dict[str, str]:
        return {"email": EMAILS[id]}

    region, kemerovo, net = the_kemerovo_network(contacts)
    region.study_days = 7  # lessons run today, whatever the weekday
    school20 = a_school(
        "kem-school-20", "МБОУ «СОШ №20»", net, contacts=contacts("kem-school-20"),
        bell_schedule_id=None,
    )  # fmt: skip
    nvkz = a_municipality(
        "novokuznetsk", "Новокузнецкий городской округ", region, contacts=contacts("novokuznetsk")
    )
    school7 = a_school(
        "nvkz-school-7", "МБОУ «СОШ №7»", nvkz, contacts=contacts("nvkz-school-7"),
        bell_schedule_id=None,
    )  # fmt: skip
    return [region, kemerovo, net, school20, nvkz, school7]


def start_region(uow_factory: Callable[[], UnitOfWork], *, feedback_url: str = "") -> SimRegion:
    """Start the simulators on free ports, then store the region pointing at them."""
    orgs = organisations()
    sims = SimRegion(host=SimHost().start(), rcc=the_rcc_operator(orgs[0]))
    server = sims.host_bbb()
    terminals = [
        sims.host_terminal(tid, site, name, vendor=vendor, feedback_url=feedback_url or None)
        for tid, site, name, vendor in TERMINALS
    ]
    camera = sims.host_camera("term-kem-20-hall")
    seed(
        uow_factory,
        years=[a_year_around(datetime.now(UTC).date())],
        organisations=orgs,
        terminals=terminals,
        cameras=[camera],
        servers=[server],
    )
    return sims


def memory_region() -> MemoryHealthStore:
    """The same region in an in-memory health store, for the specifications of the
    monitor's decisions (no simulators: their checks are scripted)."""
    store = MemoryHealthStore()
    orgs = {org.id: org for org in organisations()}
    for org in orgs.values():
        store.add_organisation(org.id, str(org.kind), org.path, org.contacts)
    terminals = {}
    for number, (tid, site, name, vendor) in enumerate(TERMINALS):
        terminals[tid] = a_terminal(
            tid,
            site,
            name,
            vendor=TerminalVendor(vendor),
            sip_address=f"sip:{tid}@vks.kuzbass.example.ru",
            port=18001 + number,
        )
        store.add_device(terminal_device(terminals[tid], orgs[site].name, orgs[site].path))
    hall = terminals["term-kem-20-hall"]
    camera = a_camera(hall.id, port=18010, credentials_ref="inline:x")
    school = orgs[hall.site_id]
    store.add_device(camera_device(camera, hall, school.name, school.path))
    server = a_bbb_server(port=18020, secret_ref=f"inline:{BBB_SECRET}", gateway_ports=0)
    store.add_device(server_device(server))
    return store


def site_path(site_id: str) -> str:
    """The organisation path of a school of the region."""
    return next(org.path for org in organisations() if org.id == site_id)


def watched_lesson(
    occurrence_id: str,
    start: datetime,
    *,
    title: str = "Физика 9А — СОШ №20",
    terminals: tuple[str, ...] = ("term-kem-20-hall",),
    server_id: str | None = "bbb-1",
    platform: str | None = "bbb",
    at_risk: str = "",
) -> SessionRow:
    """A 40-minute full broadcast with a 10-minute set-up, as the monitor watches it."""
    return SessionRow(
        occurrence_id,
        title,
        SessionKind.FULL_BROADCAST,
        OccurrenceState.SCHEDULED,
        start - timedelta(minutes=10),
        start,
        start + timedelta(minutes=40),
        at_risk,
        server_id,
        platform,
        list(terminals),
    )
