"""`vks demo`'s past: the demo timetable's lessons of the last `VKS_DEMO_HISTORY_DAYS`
days, lived by the service's own automation on simulated devices, so that the reports
have something real to show.

How it is lived:
- The timetable is imported as of the first day of the history (its weekly lessons then
  have dates in the past, as an import four weeks ago would have made them).
- A second fleet of the demo region's simulators is started in this process on ephemeral
  ports, answering at once (`vks.demo.past_fleet`), and the automation — the same
  planner, dispatcher (pre-flight, start: room on the simulated BigBlueButton/Jitsi,
  camera presets, dialling the terminals, presence polls; end: hang-ups, the room
  ended, cameras home) and reconciler as `vks serve` runs — is pointed at it.
- Its clock is a `SteppedClock`: it jumps from one due step (or planned happening, or
  reconciler round) to the next, so four weeks cost seconds. Every step runs for real
  against the simulators; the instants it stores are the virtual ones.
- Faults are set through the simulators' own control API (`PUT /_sim/devices/{id}/faults`)
  at their virtual instants, from a fixed plan (`FAULTS`):
  * `spare` — the host school's codec offline from before the pre-flight: the pre-flight
    switches the class to the school's spare codec, the lesson is held on time;
  * `late` — every codec (and camera) of the lesson's schools offline until 3–6 minutes
    after the start: the start step retries with the service's backoff, the lesson goes
    live late;
  * `partial` — at 15 minutes in, a class's call drops (the codec's `drop_call_after_s`)
    and its codec and camera are off the network for 10 minutes: the reconciler's round
    finds it out of the room (degraded), its rounds redial it every minute until it is
    back (partly held);
  * `failed_terminal` — every codec of the lesson's schools offline, spares included:
    nobody joins by the grace period (failed, cause `terminal`);
  * `failed_server` — the conference servers answer every request with HTTP 500: the room
    cannot be created (failed, cause `server`); the reconciler's housekeeping takes the
    servers back when they answer again;
  * `cancelled`, `moved` — through the booking services (the municipal coordinator, two
    days before; a school's coordinator cannot change a course shared with other
    schools); a moved lesson is lived at its new time.
  Tutors record the pupils present through the attendance service after each lesson held.
- People join every third lesson held on time by its web link, 7 minutes in (a pupil
  taught at home, a methodologist, a parent at an open lesson — `GUESTS`): the personal
  link the service gives them, opened as a browser would on the simulated BigBlueButton
  or Jitsi; the reconciler's next round counts them from the servers' load report, and
  the reports show each lesson's peak as "joined by link".

What is not lived:
- Between steps nothing runs: the health monitor does not poll the past (its uptime is
  not recorded for the past; the reports' availability stays empty for it), no terminal
  pushes "call ended" (the reconciler's minute rounds find a dropped call instead), no
  webhook or e-mail is sent for the past's events (they are stored, and the live demo's
  narration starts after them).
- Reconciler rounds (every `ROUND` while a lesson is on, as `vks serve` runs them) are
  skipped while nothing can have changed: no fault was set since the last round that
  found every class in the room.
- The waits inside a step are real, and short: the past's automation polls presence
  every 10 ms (`PAST_CONFIG`), a terminal answers a call at once, an unreachable device is
  tried once, the gateway's presence answer is not shared across rooms (it would be
  across hours of the past). The simulators' own timers (call keep-alives, room expiry)
  run on real time and never fire within the fraction of a second a lesson lasts here.
- The stored instants are virtual ones plus the real milliseconds a step took, so a late
  start's lateness may differ by a retry interval from one start-up to the next; the
  outcomes (and counts) do not — the fault plan is fixed, not random.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from adapters.conference.platform import LinkRole
from booking.access import Principal, Role
from booking.automation_store import SessionRecord
from booking.bookings import Occurrence, OccurrenceState
from booking.errors import DomainError
from booking.lifecycle import Timing
from booking.reports_store import ReportStore
from booking.repository import UnitOfWork
from booking.services.reports.attendance import PupilsPresent, record_pupils
from booking.services.single_dates import cancel_occurrence, move_occurrence
from vks.automation.clock import SteppedClock
from vks.automation.config import AutomationConfig
from vks.automation.rooms import room_of
from vks.automation.service import Automation
from vks.demo.past_fleet import PastFleet, links_into

S = OccurrenceState

Person = Callable[[str, Role], Principal]
"""Someone of `role` at the organisation with this id (the demo's stand-in for a login)."""

PAST_CONFIG = AutomationConfig(
    timing=Timing(),  # the service's: pre-flight 30 min, start 5 min before, grace 10 min
    presence_poll=timedelta(milliseconds=10),
    presence_timeout=timedelta(seconds=2),
)
ROUND = timedelta(minutes=1)
"""The reconciler's rounds (who is in the rooms; the missing are redialled) while a lesson
is on, as `vks serve` makes them (`VKS_RECONCILE_SECONDS`, 60). A round is skipped when
nothing happened since the last one that found every class in (no fault set, nobody
missing): it would find the same."""
MARGIN = timedelta(minutes=10)
"""Lessons that end this long before now are lived (the rest is the live automation's)."""

# What befell each course's past dates (courses in order of title; ordinals in order of
# time): a course's second and third dates get the fault of its pair, the fourth date of
# every other course starts late, a date of two courses loses its host's codec before the
# lesson (the spare takes over) — so that each municipality of the demo has a bit of
# everything.
FAULTS = (
    ("partial", "moved"),
    ("failed_terminal", "late"),
    ("cancelled", "failed_server"),
    ("cancelled", "moved"),
    ("partial", "failed_server"),
)
SPARE = {2: 5, 3: 0}  # course → the ordinal whose host codec is offline (a spare exists)
GUESTS = (
    "Ученик на домашнем обучении",
    "Методист ИРО",
    "Родитель (открытый урок)",
    "Учитель школы-партнёра",
)
"""Who joins a lesson by its web link (every third lesson held on time, 2–4 of them)."""


def plan(course: int, ordinal: int) -> str:
    first, second = FAULTS[course % len(FAULTS)]
    if ordinal in (1, 2):
        return first if ordinal == 1 else second
    if SPARE.get(course % len(FAULTS)) == ordinal:
        return "spare"
    return "late" if ordinal % 4 == 3 and course % 2 == 1 else "on_time"


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
    rooms: int = 0
    steps: int = 0
    guests: int = 0

    def summary(self) -> str:
        return (
            f"{self.held} held on time, {self.late} late, {self.partial} partly held,"
            f" {self.failed} failed, {self.cancelled} cancelled, {self.moved} moved;"
            f" {self.steps} automation steps, {self.rooms} rooms on the simulated servers;"
            f" pupils recorded for {self.pupils} classes, {self.guests} people joined by link"
        )


@dataclass(order=True)
class Happening:
    """Something the world does to the past at a virtual instant (a fault set or cleared,
    a date cancelled or moved)."""

    at: datetime
    order: int
    act: Callable[[], Awaitable[None] | None] = field(compare=False)


@dataclass
class Past:
    """The lessons to live and what is to befall them."""

    lessons: list[Occurrence]
    fate: dict[str, str]
    happenings: list[Happening] = field(default_factory=list)
    rounds: set[datetime] = field(default_factory=set)

    def at(self, when: datetime, act: Callable[[], Awaitable[None] | None]) -> None:
        self.happenings.append(Happening(when, len(self.happenings), act))

    def rounds_after(self, now: datetime) -> datetime | None:
        """The first reconciler round after `now` (None: no lesson is on after it)."""
        return min((t for t in self.rounds if t > now), default=None)

    def round_at(self, now: datetime) -> bool:
        """Whether a round falls at `now` (or passed since the last jump)."""
        due = [t for t in self.rounds if t <= now]
        for t in due:
            self.rounds.discard(t)
        return bool(due)


class PastLessons:
    """Lives the past lessons of the demo database, in order of time."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        automation: Automation,
        fleet: PastFleet,
        reports: ReportStore,
        person: Person,
        until: datetime,
    ) -> None:
        self.uow_factory = uow_factory
        self.automation = automation
        self.fleet = fleet
        self.reports = reports
        self.person = person
        self.until = until
        self.moved = 0
        self.cancelled = 0
        self.steps = 0
        self.guests = 0

    # --- what there is to live -------------------------------------------------------------
    def past(self, since: datetime) -> list[Occurrence]:
        with self.uow_factory() as uow:
            found = [
                o
                for o in uow.occurrences.between(since, self.until)
                if since <= o.start
                and o.end + MARGIN < self.until
                and o.state == S.SCHEDULED
                and not o.cancelled
            ]
        return sorted(found, key=lambda o: (o.start, o.id))

    def schools(self, occurrence: Occurrence) -> list[str]:
        with self.uow_factory() as uow:
            booking = uow.bookings.get(occurrence.booking_id)
        return [p.school_id for p in booking.participants] if booking is not None else []

    def terminals(self, occurrence: Occurrence) -> list[str]:
        with self.uow_factory() as uow:
            booking = uow.bookings.get(occurrence.booking_id)
        if booking is None:
            return []
        return [p.terminal_id for p in booking.participants if p.terminal_id is not None]

    def fates(self, lessons: list[Occurrence]) -> dict[str, str]:
        courses: dict[str, list[Occurrence]] = {}
        for o in lessons:
            courses.setdefault(o.booking_id, []).append(o)
        with self.uow_factory() as uow:
            titles = {b: (getattr(uow.bookings.get(b), "title", ""), b) for b in courses}
        fate: dict[str, str] = {}
        for course, booking_id in enumerate(sorted(courses, key=titles.__getitem__)):
            for ordinal, o in enumerate(courses[booking_id]):
                fate[o.id] = plan(course, ordinal)
        return fate

    # --- what befalls them -----------------------------------------------------------------
    def prepare(self, since: datetime) -> Past:
        lessons = self.past(since)
        past = Past(lessons, self.fates(lessons))
        timing = PAST_CONFIG.timing
        on_time = 0
        for o in lessons:
            fate = past.fate[o.id]
            before = o.start - timing.preflight_lead - MARGIN
            after = o.end + MARGIN
            terminals = self.terminals(o)
            whole_sites = self.with_cameras(
                [t for s in self.schools(o) for t in self.fleet.terminals_at.get(s, [])]
            )
            if fate in ("cancelled", "moved"):
                past.at(o.start - timedelta(days=2), self._rearrange(o, fate, past))
            elif fate == "spare" and terminals:
                self._offline(past, [terminals[0]], before, after)
            elif fate == "failed_terminal":
                self._offline(past, whole_sites, before, after)
            elif fate == "late":
                late = timedelta(minutes=3 + len(past.happenings) % 4)
                self._offline(past, whole_sites, before, o.start + late)
            elif fate == "partial" and len(terminals) > 1:
                drops = terminals[-1]
                past.at(o.start + timedelta(minutes=15), partial(self._drop, drops))
                self._offline(
                    past,
                    self.with_cameras([drops]),
                    o.start + timedelta(minutes=15),
                    o.start + timedelta(minutes=25),
                )
            elif fate == "failed_server":
                for server in self.fleet.servers:
                    past.at(before, partial(self.fleet.set_faults, server, error_rate=1.0))
                    past.at(after, partial(self.fleet.clear_faults, server))
                past.at(after, self._servers_back)
            elif fate == "on_time":
                on_time += 1
                if on_time % 3 == 0:
                    guests = 2 + (on_time // 3) % 3
                    past.at(o.start + timedelta(minutes=7), partial(self._by_link, o, guests))
            self._rounds(past, o)
        return past

    def with_cameras(self, terminals: list[str]) -> list[str]:
        """The terminals and the cameras beside them (a class's network link down)."""
        return [
            *terminals,
            *(self.fleet.camera_of[t] for t in terminals if t in self.fleet.camera_of),
        ]

    def _offline(self, past: Past, terminals: list[str], since: datetime, until: datetime) -> None:
        for t in terminals:
            past.at(since, partial(self.fleet.set_faults, t, offline=True))
            past.at(until, partial(self.fleet.clear_faults, t))

    def _drop(self, terminal_id: str) -> None:
        """The class's call drops and its codec stays off the network; wait (really, a few
        milliseconds) until its server's gateway has let the call go."""
        calls = {s: self.fleet.gateway_calls(s) for s in self.fleet.servers}
        if not self.fleet.drop_call(terminal_id):
            return
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if any(self.fleet.gateway_calls(s) < n for s, n in calls.items()):
                return
            time.sleep(0.005)

    async def _by_link(self, o: Occurrence, people: int) -> None:
        """`people` open the lesson's web link; then the reconciler's housekeeping reads
        the servers' load, as each of its rounds does in `vks serve`, so the round that
        follows counts them."""
        session = self.automation.store.sessions([o.id], full=False).get(o.id)
        record = session.room if session is not None else None
        room = room_of(record) if record is not None and record.ended_at is None else None
        if room is None:
            return
        pool = links_into(self.automation).pool
        server_url = pool.platform(room.server_id).server.base_url
        for n in range(people):
            name = GUESTS[n % len(GUESTS)]
            link = pool.join_link(room, LinkRole.ATTENDEE, name, f"guest-{o.id}-{n}")
            self.fleet.join_by_link(link, server_url)
            self.guests += 1
        await self.automation.reconciler.tidy()

    async def _servers_back(self) -> None:
        """The reconciler's housekeeping sees the servers answer again (the pool takes a
        server back after two good answers in a row)."""
        for _ in range(2):
            await self.automation.reconciler.tidy()

    def _rounds(self, past: Past, o: Occurrence) -> None:
        at = o.start
        while at < o.end:
            past.rounds.add(at)
            at += ROUND

    def _rearrange(self, o: Occurrence, fate: str, past: Past) -> Callable[[], None]:
        def act() -> None:
            if self._cancel_or_move(o, fate, self.automation.clock.now()):
                moved = self._reload(o.id)
                if fate == "moved" and moved is not None and moved.end + MARGIN < self.until:
                    self._rounds(past, moved)
            self.automation.planner.plan([o.id], self.automation.clock.now())

        return act

    def _reload(self, occurrence_id: str) -> Occurrence | None:
        with self.uow_factory() as uow:
            return uow.occurrences.get(occurrence_id)

    def _cancel_or_move(self, o: Occurrence, fate: str, now: datetime) -> bool:
        with self.uow_factory() as uow:
            booking = uow.bookings.get(o.booking_id)
            host = uow.organisations.get(booking.host_school_id) if booking else None
        if booking is None or host is None:
            return False
        # The school, else its municipality, else the network that owns the course (a
        # school's coordinator may change only lessons among its own school).
        people = [self.person(host.id, Role.LOCAL_COORDINATOR)]
        if host.parent_id is not None:
            people.append(self.person(host.parent_id, Role.MUNICIPAL_COORDINATOR))
        people.append(self.person(booking.owner_org_id, Role.NETWORK_ADMIN))
        for who in people:
            try:
                if fate == "cancelled":
                    cancel_occurrence(self.uow_factory(), who, o.id, now=now,
                                      reason="карантин по гриппу в классе")  # fmt: skip
                    self.cancelled += 1
                else:
                    day = timedelta(days=1)
                    move_occurrence(self.uow_factory(), who, o.id, now=now,
                                    start=o.start + day, end=o.end + day)  # fmt: skip
                    self.moved += 1
            except DomainError:
                continue
            return True
        return False

    # --- living it -------------------------------------------------------------------------
    async def live(self, past: Past, since: datetime) -> None:
        """Run the automation from `since` to `until`, jumping from one due step, happening
        or reconciler round to the next."""
        a = self.automation
        clock = a.clock
        assert isinstance(clock, SteppedClock)
        clock.jump_to(since)
        a.planner.plan([o.id for o in past.lessons], clock.now())
        happenings = sorted(past.happenings)
        dirty = False  # a fault since the last round, or a lesson short of a class
        while True:
            rounds = past.rounds_after(clock.now()) if dirty else None
            next_due = a.store.next_due()
            upcoming = [
                t
                for t in (next_due, happenings[0].at if happenings else None, rounds)
                if t is not None
            ]
            if not upcoming or min(upcoming) >= self.until:
                break
            now = clock.jump_to(min(upcoming))
            acted = bool(happenings) and happenings[0].at <= now
            while happenings and happenings[0].at <= now:
                dirty = True
                done = happenings.pop(0).act()
                if done is not None:
                    await done
            if past.round_at(now) and dirty:
                acted = True
                _, redialled = await a.reconciler.watch()
                dirty = bool(redialled)
            report = await a.dispatcher.run_due()
            while report.claimed:  # and again while what it planned is due at once
                acted = True
                self.steps += report.claimed
                dirty = dirty or any(x.to_state is S.DEGRADED for x in report.applied)
                if not report.next_due or min(report.next_due) > clock.now():
                    break
                report = await a.dispatcher.run_due()
            past.round_at(clock.now())  # rounds passed meanwhile would have found the same
            if not acted:  # a due step nobody could claim (leased): let its lease run out
                clock.jump_to(now + timedelta(seconds=1))

    # --- after it --------------------------------------------------------------------------
    def finals(self, ids: list[str]) -> dict[str, SessionRecord]:
        return self.automation.store.sessions(ids, full=False)

    def pupils(self, o: Occurrence, present: int) -> int:
        recorded = 0
        for school in self.schools(o):
            tutor = self.person(school, Role.TEACHER)
            try:
                record_pupils(self.uow_factory(), self.reports, tutor, o.id, school,
                              PupilsPresent(present - len(school) % 4),
                              now=o.end + timedelta(minutes=10))  # fmt: skip
            except DomainError:
                continue
            recorded += 1
        return recorded


def classify(session: SessionRecord, history: list[tuple[S, datetime]], start: datetime) -> str:
    """A rough name for what became of a lesson, for the start-up line (the reports derive
    the real outcomes from the same history: `booking.outcomes`)."""
    if session.is_cancelled or session.state is S.CANCELLED:
        return "cancelled"
    if session.state is S.FAILED:
        return "failed"
    first_in = next((at for state, at in history if state in (S.LIVE, S.DEGRADED)), None)
    if first_in is None:
        return "failed"
    if any(state is S.DEGRADED for state, _ in history):
        return "partial"
    if first_in - start > timedelta(minutes=1):
        return "late"
    return "held"


def live_history(
    uow_factory: Callable[[], UnitOfWork],
    automation: Automation,
    fleet: PastFleet,
    reports: ReportStore,
    *,
    now: datetime,
    since: datetime,
    person: Person,
) -> HistoryOutcome:
    """Live the past lessons from `since` to `now` with `automation` (its clock a
    `SteppedClock`) on `fleet`; returns the counts."""
    lessons = PastLessons(uow_factory, automation, fleet, reports, person, now)
    past = lessons.prepare(since)

    async def run() -> None:
        try:
            await automation.warm_up()
            await lessons.live(past, since)
        finally:
            await automation.close()

    asyncio.run(run())
    counts = dict.fromkeys(("held", "late", "partial", "failed", "cancelled", "moved"), 0)
    ids = [o.id for o in past.lessons]
    finals = lessons.finals(ids)
    pupils = 0
    for occurrence_id in ids:
        session = finals.get(occurrence_id)
        if session is None:
            continue
        history = [(S(t.to_state), t.at) for t in automation.store.history(occurrence_id)]
        kind = classify(session, history, session.start)
        if kind == "cancelled":
            continue
        counts[kind] += 1
        if session.state is S.ENDED:
            o = lessons._reload(occurrence_id)
            if o is not None:
                pupils += lessons.pupils(o, 22 + len(o.id) % 5)
    counts["cancelled"] = lessons.cancelled
    counts["moved"] = lessons.moved
    rooms = len(automation.store.rooms(ids))
    return HistoryOutcome(
        **counts, pupils=pupils, rooms=rooms, steps=lessons.steps, guests=lessons.guests
    )
