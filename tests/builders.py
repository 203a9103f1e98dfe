"""The one test-data builder: small factories of the shared domain, with the defaults of the
Kuzbass region the specifications and benchmarks use.

The RCC is in Kuzbass (Asia/Novokuznetsk, UTC+7) around the network of «МБОУ «СОШ №20»»
in Кемерово; the partner school «МБОУ «Инсарская СОШ №1»» keeps Moscow time (UTC+3).
Each factory builds one domain object and takes only what differs from the default
(`a_school("kem-school-12", "МБОУ «СОШ №12»", net)`, `a_terminal("term-kem-12", "kem-school-12",
"Кабинет 12", port=18003)`); the regions of tests/ and benchmarks/ are compositions of them.
Benchmarks import this module too (their regions of 10,000 terminals are built in a loop),
so each factory stays a plain constructor call. `SimulatedRegion` hosts the simulators the
end-to-end specifications drive and builds the rows that point at their ports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from booking.access import Principal, Role
from booking.bells import BellSchedule
from booking.bookings import Booking, Occurrence, Participant, Recurrence, Reservation, SessionKind
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Camera, ConferenceServer, PlatformKind, Terminal, TerminalVendor
from booking.schoolyear import AcademicYear, Holiday, Quarter
from booking.services.bookings import BookingRequest, create_booking
from simulators.bbb import BbbServer
from simulators.faults import Faults
from simulators.hosting import SimHost
from simulators.onvif import OnvifCamera
from simulators.terminal import Terminal as SimTerminal

KEMEROVO_TZ = "Asia/Novokuznetsk"  # Kuzbass, UTC+7
MOSCOW_TZ = "Europe/Moscow"  # the Mordovian partner school, UTC+3
KEMEROVO = ZoneInfo(KEMEROVO_TZ)
SIP_DOMAIN = "vks.example.ru"
PASSWORD = "secret"  # the simulated devices' password
BBB_SECRET = "kuzbass-bbb-secret"  # the simulated BigBlueButton servers' shared secret
TEACHER = "Иванова Мария Петровна"


# --- organisations ------------------------------------------------------------------------
def an_organisation(
    id: str,
    kind: OrgKind,
    name: str,
    parent: Organisation | None = None,
    *,
    tz: str = KEMEROVO_TZ,
    address: str = "",
    contacts: dict[str, str] | None = None,
    bell_schedule_id: str | None = None,
    base_school_id: str | None = None,
) -> Organisation:
    """An organisation under `parent` (its path follows the parent's)."""
    return Organisation(
        id,
        kind,
        name,
        parent.id if parent else None,
        f"{parent.path}/{id}" if parent else id,
        tz,
        address=address,
        contacts=contacts if contacts is not None else {},
        bell_schedule_id=bell_schedule_id,
        base_school_id=base_school_id,
    )


def the_region(*, tz: str = KEMEROVO_TZ, contacts: dict[str, str] | None = None) -> Organisation:
    """The RCC's region, Кузбасс."""
    return an_organisation(
        "kuzbass", OrgKind.REGION, "Кемеровская область — Кузбасс", tz=tz, contacts=contacts
    )


def a_municipality(
    id: str,
    name: str,
    region: Organisation,
    *,
    tz: str = KEMEROVO_TZ,
    contacts: dict[str, str] | None = None,
) -> Organisation:
    return an_organisation(id, OrgKind.MUNICIPALITY, name, region, tz=tz, contacts=contacts)


def a_network(
    id: str,
    name: str,
    municipality: Organisation,
    *,
    base_school_id: str | None = None,
    contacts: dict[str, str] | None = None,
) -> Organisation:
    return an_organisation(
        id,
        OrgKind.NETWORK,
        name,
        municipality,
        tz=municipality.time_zone,
        contacts=contacts,
        base_school_id=base_school_id,
    )


def a_school(
    id: str,
    name: str,
    parent: Organisation,
    *,
    tz: str | None = None,
    address: str = "",
    contacts: dict[str, str] | None = None,
    bell_schedule_id: str | None = "standard",
) -> Organisation:
    """A school keeping the time of its parent unless told (`tz=MOSCOW_TZ`) and the standard
    bells."""
    return an_organisation(
        id,
        OrgKind.SCHOOL,
        name,
        parent,
        tz=tz or parent.time_zone,
        address=address,
        contacts=contacts,
        bell_schedule_id=bell_schedule_id,
    )


def the_kemerovo_network(
    contacts: Callable[[str], dict[str, str] | None] = lambda id: None,
) -> tuple[Organisation, Organisation, Organisation]:
    """Кузбасс → Кемерово → the network of «МБОУ «СОШ №20»» (its base school);
    `contacts(id)` gives each its contacts."""
    region = the_region(contacts=contacts("kuzbass"))
    kemerovo = a_municipality(
        "kemerovo", "Кемеровский городской округ", region, contacts=contacts("kemerovo")
    )
    net = a_network(
        "kem-net-1",
        "Сеть СОШ №20",
        kemerovo,
        base_school_id="kem-school-20",
        contacts=contacts("kem-net-1"),
    )
    return region, kemerovo, net


def a_principal(role: Role, org: Organisation, user: str) -> Principal:
    return Principal(user_id=user, role=role, org_id=org.id, org_path=org.path)


def the_rcc_operator(region: Organisation, user: str = "rcc-operator") -> Principal:
    return a_principal(Role.RCC_OPERATOR, region, user)


# --- equipment ----------------------------------------------------------------------------
def a_terminal(
    id: str,
    site_id: str,
    name: str = "Актовый зал",
    *,
    vendor: TerminalVendor = TerminalVendor.CISCO_XAPI,
    port: int | None = None,
    control_url: str | None = None,
    sip_address: str | None = None,
    username: str = "admin",
    credentials_ref: str = f"inline:{PASSWORD}",
    active: bool = True,
) -> Terminal:
    """A codec at `site_id`: on a loopback `port` (a simulator) or, by default, at its own
    host name in the region."""
    return Terminal(
        id,
        site_id,
        name,
        vendor,
        sip_address or f"sip:{id}@{SIP_DOMAIN}",
        control_url or (f"http://127.0.0.1:{port}" if port else f"https://{id}.kem.example.ru"),
        username,
        credentials_ref,
        active,
    )


def camera_id_of(terminal_id: str) -> str:
    """The camera beside a terminal is named after it: term-kem-12 → cam-kem-12."""
    return terminal_id.replace("term-", "cam-")


def a_camera(
    terminal_id: str,
    *,
    id: str | None = None,
    port: int | None = None,
    onvif_url: str | None = None,
    username: str = "admin",
    credentials_ref: str = f"inline:{PASSWORD}",
    presets: Sequence[str] = ("teacher", "board", "class"),
) -> Camera:
    """An ONVIF camera beside `terminal_id`."""
    id = id or camera_id_of(terminal_id)
    url = onvif_url or (f"http://127.0.0.1:{port}" if port else f"https://{id}.kem.example.ru")
    return Camera(id, terminal_id, url, username, credentials_ref, list(presets))


def a_bbb_server(
    id: str = "bbb-1",
    *,
    name: str = "BBB РКЦ №1",
    port: int = 18201,
    base_url: str | None = None,
    secret_ref: str = "inline:demo-bbb",
    max_rooms: int = 40,
    max_participants: int = 400,
    gateway_sip_host: str | None = None,
    gateway_ports: int = 60,
) -> ConferenceServer:
    """A BigBlueButton server of the RCC on a loopback `port`, with its SIP video gateway
    (none when `gateway_ports=0`)."""
    if gateway_sip_host is None:
        gateway_sip_host = f"127.0.0.1:{port}" if gateway_ports else ""
    return ConferenceServer(
        id,
        PlatformKind.BBB,
        name,
        base_url or f"http://127.0.0.1:{port}/bigbluebutton/",
        secret_ref,
        max_rooms,
        max_participants,
        gateway_sip_host,
        gateway_ports,
    )


def a_jitsi_server(
    id: str = "jitsi-1",
    *,
    name: str = "Jitsi РКЦ",
    port: int = 18301,
    secret_ref: str = "inline:demo-jitsi",
    max_rooms: int = 40,
    max_participants: int = 400,
    gateway_ports: int = 60,
) -> ConferenceServer:
    """A Jitsi Meet server of the RCC on a loopback `port`, with its SIP gateway (none when
    `gateway_ports=0`)."""
    return ConferenceServer(
        id,
        PlatformKind.JITSI,
        name,
        f"http://127.0.0.1:{port}/",
        secret_ref,
        max_rooms,
        max_participants,
        f"127.0.0.1:{port}" if gateway_ports else "",
        gateway_ports,
    )


# --- calendars ----------------------------------------------------------------------------
def t(value: str) -> time:
    return time.fromisoformat(value)


def the_standard_bells(lessons: int = 7, shortened: int = 6) -> BellSchedule:
    """«Основное расписание звонков»: 40-minute lessons from 08:00 (the first `lessons`),
    30-minute ones on shortened days (the first `shortened`)."""
    full = "08:00-08:40 08:50-09:30 09:45-10:25 10:40-11:20 11:30-12:10 12:20-13:00 13:10-13:50"
    short = "08:00-08:30 08:40-09:10 09:20-09:50 10:00-10:30 10:40-11:10 11:20-11:50"
    return BellSchedule(
        id="standard",
        name="Основное расписание звонков",
        lessons=_bells(full.split()[:lessons]),
        shortened=_bells(short.split()[:shortened]),
    )


def _bells(spans: list[str]) -> dict[int, tuple[time, time]]:
    return {n: (t(span[:5]), t(span[6:])) for n, span in enumerate(spans, 1)}


Span = tuple[date, date]


def a_school_year(
    quarters: Sequence[Span],
    holidays: dict[str, Span],
    public_holidays: Sequence[date] = (),
    shortened_days: Sequence[date] = (),
    *,
    id: str = "2026-2027",
) -> AcademicYear:
    """A year from its first quarter's start to its last quarter's end."""
    return AcademicYear(
        id=id,
        start=quarters[0][0],
        end=quarters[-1][1],
        quarters=[Quarter(n, start, end) for n, (start, end) in enumerate(quarters, 1)],
        holidays=[Holiday(name, start, end) for name, (start, end) in holidays.items()],
        public_holidays=list(public_holidays),
        shortened_days=list(shortened_days),
    )


def the_year_2026_27(
    public_holidays: Sequence[date] = (
        date(2026, 11, 4),
        date(2027, 2, 23),
        date(2027, 3, 8),
        date(2027, 5, 1),
    ),
    shortened_days: Sequence[date] = (date(2026, 12, 28),),
) -> AcademicYear:
    """The 2026/27 year of the Kuzbass schools: four quarters with the autumn, winter and
    spring holidays between them."""
    return a_school_year(
        [
            (date(2026, 9, 1), date(2026, 10, 24)),
            (date(2026, 11, 5), date(2026, 12, 28)),
            (date(2027, 1, 12), date(2027, 3, 20)),
            (date(2027, 3, 30), date(2027, 5, 31)),
        ],
        {
            "Осенние каникулы": (date(2026, 10, 25), date(2026, 11, 4)),
            "Зимние каникулы": (date(2026, 12, 29), date(2027, 1, 11)),
            "Весенние каникулы": (date(2027, 3, 21), date(2027, 3, 29)),
        },
        public_holidays,
        shortened_days,
    )


def a_year_around(today: date, days: int = 60) -> AcademicYear:
    """A year of one quarter from `days` before `today` to `days` after, with no holidays:
    lessons a few seconds from now fall on an ordinary study day."""
    start, end = today - timedelta(days=days), today + timedelta(days=days)
    return AcademicYear(
        id="current",
        start=start,
        end=end,
        quarters=[Quarter(1, start, end)],
        holidays=[],
        public_holidays=[],
        shortened_days=[],
    )


# --- bookings -----------------------------------------------------------------------------
def local(day: date, at: time) -> datetime:
    """A wall-clock instant in Kemerovo."""
    return datetime.combine(day, at, tzinfo=KEMEROVO)


def a_booking(
    id: str = "b-physics-7a",
    *,
    title: str = "Физика, 7А — дистанционный урок",
    participants: Sequence[Participant] = (
        Participant("kem-school-20", "term-kem20-1", "teacher", "7А"),
        Participant("kem-school-41", "term-kem41-1", "class", "7Б"),
    ),
    owner_org_id: str = "kem-net-1",
    host_school_id: str = "kem-school-20",
    organiser_id: str = "u-net-admin",
    teacher: str = TEACHER,
    start: datetime | None = None,
    end: datetime | None = None,
    recurrence: Recurrence | None = None,
    external_ref: str | None = None,
    created_at: datetime = datetime(2026, 8, 20, 3, 15, tzinfo=UTC),
    platform: PlatformKind | None = PlatformKind.BBB,
    setup_minutes: int = 10,
    expected_participants: int = 45,
    subject: str = "Физика",
) -> Booking:
    """A full online lesson of «СОШ №20» (the network's base school) with a partner school:
    one date (`start`, `end`) or a `recurrence`."""
    return Booking(
        id=id,
        title=title,
        kind=SessionKind.FULL_BROADCAST,
        organiser_id=organiser_id,
        owner_org_id=owner_org_id,
        host_school_id=host_school_id,
        teacher=teacher,
        participants=list(participants),
        platform=platform,
        setup_minutes=setup_minutes,
        expected_participants=expected_participants,
        subject=subject,
        start=start,
        end=end,
        recurrence=recurrence,
        external_ref=external_ref,
        created_at=created_at,
    )


def an_occurrence(
    booking: Booking,
    start: datetime,
    end: datetime,
    *,
    id: str | None = None,
    local_date: date | None = None,
    lesson_number: int | None = 3,
    terminal_ids: Sequence[str] | None = None,
    setup_minutes: int | None = None,
) -> Occurrence:
    """One date of `booking` (by default the date `start` is on), its set-up the booking's
    before `start`."""
    setup = booking.setup_minutes if setup_minutes is None else setup_minutes
    local_date = local_date or start.date()
    return Occurrence(
        id=id or f"{booking.id}-{local_date:%Y%m%d}",
        booking_id=booking.id,
        start=start,
        end=end,
        setup_start=start - timedelta(minutes=setup),
        local_date=local_date,
        lesson_number=lesson_number,
        terminal_ids=list(booking.terminal_ids if terminal_ids is None else terminal_ids),
    )


def reservations_of(occurrence: Occurrence) -> list[Reservation]:
    """What a live occurrence holds: each of its terminals from set-up to end."""
    return [
        Reservation(occurrence.id, occurrence.booking_id, t, occurrence.setup_start, occurrence.end)
        for t in occurrence.terminal_ids
    ]


def book_lesson(
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    *,
    title: str,
    start: datetime,
    end: datetime,
    participants: list[Participant],
    now: datetime | None = None,
    kind: SessionKind = SessionKind.FULL_BROADCAST,
    host_school_id: str = "kem-school-20",
    teacher: str = TEACHER,
    setup_minutes: int = 0,
    expected_participants: int = 30,
    broadcast_offset_minutes: int | None = None,
    broadcast_minutes: int | None = None,
) -> tuple[str, str]:
    """Book one BigBlueButton lesson of «СОШ №20» through the booking service; returns the
    (booking, first occurrence) ids."""
    result = create_booking(
        uow_factory(),
        principal,
        BookingRequest(
            title=title,
            kind=kind,
            host_school_id=host_school_id,
            teacher=teacher,
            participants=participants,
            platform=PlatformKind.BBB,
            setup_minutes=setup_minutes,
            expected_participants=expected_participants,
            subject="Физика",
            start=start,
            end=end,
            broadcast_offset_minutes=broadcast_offset_minutes,
            broadcast_minutes=broadcast_minutes,
        ),
        now=now or datetime.now(UTC),
    )
    return result.booking.id, result.occurrences[0].id


# --- storing ------------------------------------------------------------------------------
def seed(
    uow_factory: Callable[[], UnitOfWork],
    *,
    bells: Iterable[BellSchedule] = (),
    years: Iterable[AcademicYear] = (),
    organisations: Iterable[Organisation] = (),
    terminals: Iterable[Terminal] = (),
    cameras: Iterable[Camera] = (),
    servers: Iterable[ConferenceServer] = (),
) -> None:
    """Store reference data in one transaction, parents before children."""
    with uow_factory() as uow:
        for bell in bells:
            uow.bell_schedules.add(bell)
        for year in years:
            uow.academic_years.add(year)
        for org in organisations:
            uow.organisations.add(org)
        for terminal in terminals:
            uow.terminals.add(terminal)
        for camera in cameras:
            uow.cameras.add(camera)
        for server in servers:
            uow.servers.add(server)
        uow.commit()


# --- simulated equipment ------------------------------------------------------------------
@dataclass
class SimulatedRegion:
    """Simulators hosted on loopback ports; each `host_…` starts one and returns the row
    that points at it, for `seed`."""

    host: SimHost
    rcc: Principal
    terminals: dict[str, SimTerminal] = field(default_factory=dict)
    cameras: dict[str, OnvifCamera] = field(default_factory=dict)
    servers: dict[str, BbbServer] = field(default_factory=dict)

    def host_bbb(
        self, id: str = "bbb-1", *, name: str = "BBB РКЦ №1", faults: Faults | None = None
    ) -> ConferenceServer:
        """A BigBlueButton server for 40 rooms and 400 people with a 60-call gateway."""
        server = BbbServer(
            id,
            BBB_SECRET,
            max_meetings=40,
            max_participants=400,
            gateway_ports=60,
            name=name,
            faults=faults,
        )
        port = self.host.add(server)
        self.servers[id] = server
        return a_bbb_server(id, name=name, port=port, secret_ref=f"inline:{BBB_SECRET}")

    def host_terminal(
        self, id: str, site_id: str, name: str, *, vendor: str = "cisco_xapi", **device: Any
    ) -> Terminal:
        """A codec (`device` goes to the simulator: answer delay, faults, …)."""
        codec = SimTerminal(id, "admin", PASSWORD, vendor=vendor, name=name, **device)
        port = self.host.add(codec)
        self.terminals[id] = codec
        return a_terminal(
            id,
            site_id,
            name,
            vendor=TerminalVendor(vendor),
            port=port,
            sip_address=codec.sip_address,
        )

    def host_camera(self, terminal_id: str, *, faults: Faults | None = None) -> Camera:
        """The ONVIF camera beside `terminal_id`."""
        camera = OnvifCamera(camera_id_of(terminal_id), "admin", PASSWORD, faults=faults)
        port = self.host.add(camera)
        self.cameras[camera.id] = camera
        return a_camera(terminal_id, port=port)
