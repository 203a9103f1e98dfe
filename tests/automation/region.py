"""A small Kuzbass region whose equipment are live simulators on loopback ports.

«МБОУ «СОШ №20»» (with a spare codec in the IT room) teaches «МБОУ «СОШ №12»»; each
school has a terminal with an ONVIF camera beside it; the RCC has one BigBlueButton
server with its SIP video gateway. The academic year is built around today, so lessons
a few seconds from now are ordinary study-day lessons.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from booking.bookings import Participant, SessionKind
from booking.repository import UnitOfWork
from simulators.faults import Faults
from simulators.hosting import SimHost
from tests.builders import (
    BBB_SECRET,
    KEMEROVO_TZ,
    PASSWORD,
    SIP_DOMAIN,
    SimulatedRegion,
    a_school,
    a_year_around,
    book_lesson,
    seed,
    the_kemerovo_network,
    the_rcc_operator,
)

__all__ = [
    "BBB_SECRET",
    "PASSWORD",
    "SCHOOL_12",
    "SCHOOL_20",
    "SCHOOL_NAMES",
    "TERMINALS",
    "TZ",
    "SimRegion",
    "start_region",
    "today",
]

TZ = KEMEROVO_TZ


class SimRegion(SimulatedRegion):
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
        return book_lesson(
            uow_factory,
            self.rcc,
            title=title,
            start=start,
            end=end,
            participants=participants,
            kind=kind,
            now=now,
            broadcast_offset_minutes=broadcast_offset_minutes,
            broadcast_minutes=broadcast_minutes,
        )


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
    region, kemerovo, net = the_kemerovo_network()
    region.study_days = 7  # lessons run today, whatever the weekday
    schools = [a_school(id, name, net, bell_schedule_id=None) for id, name in SCHOOL_NAMES.items()]
    sims = SimRegion(host=SimHost().start(), rcc=the_rcc_operator(region))
    servers = [
        sims.host_bbb(f"bbb-{n}", name=f"BBB РКЦ №{n}", faults=Faults(latency_ms=latency_ms))
        for n in (1, 2)
    ]
    terminals = [
        sims.host_terminal(
            tid,
            site,
            name,
            sip_address=f"sip:{tid}@{SIP_DOMAIN}",
            answer_delay_s=answer_delay_s,
            faults=Faults(latency_ms=latency_ms),
        )
        for tid, site, name in TERMINALS
    ]
    cameras = [
        sims.host_camera(tid, faults=Faults(latency_ms=latency_ms))
        for tid, _, _ in TERMINALS
        if tid != "term-kem-20-it"
    ]
    seed(
        uow_factory,
        years=[a_year_around(today())],
        organisations=[region, kemerovo, net, *schools],
        terminals=terminals,
        cameras=cameras,
        servers=servers,
    )
    return sims


def today() -> date:
    return datetime.now(UTC).date()
