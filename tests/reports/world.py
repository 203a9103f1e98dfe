"""A November of physics lessons between «СОШ №20» and «СОШ №41» in Кемерово (UTC+7),
lived through the real services and the automation's store on each backend: one held on
time, one late, one partly held, one failed on dead terminals, one cancelled by the
municipal coordinator, one moved; and one lesson in October for the month before. People
joined two of them by the web link (three at most on 10 November, two on 17 November).

`World` is the same on memory, SQLite and PostgreSQL: the booking data in a unit of work,
the automation's history in its store (its `transition`, as the automation writes it),
the reports' store, and a message bus on which the cancellations are noted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine

from adapters.storage.automation import SqlAutomationStore
from adapters.storage.reports import SqlReportStore
from adapters.storage.unit_of_work import sql_uow_factory
from booking.access import Principal, Role
from booking.automation_memory import MemoryAutomationStore
from booking.automation_store import AutomationStore, TransitionWrite
from booking.bookings import Booking, OccurrenceState
from booking.memory import MemoryStore
from booking.messagebus import MessageBus
from booking.reports_memory import MemoryReportStore
from booking.reports_store import ReportStore
from booking.repository import UnitOfWork
from booking.services.reports.cancellations import note_cancellations
from booking.services.reports.monthly import Sources
from booking.services.single_dates import cancel_occurrence, move_occurrence
from tests.automation.fakes import lesson
from tests.builders import a_principal, local
from tests.conftest import empty_tables
from tests.storage.region import kuzbass, occurrence_of, seed, store, weekly_lesson

S = OccurrenceState
NOVEMBER = "2026-11"
T20, T41 = "term-kem20-1", "term-kem41-1"
START, END = time(9, 0), time(9, 40)

ON_TIME, LATE, PARTIAL = "occ-1110", "occ-1112", "occ-1117"
FAILED, CANCELLED, MOVED = "occ-1119", "occ-1124", "occ-1126"
OCTOBER = "occ-1022"
DAYS = {
    OCTOBER: date(2026, 10, 22),
    ON_TIME: date(2026, 11, 10),
    LATE: date(2026, 11, 12),
    PARTIAL: date(2026, 11, 17),
    FAILED: date(2026, 11, 19),
    CANCELLED: date(2026, 11, 24),
    MOVED: date(2026, 11, 26),
}
MOVED_TO = date(2026, 11, 27)
EDITED_ON = local(date(2026, 11, 16), time(9, 0)).astimezone(UTC)  # cancel and move
REPORTED = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def at(day: date, clock: time, seconds: int = 0) -> datetime:
    return local(day, clock).astimezone(UTC) + timedelta(seconds=seconds)


@dataclass
class World:
    uow: Callable[[], UnitOfWork]
    automation: AutomationStore
    reports: ReportStore
    memory: MemoryStore | None
    booking: Booking

    @property
    def sources(self) -> Sources:
        return Sources(self.uow(), self.automation, self.reports)

    def happen(self, occurrence_id: str, steps: Sequence[tuple[datetime, S, str, str]]) -> None:
        """The automation's transitions of one lesson: (when, to which state, cause, reason)."""
        if isinstance(self.automation, MemoryAutomationStore):
            with self.uow() as uow:
                occurrence = uow.occurrences.get(occurrence_id)
                assert occurrence is not None
            self.automation.add_session(
                lesson(occurrence_id, start=occurrence.start, booking_id=self.booking.id)
            )
        for when, to, cause, reason in steps:
            self.automation.transition(
                [TransitionWrite(occurrence_id, to, frozenset(S), cause, reason, at=when)], when
            )
        if self.memory is not None:  # the SQL store writes the occurrence's state itself
            with self.uow() as uow:
                occurrence = uow.occurrences.get(occurrence_id)
                assert occurrence is not None
                occurrence.state = steps[-1][1]
                uow.occurrences.update(occurrence)
                uow.commit()

    def held(self, occurrence_id: str, day: date, live_after_s: int = -30) -> None:
        """Started a few minutes early, live (by `live_after_s` from the start), ended."""
        self.happen(
            occurrence_id,
            [
                (at(day, time(8, 30)), S.CHECKING, "preflight", ""),
                (at(day, time(8, 55)), S.PREPARING, "start", ""),
                (at(day, START, live_after_s), S.LIVE, "start", ""),
                (at(day, END), S.ENDING, "end", ""),
                (at(day, END, 5), S.ENDED, "end", ""),
            ],
        )


def municipal_coordinator(user: str = "u-kem-coordinator") -> Principal:
    region = kuzbass()
    return a_principal(Role.MUNICIPAL_COORDINATOR, region.org("kemerovo"), user)


def tutor_of_41(user: str = "u-tutor-41") -> Principal:
    return a_principal(Role.TEACHER, kuzbass().org("kem-school-41"), user)


def build_world(engine: Engine | None) -> World:
    """The region, the booking and its seven lessons, before anything happened."""
    bus = MessageBus()
    memory: MemoryStore | None = None
    automation: AutomationStore
    reports: ReportStore
    if engine is None:
        memory = MemoryStore(bus)
        uow: Callable[[], UnitOfWork] = memory.unit_of_work
        automation = MemoryAutomationStore()
        kept = memory
        reports = MemoryReportStore(lambda: list(kept.data.occurrences.values()))
    else:
        empty_tables(engine)
        uow = sql_uow_factory(engine, bus)  # type: ignore[assignment]
        automation = SqlAutomationStore(engine)
        reports = SqlReportStore(engine)
    note_cancellations(bus, reports)
    seed(uow, kuzbass())  # type: ignore[arg-type]
    booking = weekly_lesson("b-physics-7a")
    occurrences = [occurrence_of(booking, day, START, END, oid) for oid, day in DAYS.items()]
    store(uow, booking, *occurrences)  # type: ignore[arg-type]
    return World(uow, automation, reports, memory, booking)


def live_november(world: World) -> None:
    """What happened, in order of time."""
    world.held(OCTOBER, DAYS[OCTOBER])
    world.held(ON_TIME, DAYS[ON_TIME])
    world.automation.note_link_peaks({ON_TIME: 3})  # polls while live: 1, 3, then 2
    world.automation.note_link_peaks({ON_TIME: 2})
    world.held(LATE, DAYS[LATE], live_after_s=7 * 60)  # live at 9:07
    coordinator = municipal_coordinator()
    with_uow = world.uow
    cancel_occurrence(with_uow(), coordinator, CANCELLED, now=EDITED_ON, reason="карантин в 7Б")
    move_occurrence(
        with_uow(),
        coordinator,
        MOVED,
        now=EDITED_ON,
        on_date=MOVED_TO,
        start_time=START,
        end_time=END,
    )
    day = DAYS[PARTIAL]
    world.happen(
        PARTIAL,
        [
            (at(day, time(8, 55)), S.PREPARING, "start", ""),
            (
                at(day, time(8, 59)),
                S.DEGRADED,
                "start",
                f"not in the room: {T41}: device_unreachable: no answer from 10.42.41.10",
            ),
            (at(day, time(9, 20)), S.LIVE, "redial", ""),  # СОШ №41 out for 20 minutes
            (at(day, END), S.ENDING, "end", ""),
            (at(day, END, 5), S.ENDED, "end", ""),
        ],
    )
    world.automation.note_link_peaks({PARTIAL: 2})
    day = DAYS[FAILED]
    dead = "device_unreachable: no answer"
    world.happen(
        FAILED,
        [
            (at(day, time(8, 55)), S.PREPARING, "start", ""),
            (
                at(day, time(9, 10)),
                S.FAILED,
                "start",
                f"no terminal joined by the grace period: {T20}: {dead}; {T41}: {dead}",
            ),
        ],
    )
    world.held(MOVED, MOVED_TO)
