"""A small Kuzbass region for the monitor's specifications, its equipment live simulators.

«МБОУ «СОШ №20»» (Кемерово, network «Сеть СОШ №20») has a Cisco codec in its assembly hall
with an ONVIF camera beside it and a Poly codec in its IT room; «МБОУ «СОШ №7»»
(Новокузнецк) has one codec; the RCC runs one BigBlueButton server. Every organisation
has an e-mail contact, so alerts have someone to reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from booking.access import Principal, Role
from booking.bookings import OccurrenceState, Participant, SessionKind
from booking.health_memory import MemoryHealthStore
from booking.health_records import SessionRow, camera_device, server_device, terminal_device
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Camera, ConferenceServer, PlatformKind, Terminal, TerminalVendor
from booking.schoolyear import AcademicYear, Quarter
from booking.services.bookings import BookingRequest, create_booking
from simulators.bbb import BbbServer
from simulators.hosting import SimHost
from simulators.onvif import OnvifCamera
from simulators.terminal import Terminal as SimTerminal

TZ = "Asia/Novokuznetsk"
PASSWORD = "secret"
BBB_SECRET = "kuzbass-bbb-secret"

EMAILS = {
    "kuzbass": "rcc@vks.kuzbass.example.ru",
    "kemerovo": "ict@kemerovo-edu.example.ru",
    "kem-net-1": "base-school20@example.ru",
    "kem-school-20": "school20@example.ru",
    "novokuznetsk": "ict@nvkz-edu.example.ru",
    "nvkz-school-7": "school7@example.ru",
}


def _org(id: str, kind: OrgKind, name: str, parent: Organisation | None) -> Organisation:
    return Organisation(
        id=id,
        kind=kind,
        name=name,
        parent_id=parent.id if parent else None,
        path=f"{parent.path}/{id}" if parent else id,
        time_zone=TZ,
        contacts={"email": EMAILS[id]},
    )


@dataclass
class SimRegion:
    host: SimHost
    rcc: Principal
    terminals: dict[str, SimTerminal] = field(default_factory=dict)
    cameras: dict[str, OnvifCamera] = field(default_factory=dict)
    servers: dict[str, BbbServer] = field(default_factory=dict)

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
        result = create_booking(
            uow_factory(),
            self.rcc,
            BookingRequest(
                title=title,
                kind=SessionKind.FULL_BROADCAST,
                host_school_id="kem-school-20",
                teacher="Петрова Анна Сергеевна",
                participants=participants,
                platform=PlatformKind.BBB,
                setup_minutes=setup_minutes,
                expected_participants=25,
                subject="Физика",
                start=start,
                end=start + timedelta(minutes=minutes),
            ),
            now=datetime.now(UTC),
        )
        return result.occurrences[0].id


def _site(terminal_id: str) -> str:
    return "nvkz-school-7" if terminal_id.startswith("term-nvkz") else "kem-school-20"


TERMINALS = (
    ("term-kem-20-hall", "kem-school-20", "Актовый зал", "cisco_xapi"),
    ("term-kem-20-it", "kem-school-20", "Кабинет информатики", "poly_rest"),
    ("term-nvkz-7", "nvkz-school-7", "Кабинет физики", "cisco_xapi"),
)


def organisations() -> list[Organisation]:
    """The region, its two municipalities, the network of school 20 and the two schools."""
    region = _org("kuzbass", OrgKind.REGION, "Кемеровская область — Кузбасс", None)
    region.study_days = 7  # lessons run today, whatever the weekday
    kemerovo = _org("kemerovo", OrgKind.MUNICIPALITY, "Кемеровский городской округ", region)
    net = _org("kem-net-1", OrgKind.NETWORK, "Сеть СОШ №20", kemerovo)
    net.base_school_id = "kem-school-20"
    school20 = _org("kem-school-20", OrgKind.SCHOOL, "МБОУ «СОШ №20»", net)
    nvkz = _org("novokuznetsk", OrgKind.MUNICIPALITY, "Новокузнецкий городской округ", region)
    school7 = _org("nvkz-school-7", OrgKind.SCHOOL, "МБОУ «СОШ №7»", nvkz)
    return [region, kemerovo, net, school20, nvkz, school7]


def start_region(uow_factory: Callable[[], UnitOfWork], *, feedback_url: str = "") -> SimRegion:
    """Start the simulators on free ports, then store the region pointing at them."""
    host = SimHost().start()
    sims = SimRegion(
        host=host,
        rcc=Principal(
            user_id="rcc-operator", role=Role.RCC_OPERATOR, org_id="kuzbass", org_path="kuzbass"
        ),
    )
    bbb = BbbServer("bbb-1", BBB_SECRET, max_meetings=40, max_participants=400, name="BBB РКЦ №1")
    port = host.add(bbb)
    sims.servers["bbb-1"] = bbb
    server = ConferenceServer(
        id="bbb-1",
        kind=PlatformKind.BBB,
        name="BBB РКЦ №1",
        base_url=f"http://127.0.0.1:{port}/bigbluebutton/",
        secret_ref=f"inline:{BBB_SECRET}",
        max_rooms=40,
        max_participants=400,
        gateway_sip_host=f"127.0.0.1:{port}",
        gateway_ports=60,
    )
    terminals: list[Terminal] = []
    cameras: list[Camera] = []
    for tid, site, name, vendor in TERMINALS:
        device = SimTerminal(
            tid, "admin", PASSWORD, vendor=vendor, name=name, feedback_url=feedback_url or None
        )
        port = host.add(device)
        sims.terminals[tid] = device
        terminals.append(
            Terminal(
                id=tid,
                site_id=site,
                name=name,
                vendor=TerminalVendor(vendor),
                sip_address=device.sip_address,
                control_url=f"http://127.0.0.1:{port}",
                username="admin",
                credentials_ref=f"inline:{PASSWORD}",
            )
        )
    camera = OnvifCamera("cam-kem-20-hall", "admin", PASSWORD)
    port = host.add(camera)
    sims.cameras[camera.id] = camera
    cameras.append(
        Camera(
            id=camera.id,
            terminal_id="term-kem-20-hall",
            onvif_url=f"http://127.0.0.1:{port}",
            username="admin",
            credentials_ref=f"inline:{PASSWORD}",
        )
    )
    today = datetime.now(UTC).date()
    year = AcademicYear(
        id="current",
        start=today - timedelta(days=60),
        end=today + timedelta(days=60),
        quarters=[Quarter(1, today - timedelta(days=60), today + timedelta(days=60))],
        holidays=[],
        public_holidays=[],
        shortened_days=[],
    )
    with uow_factory() as uow:
        uow.academic_years.add(year)
        for org in organisations():
            uow.organisations.add(org)
        for terminal in terminals:
            uow.terminals.add(terminal)
        for cam in cameras:
            uow.cameras.add(cam)
        uow.servers.add(server)
        uow.commit()
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
        terminals[tid] = Terminal(
            id=tid,
            site_id=site,
            name=name,
            vendor=TerminalVendor(vendor),
            sip_address=f"sip:{tid}@vks.kuzbass.example.ru",
            control_url=f"http://127.0.0.1:{18001 + number}",
            credentials_ref=f"inline:{PASSWORD}",
        )
        store.add_device(terminal_device(terminals[tid], orgs[site].name, orgs[site].path))
    hall = terminals["term-kem-20-hall"]
    camera = Camera("cam-kem-20-hall", hall.id, "http://127.0.0.1:18010", "admin", "inline:x")
    school = orgs[hall.site_id]
    store.add_device(camera_device(camera, hall, school.name, school.path))
    store.add_device(
        server_device(
            ConferenceServer(
                "bbb-1",
                PlatformKind.BBB,
                "BBB РКЦ №1",
                "http://127.0.0.1:18020/bigbluebutton/",
                f"inline:{BBB_SECRET}",
                max_rooms=40,
                max_participants=400,
            )
        )
    )
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
