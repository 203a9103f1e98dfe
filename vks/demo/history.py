"""`vks demo`'s past: the demo timetable's lessons of the last `VKS_DEMO_HISTORY_DAYS`
days, lived through the service's own code so that the reports have something real to
show.

The timetable is imported as of the first day of the history (so its weekly lessons have
dates in the past, exactly as an import four weeks ago would have made them); then, in
order of time, a few dates are cancelled and moved by the municipal coordinator through
the booking services, and every past lesson is run through the automation's own store
(`AutomationStore.transition`, the writes the dispatcher makes: pre-flight, preparing,
live, ending, ended) with realistic timings and faults — a late start, a terminal that
dropped out (partly held), dead terminals (failed), a room the server would not create
(failed). Tutors record the pupils present through the attendance service.

This does not drive the dispatcher against the simulators under a fast-forwarded clock:
the simulated devices answer in real time (a second per call in the demo fleet), which
would cost minutes for four weeks of lessons. The transitions, causes and reasons are the
ones the automation writes for those faults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.access import Principal, Role
from booking.automation_store import TransitionStore, TransitionWrite
from booking.bookings import Occurrence, OccurrenceState
from booking.errors import DomainError
from booking.reports_store import ReportStore
from booking.repository import UnitOfWork
from booking.services.reports.attendance import PupilsPresent, record_pupils
from booking.services.single_dates import cancel_occurrence, move_occurrence

S = OccurrenceState
ALL = frozenset(S)
DEAD = "device_unreachable: no answer"

Person = Callable[[str, Role], Principal]
"""Someone of `role` at the organisation with this id (the demo's stand-in for a login)."""


@dataclass(frozen=True)
class HistoryOutcome:
    """What was made of the past: counts by outcome, for the start-up line."""

    held: int = 0
    late: int = 0
    partial: int = 0
    failed: int = 0
    cancelled: int = 0
    moved: int = 0
    pupils: int = 0

    def summary(self) -> str:
        return (
            f"{self.held} held on time, {self.late} late, {self.partial} partly held,"
            f" {self.failed} failed, {self.cancelled} cancelled, {self.moved} moved;"
            f" pupils recorded for {self.pupils} classes"
        )


def _terminals(uow: UnitOfWork, occurrence: Occurrence) -> list[str]:
    booking = uow.bookings.get(occurrence.booking_id)
    if booking is None:
        return []
    return [p.terminal_id for p in booking.participants if p.terminal_id is not None]


def _schools(uow: UnitOfWork, occurrence: Occurrence) -> list[str]:
    booking = uow.bookings.get(occurrence.booking_id)
    return [p.school_id for p in booking.participants] if booking is not None else []


class PastLessons:
    """Lives the past lessons of the demo database, in order of time."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        transitions: TransitionStore,
        reports: ReportStore,
        now: datetime,
        person: Person,
    ) -> None:
        self.person = person
        self.uow_factory = uow_factory
        self.transitions = transitions
        self.reports = reports
        self.now = now

    def past(self, since: datetime) -> list[Occurrence]:
        with self.uow_factory() as uow:
            found = [
                o
                for o in uow.occurrences.between(since, self.now)
                if since <= o.start
                and o.end < self.now
                and o.state == S.SCHEDULED
                and not o.cancelled
            ]
        return sorted(found, key=lambda o: (o.start, o.id))

    def happen(self, occurrence_id: str, steps: list[tuple[datetime, S, str, str]]) -> None:
        for when, to, cause, reason in steps:
            self.transitions.transition(
                [TransitionWrite(occurrence_id, to, ALL, cause, reason, at=when)], when
            )

    def held(self, o: Occurrence, live_after: timedelta = timedelta(seconds=-40)) -> None:
        self.happen(
            o.id,
            [
                (o.start - timedelta(minutes=30), S.CHECKING, "preflight", ""),
                (o.start - timedelta(minutes=5), S.PREPARING, "start", ""),
                (o.start + live_after, S.LIVE, "start", ""),
                (o.end, S.ENDING, "end", ""),
                (o.end + timedelta(seconds=6), S.ENDED, "end", ""),
            ],
        )

    def partial(self, o: Occurrence, missing: str) -> None:
        self.happen(
            o.id,
            [
                (o.start - timedelta(minutes=30), S.CHECKING, "preflight", ""),
                (o.start - timedelta(minutes=5), S.PREPARING, "start", ""),
                (
                    o.start - timedelta(minutes=1),
                    S.DEGRADED,
                    "start",
                    f"not in the room: {missing}: {DEAD}",
                ),
                (o.start + timedelta(minutes=17), S.LIVE, "redial", ""),
                (o.end, S.ENDING, "end", ""),
                (o.end + timedelta(seconds=6), S.ENDED, "end", ""),
            ],
        )

    def failed(self, o: Occurrence, reason: str) -> None:
        self.happen(
            o.id,
            [
                (o.start - timedelta(minutes=30), S.CHECKING, "preflight", ""),
                (o.start - timedelta(minutes=5), S.PREPARING, "start", ""),
                (o.start + timedelta(minutes=10), S.FAILED, "start", reason),
            ],
        )

    def pupils(self, o: Occurrence, present: int) -> int:
        recorded = 0
        with self.uow_factory() as uow:
            schools = _schools(uow, o)
        for school in schools:
            tutor = self.person(school, Role.TEACHER)
            try:
                record_pupils(self.uow_factory(), self.reports, tutor, o.id, school,
                              PupilsPresent(present - len(school) % 4),
                              now=o.end + timedelta(minutes=10))  # fmt: skip
            except DomainError:
                continue
            recorded += 1
        return recorded


# What befell each course's past dates (courses in order of title): the first held on
# time, the second and third a fault of the course's pair, every fourth late, the others
# on time — so that each municipality of the demo has a bit of everything.
FAULTS = (
    ("partial", "moved"),
    ("failed_terminal", "late"),
    ("cancelled", "failed_server"),
    ("cancelled", "moved"),
    ("partial", "failed_server"),
)
SERVER_DOWN = "room could not be created: server_error: BigBlueButton answered 500"


def plan(course: int, ordinal: int) -> str:
    first, second = FAULTS[course % len(FAULTS)]
    if ordinal in (1, 2):
        return first if ordinal == 1 else second
    return "late" if ordinal % 4 == 3 else "on_time"


def live_history(
    uow_factory: Callable[[], UnitOfWork],
    transitions: TransitionStore,
    reports: ReportStore,
    *,
    now: datetime,
    since: datetime,
    person: Person,
) -> HistoryOutcome:
    """Cancel and move the planned dates (as their coordinator did, two days before), then
    run every past lesson with its outcome, in order of time; returns the counts."""
    lessons = PastLessons(uow_factory, transitions, reports, now, person)
    counts = dict.fromkeys(("held", "late", "partial", "failed", "cancelled", "moved", "pupils"), 0)
    courses: dict[str, list[Occurrence]] = {}
    for o in lessons.past(since):
        courses.setdefault(o.booking_id, []).append(o)
    fate: dict[str, str] = {}
    with uow_factory() as uow:
        titles = {b: (getattr(uow.bookings.get(b), "title", ""), b) for b in courses}
    for course, booking_id in enumerate(sorted(courses, key=titles.__getitem__)):
        for ordinal, o in enumerate(courses[booking_id]):
            fate[o.id] = plan(course, ordinal)
    for o in lessons.past(since):
        if fate.get(o.id) not in ("cancelled", "moved"):
            continue
        with uow_factory() as uow:
            booking = uow.bookings.get(o.booking_id)
            host = uow.organisations.get(booking.host_school_id) if booking else None
        if booking is None or host is None:
            continue
        before = o.start - timedelta(days=2)
        # The school, else its municipality, else the network that owns the course (a
        # school's coordinator may change only lessons among its own school).
        people = [person(host.id, Role.LOCAL_COORDINATOR)]
        if host.parent_id is not None:
            people.append(person(host.parent_id, Role.MUNICIPAL_COORDINATOR))
        people.append(person(booking.owner_org_id, Role.NETWORK_ADMIN))
        for who in people:
            try:
                if fate[o.id] == "cancelled":
                    cancel_occurrence(uow_factory(), who, o.id, now=before,
                                      reason="карантин по гриппу в классе")  # fmt: skip
                else:
                    day = timedelta(days=1)
                    move_occurrence(uow_factory(), who, o.id, now=before,
                                    start=o.start + day, end=o.end + day)  # fmt: skip
            except DomainError:
                continue
            counts[fate[o.id]] += 1
            break
    for o in lessons.past(since):
        with uow_factory() as uow:
            terminals = _terminals(uow, o)
        happened = fate.get(o.id, "on_time")
        if happened == "failed_terminal" and terminals:
            lessons.failed(o, "no terminal joined by the grace period: "
                           + "; ".join(f"{t}: {DEAD}" for t in terminals))  # fmt: skip
            counts["failed"] += 1
            continue
        if happened == "failed_server":
            lessons.failed(o, SERVER_DOWN)
            counts["failed"] += 1
            continue
        if happened == "partial" and len(terminals) > 1:
            lessons.partial(o, terminals[-1])
            counts["partial"] += 1
        elif happened == "late":
            lessons.held(o, live_after=timedelta(minutes=4 + len(o.id) % 6))
            counts["late"] += 1
        else:
            lessons.held(o)
            counts["held"] += 1
        counts["pupils"] += lessons.pupils(o, 22 + len(o.id) % 5)
    return HistoryOutcome(**counts)
