"""The seam between the domain and storage (Percival & Gregory's repository and unit of work).

The service layer only sees these Protocols. `adapters/storage/` implements them with
SQLAlchemy (SQLite and PostgreSQL); `booking/memory.py` implements them in memory for
fast domain tests. Queries that decide conflicts run in the database over materialised
reservations, so the service never loops over whole calendars: a whole weekly series is
checked with one query per rule (`reservations_overlapping`, `class_sessions`,
`server_load` take every range of the series at once).

Semantics every implementation keeps:
- ranges are half-open [start, end) of aware UTC datetimes; "overlapping any of `ranges`"
  means overlapping at least one of them;
- reservations exist only for live occurrences: the service releases them when an
  occurrence or its booking is cancelled, so reservation queries need no status filter;
- `class_sessions` and `server_load` skip cancelled occurrences and cancelled bookings;
- the server-usage ledger is maintained by the service (added when occurrences are
  booked, subtracted when they are released), never derived by storage;
- objects returned by `get`/queries may be mutated by the service, which then calls
  `update` (a no-op for implementations that track changes themselves).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from booking.audit import AuditLog
from booking.bells import BellSchedule
from booking.bookings import Booking, BookingBrief, Occurrence, OccurrenceBrief, Reservation
from booking.capacity import UsageKey
from booking.conflicts import Capacity, ClassSession, ServerLoad
from booking.events import Event
from booking.notifications import NotificationStore
from booking.organisations import CalendarKey, Organisation, OrgKind
from booking.resources import Camera, ConferenceServer, PlatformKind, Terminal
from booking.schoolyear import AcademicYear, Closure
from booking.tokens import IssuedToken
from booking.users import User

T = TypeVar("T")

TimeRange = tuple[datetime, datetime]


@dataclass(frozen=True)
class RuleReads:
    """The rows a planned series is checked against (`Occurrences.rule_reads`)."""

    reservations: Sequence[Reservation]
    sessions: Sequence[ClassSession]
    usage: dict[UsageKey, Capacity]


def rule_reads_one_by_one(
    occurrences: Occurrences,
    terminal_ids: Sequence[str],
    ranges: Sequence[TimeRange],
    classes: Sequence[tuple[str, str]],
    class_ranges: Sequence[TimeRange],
    buckets: Sequence[datetime],
) -> RuleReads:
    """`Occurrences.rule_reads` as three calls (storages without a way to send them
    together)."""
    return RuleReads(
        reservations=occurrences.reservations_overlapping(terminal_ids, ranges)
        if terminal_ids
        else [],
        sessions=occurrences.class_sessions(classes, class_ranges) if classes else [],
        usage=occurrences.server_usage(buckets) if buckets else {},
    )


@dataclass(frozen=True)
class RefusalReads:
    """What a refusal reads once its conflicts are known (`Occurrences.refusal_reads`):
    the reservations and class sessions its alternatives are checked against, the
    conflicting bookings' briefs for its wording, and whether a hold is due (None: not
    asked)."""

    reservations: Sequence[Reservation]
    sessions: Sequence[ClassSession]
    briefs: dict[str, BookingBrief]
    holds_due: bool | None = None


def refusal_reads_one_by_one(
    occurrences: Occurrences,
    bookings: Bookings,
    booking_ids: Iterable[str],
    terminal_ids: Sequence[str],
    ranges: Sequence[TimeRange],
    classes: Sequence[tuple[str, str]],
    class_ranges: Sequence[TimeRange],
    holds_due_at: datetime | None,
) -> RefusalReads:
    """`Occurrences.refusal_reads` as separate calls (storages without a way to send them
    together)."""
    read = rule_reads_one_by_one(occurrences, terminal_ids, ranges, classes, class_ranges, [])
    return RefusalReads(
        reservations=read.reservations,
        sessions=read.sessions,
        briefs=bookings.briefs(booking_ids, schools=False),
        holds_due=None if holds_due_at is None else bool(bookings.expired_holds(holds_due_at)),
    )


class Collection(Protocol[T]):
    """Get/add/list by id: the shape every simple aggregate repository shares."""

    def get(self, id: str) -> T | None: ...

    def add(self, item: T) -> None: ...

    def list(self, offset: int = 0, limit: int = 100) -> Sequence[T]: ...

    def count_all(self) -> int:
        """How many items `list` pages through (one `count(*)`)."""
        ...

    def update(self, item: T) -> None:
        """Persist changes made to an item obtained from this repository."""
        ...


class Organisations(Collection[Organisation], Protocol):
    def subtree(self, path: str) -> Sequence[Organisation]: ...

    def calendars(self, path: str) -> Mapping[CalendarKey, Sequence[Organisation]]:
        """The subtree at `path` grouped by calendar (`organisations.calendar_groups`,
        study weeks inherited from above `path` too). May be shared: read it, never change
        it."""
        ...

    def get_many(self, ids: Iterable[str]) -> dict[str, Organisation]:
        """The organisations among `ids` that exist, by id (one query)."""
        ...

    def search(
        self,
        path: str,
        *,
        kinds: Iterable[OrgKind] | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Organisation]:
        """One page of the subtree at `path` (of these kinds only, when given), ordered by
        path in code-point order."""
        ...

    def count(self, path: str, *, kinds: Iterable[OrgKind] | None = None) -> int:
        """How many organisations `search` finds in all (one `count(*)`)."""
        ...

    def of_kinds(self, kinds: Iterable[OrgKind]) -> Sequence[Organisation]:
        """Every organisation of these kinds, ordered by path (the regions and
        municipalities: a few dozen of the region's thousands of organisations)."""
        ...


class Terminals(Collection[Terminal], Protocol):
    def at_sites(self, site_ids: Iterable[str]) -> Sequence[Terminal]: ...

    def get_many(self, ids: Iterable[str]) -> dict[str, Terminal]:
        """The terminals among `ids` that exist, by id (one query)."""
        ...

    def in_subtree(self, path: str, *, active_only: bool = True) -> Sequence[Terminal]:
        """Terminals whose site lies in the organisation subtree at `path` (one query)."""
        ...

    def search(
        self,
        *,
        path: str | None = None,
        site_id: str | None = None,
        active_only: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Terminal]:
        """One page of the terminals of the subtree at `path` and/or of the site `site_id`,
        ordered by id in code-point order."""
        ...

    def count(
        self, *, path: str | None = None, site_id: str | None = None, active_only: bool = False
    ) -> int:
        """How many terminals `search` finds in all (one `count(*)`)."""
        ...


class Cameras(Collection[Camera], Protocol):
    def for_terminal(self, terminal_id: str) -> Camera | None: ...

    def search(self, path: str, *, offset: int = 0, limit: int = 100) -> Sequence[Camera]:
        """One page of the cameras at terminals of the subtree at `path`, by id."""
        ...

    def count(self, path: str) -> int:
        """How many cameras `search` finds in all (one `count(*)`)."""
        ...


class Servers(Collection[ConferenceServer], Protocol):
    def active(self, kind: PlatformKind | None = None) -> Sequence[ConferenceServer]:
        """Active servers, of one platform kind or of every kind."""
        ...


class BellSchedules(Collection[BellSchedule], Protocol): ...


class AcademicYears(Collection[AcademicYear], Protocol):
    def covering(self, day: date) -> AcademicYear | None:
        """The academic year whose [start, end] contains `day`."""
        ...


class Closures(Collection[Closure], Protocol):
    def for_orgs(self, org_ids: Iterable[str], start: date, end: date) -> Sequence[Closure]:
        """Closures of any of `org_ids` overlapping the inclusive date range [start, end]."""
        ...

    def delete(self, closure: Closure) -> None: ...


class Users(Collection[User], Protocol):
    def by_username(self, username: str) -> User | None: ...

    def of_orgs(self, org_ids: Iterable[str]) -> Sequence[User]:
        """The users (active or not) whose organisation is one of `org_ids`, by id."""
        ...


class IssuedTokens(Collection[IssuedToken], Protocol):
    """The recorded feed and service-account tokens, by `jti` (their `id`)."""

    def of_user(self, user_id: str | None) -> Sequence[IssuedToken]:
        """The tokens issued to `user_id` (None: to everyone), oldest first."""
        ...

    def delete_ended_before(self, moment: datetime) -> int:
        """Delete the tokens that expired or were revoked before `moment`; how many."""
        ...


class Bookings(Collection[Booking], Protocol):
    def get_many(self, ids: Iterable[str]) -> dict[str, Booking]:
        """The bookings among `ids` that exist, by id (one query)."""
        ...

    def briefs(self, ids: Iterable[str], *, schools: bool = True) -> dict[str, BookingBrief]:
        """The bookings among `ids` that exist, as `BookingBrief`s, by id (two narrow
        queries: no full `Booking` is built). `schools=False`: their own columns only
        (one query; `taking_part` is the host alone) — a refusal's wording needs no more."""
        ...

    def by_external_ref(self, owner_org_id: str, external_ref: str) -> Booking | None: ...

    def external_refs_taken(self, owner_org_id: str, external_refs: Iterable[str]) -> set[str]:
        """Which of these external references the owner's bookings already use."""
        ...

    def add_all(self, items: Sequence[Booking]) -> None:
        """Many new bookings at once (a timetable import; COPY on PostgreSQL)."""
        ...

    def delete(self, booking: Booking) -> None: ...

    def expired_holds(self, now: datetime) -> Sequence[Booking]:
        """Bookings still HELD whose `hold_expires_at` is at or before `now`."""
        ...

    def search(
        self,
        *,
        org_path: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Booking]:
        """Bookings whose owner organisation lies in the subtree at `org_path` and that have
        an occurrence overlapping [start, end) when given; ordered by id."""
        ...

    def count(
        self,
        *,
        org_path: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        """How many bookings `search` finds in all (one `count(*)`)."""
        ...


class Occurrences(Protocol):
    def get(self, id: str) -> Occurrence | None: ...

    def longest_span(self) -> timedelta | None:
        """The longest occurrence (set-up included) ever stored; None: not tracked."""
        ...

    def get_many(self, ids: Iterable[str]) -> dict[str, Occurrence]:
        """Those of `ids` that exist, by id (one query)."""
        ...

    def briefs(self, ids: Iterable[str]) -> dict[str, OccurrenceBrief]:
        """Those of `ids` that exist, as `OccurrenceBrief`s, by id (one narrow query: no
        full `Occurrence` is built or tracked for writing)."""
        ...

    def add_all(
        self, occurrences: Sequence[Occurrence], reservations: Sequence[Reservation]
    ) -> None:
        """Store occurrences and their terminal reservations (the conflict-bearing rows)."""
        ...

    def update(self, occurrence: Occurrence) -> None:
        """Persist changes to an occurrence (its reservations are changed separately)."""
        ...

    def reserve(self, reservations: Sequence[Reservation]) -> None:
        """Add reservations for occurrences already stored (a moved occurrence)."""
        ...

    def delete(self, occurrence_ids: Iterable[str]) -> None:
        """Remove occurrences (not yet happened, e.g. dropped by an edit) and their
        reservations."""
        ...

    def of_booking(self, booking_id: str) -> Sequence[Occurrence]:
        """Ordered by start."""
        ...

    def between(
        self,
        start: datetime,
        end: datetime,
        *,
        terminal_ids: Iterable[str] | None = None,
        booking_ids: Iterable[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Sequence[Occurrence]: ...

    def visible(
        self,
        start: datetime,
        end: datetime,
        *,
        org_path: str | None = None,
        include_cancelled: bool = True,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Occurrence]:
        """One page of the occurrences overlapping [start, end) of bookings owned by, hosted
        by or joined by an organisation of the subtree at `org_path` (None: of every
        booking) — what a caller of that subtree may see — ordered by (start, id)."""
        ...

    def count_visible(
        self,
        start: datetime,
        end: datetime,
        *,
        org_path: str | None = None,
        include_cancelled: bool = True,
    ) -> int:
        """How many occurrences `visible` finds in all (one `count(*)`)."""
        ...

    def of_schools(
        self, school_ids: Iterable[str], start: datetime, end: datetime
    ) -> Sequence[Occurrence]:
        """Occurrences (cancelled too) overlapping [start, end) of bookings hosted by one of
        these schools or in which one takes part — a school's calendar feed. By start."""
        ...

    def of_teacher(self, teacher: str, start: datetime, end: datetime) -> Sequence[Occurrence]:
        """Occurrences (cancelled too) overlapping [start, end) given by `teacher`: the
        booking's teacher unless substituted on that date, or the substitute. By start."""
        ...

    def overlapping_reservations(
        self, terminal_ids: Iterable[str], start: datetime, end: datetime
    ) -> Sequence[Reservation]:
        """Live reservations of these terminals overlapping [start, end)."""
        ...

    def reservations_overlapping(
        self, terminal_ids: Iterable[str], ranges: Sequence[TimeRange]
    ) -> Sequence[Reservation]:
        """Reservations of these terminals overlapping any of `ranges` — one query for a
        whole series (PostgreSQL: `tstzrange && ANY(...)` on the exclusion-constraint index)."""
        ...

    def busy_terminal_ids(self, start: datetime, end: datetime) -> set[str]: ...

    def held_during(
        self,
        terminal_ids: Iterable[str],
        ranges: Sequence[TimeRange],
        within: str | None = None,
    ) -> dict[str, set[int]]:
        """Per terminal held during any of `ranges` by a live reservation, the indexes of
        those ranges — the recurring-slot search's one query (PostgreSQL: for a few
        terminals their reservations' multiranges, for many the windows of the occurrences'
        time index; only busy terminals come back). `within`: the path of an organisation
        whose subtree holds every one of `terminal_ids` (a hint: a storage may then read
        less)."""
        ...

    def class_sessions(
        self, classes: Iterable[tuple[str, str]], ranges: Sequence[TimeRange]
    ) -> Sequence[ClassSession]:
        """Live occurrences (lesson time [start, end)) overlapping any of `ranges` of bookings
        in which one of the (school_id, class_name) pairs takes part, one row per pair."""
        ...

    def server_load(self, ranges: Sequence[TimeRange]) -> Sequence[ServerLoad]:
        """Every live occurrence whose busy range [setup_start, end) overlaps any of
        `ranges`, with its booking's kind, platform, expected participants and terminal count.
        Only asked for the few occurrences the usage ledger flags as near capacity."""
        ...

    def rule_reads(
        self,
        terminal_ids: Sequence[str],
        ranges: Sequence[TimeRange],
        classes: Sequence[tuple[str, str]],
        class_ranges: Sequence[TimeRange],
        buckets: Sequence[datetime],
    ) -> RuleReads:
        """What the rules of a planned series read, at once: `reservations_overlapping`,
        `class_sessions` and `server_usage` (its lock included) of the same arguments
        (empty ones read nothing). PostgreSQL sends the three in one round trip."""
        ...

    def refusal_reads(
        self,
        booking_ids: Iterable[str],
        terminal_ids: Sequence[str],
        ranges: Sequence[TimeRange],
        classes: Sequence[tuple[str, str]],
        class_ranges: Sequence[TimeRange],
        *,
        holds_due_at: datetime | None = None,
        ending: bool = False,
    ) -> RefusalReads:
        """What a refusal reads once its conflicts are known, at once: the reservations
        and class sessions of `rule_reads` (no ledger), `Bookings.briefs(booking_ids,
        schools=False)`, and when `holds_due_at` is given whether any hold is due by then
        (`Bookings.expired_holds` not empty). PostgreSQL sends them in one round trip.

        `ending`: the unit of work keeps nothing it did so far (it refuses): its
        transaction may end with this read (PostgreSQL: ROLLBACK in the same round trip);
        anything after it runs in a new transaction."""
        ...

    def server_usage(self, buckets: Iterable[datetime]) -> dict[UsageKey, Capacity]:
        """The conference-capacity ledger (`booking.capacity`): stored usage of every pool
        ("jitsi", "bbb", "any") at these 5-minute bucket starts; absent rows are zero and
        may be left out. One query (primary key (pool, bucket))."""
        ...

    def change_server_usage(self, deltas: Mapping[UsageKey, Capacity]) -> None:
        """Add these (possibly negative) amounts to the ledger rows, creating missing rows
        (PostgreSQL: INSERT … ON CONFLICT DO UPDATE); rows back at zero may be deleted."""
        ...

    def release(self, occurrence_id: str) -> None:
        """Drop an occurrence's reservations (cancelled, or about to be moved)."""
        ...


class UnitOfWork(Protocol):
    """One atomic change: everything done inside commits together or not at all."""

    organisations: Organisations
    terminals: Terminals
    cameras: Cameras
    servers: Servers
    bell_schedules: BellSchedules
    academic_years: AcademicYears
    closures: Closures
    users: Users
    tokens: IssuedTokens
    bookings: Bookings
    occurrences: Occurrences
    notifications: NotificationStore  # inboxes, preferences, outbox, deadlines
    audit: AuditLog  # append-only: written with the change it records

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None:
        """Make the change durable, then publish its domain events (booking.messagebus)."""
        ...

    def rollback(self) -> None: ...

    def record(self, event: Event) -> None:
        """An event of the change as a whole (one for a bulk write), published after commit
        with those the written aggregates recorded."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A step that is undone on its own if it raises (the exception goes on); the rest
        of the unit of work is kept — one failed item of a batch writes nothing."""
        ...

    def plan_on_kept_copies(self) -> None:
        """Let this unit of work, before its transaction begins, plan on the reference
        data's copies as this process last saw them; the copies it used are checked
        against the change counters read with its first statement (PostgreSQL: one round
        trip fewer). If one had changed, that statement raises `ReferenceChanged`: plan
        again. No effect elsewhere, or once the transaction has begun."""
        ...

    def kept_copies_were_current(self) -> bool:
        """Whether the copies used so far were current: True unless this unit of work
        still plans on copies not yet checked and one of them has changed (the check
        reads the counters now). Before acting on a plan that made no read."""
        ...
