"""A small Kuzbass region whose equipment are live simulators on loopback ports.

«МБОУ «СОШ №20»» (with a spare codec in the IT room) teaches «МБОУ «СОШ №12»»; each
school has a terminal with an ONVIF camera beside it; the RCC has one BigBlueButton
server with its SIP video gateway. The academic year is built around today, so lessons
a few seconds from now are ordinary study-day lessons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from booking.access import Principal, Role
from booking.bookings import Participant, SessionKind
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import (
    Camera,
    ConferenceServer,
    PlatformKind,
    Terminal,
    TerminalVendor,
)
from booking.schoolyear import AcademicYear, Quarter
from booking.services.bookings import BookingRequest, create_booking
from simulators.bbb import BbbServer
from simulators.faults import Faults
from simulators.hosting import SimHost
from simulators.onvif import OnvifCamera
from simulators.terminal import Terminal as SimTerminal

TZ = "Asia/Novokuznetsk"
PASSWORD = "secret"
BBB_SECRET = "kuzbass-bbb-secret"


def _org(id: str, kind: OrgKind, name: str, parent: Organisation | None) -> Organisation:
    return Organisation(
        id=id,
        kind=kind,
        name=name,
        parent_id=parent.id if parent else None,
        path=f"{parent.path}/{id}" if parent else id,
        time_zone=TZ,
    )


@dataclass
class SimRegion:
    host: SimHost
    rcc: Principal
    terminals: dict[str, SimTerminal] = field(default_factory=dict)
    cameras: dict[str, OnvifCamera] = field(default_factory=dict)
    servers: dict[str, BbbServer] = field(default_factory=dict)

    def meetings_of(self, occurrence_id: str) -> list[tuple[str, object]]:
        """Every running meeting of the occurrence, on any server: (server id, meeting)."""
        return [
            (server_id, meeting)
            for server_id, server in self.servers.items()
            for meeting in server.meetings.by_id.values()
            if meeting.metadata.get("vks_occurrence_id") == occurrence_id
        ]

    def book(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        title: str,
        start: datetime,
        end: datetime,
        participants: list[Participant],
        kind: SessionKind = SessionKind.FULL_BROADCAST,
        now: datetime | None = None,
        broadcast_offset_minutes: int | None = None,
        broadcast_minutes: int | None = None,
    ) -> tuple[str, str]:
        """Book one lesson through the booking service; returns (booking, occurrence) ids."""
        result = create_booking(
            uow_factory(),
            self.rcc,
            BookingRequest(
                title=title,
                kind=kind,
                host_school_id="kem-school-20",
                teacher="Иванова Мария Петровна",
                participants=participants,
                platform=PlatformKind.BBB,
                setup_minutes=0,
                expected_participants=30,
                subject="Физика",
                start=start,
                end=end,
                broadcast_offset_minutes=broadcast_offset_minutes,
                broadcast_minutes=broadcast_minutes,
            ),
            now=now or datetime.now(UTC),
        )
        return result.booking.id, result.occurrences[0].id


SCHOOL_20 = Participant("kem-school-20", "term-kem-20-hall", "teacher", "8А")
SCHOOL_12 = Participant("kem-school-12", "term-kem-12", "board", "8Б")

TERMINALS = (  # id, school, room
    ("term-kem-20-hall", "kem-school-20", "Актовый зал"),
    ("term-kem-20-it", "kem-school-20", "Кабинет информатики"),  # the spare: no camera
    ("term-kem-12", "kem-school-12", "Кабинет 12"),
)
SCHOOL_NAMES = {"kem-school-20": "МБОУ «СОШ №20»", "kem-school-12": "МБОУ «СОШ №12»"}


def start_region(
    uow_factory: Callable[[], UnitOfWork],
    *,
    latency_ms: float = 0.0,
    answer_delay_s: float = 0.05,
) -> SimRegion:
    """Start the simulators, then store the region pointing at their ports."""
    host = SimHost().start()
    today = datetime.now(UTC).date()
    region_org = _org("kuzbass", OrgKind.REGION, "Кемеровская область — Кузбасс", None)
    region_org.study_days = 7  # lessons run today, whatever the weekday
    kemerovo = _org("kemerovo", OrgKind.MUNICIPALITY, "Кемеровский городской округ", region_org)
    net = _org("kem-net-1", OrgKind.NETWORK, "Сеть СОШ №20", kemerovo)
    net.base_school_id = "kem-school-20"
    school20 = _org("kem-school-20", OrgKind.SCHOOL, SCHOOL_NAMES["kem-school-20"], net)
    school12 = _org("kem-school-12", OrgKind.SCHOOL, SCHOOL_NAMES["kem-school-12"], net)

    sims = SimRegion(host=host, rcc=_principal(region_org))
    server_rows = []
    for number in (1, 2):
        sid = f"bbb-{number}"
        bbb = BbbServer(
            sid,
            BBB_SECRET,
            max_meetings=40,
            max_participants=400,
            gateway_ports=60,
            name=f"BBB РКЦ №{number}",
            faults=Faults(latency_ms=latency_ms),
        )
        port = host.add(bbb)
        sims.servers[sid] = bbb
        server_rows.append(
            ConferenceServer(
                id=sid,
                kind=PlatformKind.BBB,
                name=f"BBB РКЦ №{number}",
                base_url=f"http://127.0.0.1:{port}/bigbluebutton/",
                secret_ref=f"inline:{BBB_SECRET}",
                max_rooms=40,
                max_participants=400,
                gateway_sip_host=f"127.0.0.1:{port}",
                gateway_ports=60,
            )
        )
    rows: list[object] = []
    for tid, site, name in TERMINALS:
        sip = f"sip:{tid}@vks.example.ru"
        device = SimTerminal(
            tid,
            "admin",
            PASSWORD,
            name=name,
            sip_address=sip,
            answer_delay_s=answer_delay_s,
            faults=Faults(latency_ms=latency_ms),
        )
        port = host.add(device)
        sims.terminals[tid] = device
        rows.append(
            Terminal(
                id=tid,
                site_id=site,
                name=name,
                vendor=TerminalVendor.CISCO_XAPI,
                sip_address=sip,
                control_url=f"http://127.0.0.1:{port}",
                username="admin",
                credentials_ref=f"inline:{PASSWORD}",
            )
        )
        if tid != "term-kem-20-it":
            cid = tid.replace("term-", "cam-")
            camera = OnvifCamera(cid, "admin", PASSWORD, faults=Faults(latency_ms=latency_ms))
            cport = host.add(camera)
            sims.cameras[cid] = camera
            rows.append(
                Camera(
                    id=cid,
                    terminal_id=tid,
                    onvif_url=f"http://127.0.0.1:{cport}",
                    username="admin",
                    credentials_ref=f"inline:{PASSWORD}",
                    presets=["teacher", "board", "class"],
                )
            )
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
        for o in (region_org, kemerovo, net, school20, school12):
            uow.organisations.add(o)
        for row in rows:
            if isinstance(row, Terminal):
                uow.terminals.add(row)
        for row in rows:
            if isinstance(row, Camera):
                uow.cameras.add(row)
        for server in server_rows:
            uow.servers.add(server)
        uow.commit()
    return sims


def _principal(region: Organisation) -> Principal:
    return Principal(
        user_id="rcc-operator", role=Role.RCC_OPERATOR, org_id=region.id, org_path=region.path
    )


def today() -> date:
    return datetime.now(UTC).date()
