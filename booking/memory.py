"""An in-memory unit of work implementing the repository Protocols, for fast tests.

`MemoryStore` holds the committed state; each `MemoryUnitOfWork` works on a deep copy taken
when it is entered and publishes it on `commit`, so a failed service call leaves the store
untouched exactly like a rolled-back transaction. Like PostgreSQL's exclusion constraint,
it refuses two overlapping reservations of one terminal. Like the SQL unit of work, it
publishes the domain events of a change on the store's message bus after `commit`.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from booking.audit import AuditEntry, MemoryAuditLog
from booking.bells import BellSchedule
from booking.bookings import (
    Booking,
    BookingBrief,
    BookingStatus,
    Occurrence,
    OccurrenceBrief,
    Reservation,
)
from booking.capacity import UsageKey
from booking.conflicts import Capacity, ClassSession, ServerLoad, overlaps
from booking.errors import BookingConflict
from booking.events import Event, RecordsEvents, merged
from booking.messagebus import MessageBus
from booking.notifications import MemoryNotifications, NotificationData
from booking.organisations import CalendarKey, Organisation, OrgKind, calendar_groups
from booking.recurring_slots import Held, held_ranges
from booking.repository import (
    RefusalReads,
    RuleReads,
    refusal_reads_one_by_one,
    rule_reads_one_by_one,
)
from booking.resources import Camera, ConferenceServer, PlatformKind, Terminal
from booking.schoolyear import AcademicYear, Closure
from booking.tokens import IssuedToken
from booking.users import User
from booking.workflow.memory import MemoryWorkflowStore, WorkflowData

T = TypeVar("T")
TimeRange = tuple[datetime, datetime]


@dataclass
class MemoryData:
    organisations: dict[str, Organisation] = field(default_factory=dict)
    terminals: dict[str, Terminal] = field(default_factory=dict)
    cameras: dict[str, Camera] = field(default_factory=dict)
    servers: dict[str, ConferenceServer] = field(default_factory=dict)
    bell_schedules: dict[str, BellSchedule] = field(default_factory=dict)
    academic_years: dict[str, AcademicYear] = field(default_factory=dict)
    closures: dict[str, Closure] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    bookings: dict[str, Booking] = field(default_factory=dict)
    occurrences: dict[str, Occurrence] = field(default_factory=dict)
    reservations: dict[str, list[Reservation]] = field(default_factory=dict)  # by occurrence
    usage: dict[UsageKey, Capacity] = field(default_factory=dict)  # the capacity ledger
    notifications: NotificationData = field(default_factory=NotificationData)
    audit: list[AuditEntry] = field(default_factory=list)
    workflow: WorkflowData = field(default_factory=WorkflowData)  # offers, requests…


class MemoryStore:
    """The committed state shared by the units of work of one test."""

    def __init__(self, bus: MessageBus | None = None) -> None:
        self.data = MemoryData()
        self.bus = bus or MessageBus()

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)


class MemoryCollection(Generic[T]):
    def __init__(self, items: dict[str, T]) -> None:
        self._items = items

    def get(self, id: str) -> T | None:
        return self._items.get(id)

    def add(self, item: T) -> None:
        key: str = item.id  # type: ignore[attr-defined]
        if key in self._items:
            raise ValueError(f"duplicate id {key!r}")
        self._items[key] = item

    def list(self, offset: int = 0, limit: int = 100) -> Sequence[T]:
        return [self._items[k] for k in sorted(self._items)][offset : offset + limit]

    def count_all(self) -> int:
        return len(self._items)

    def update(self, item: T) -> None:
        key: str = item.id  # type: ignore[attr-defined]
        self._items[key] = item

    def get_many(self, ids: Iterable[str]) -> dict[str, T]:
        return {i: self._items[i] for i in set(ids) if i in self._items}

    def where(self, keep: Callable[[T], bool]) -> builtins.list[T]:
        return [self._items[k] for k in sorted(self._items) if keep(self._items[k])]


class MemoryOrganisations(MemoryCollection[Organisation]):
    def subtree(self, path: str) -> Sequence[Organisation]:
        return self.where(lambda org: org.is_within(path))

    def calendars(self, path: str) -> Mapping[CalendarKey, Sequence[Organisation]]:
        return calendar_groups(self.subtree(path), self._items)

    def _found(self, path: str, kinds: Iterable[OrgKind] | None) -> builtins.list[Organisation]:
        wanted = None if kinds is None else set(kinds)
        found = [o for o in self.subtree(path) if wanted is None or o.kind in wanted]
        return sorted(found, key=lambda o: o.path)

    def search(
        self,
        path: str,
        *,
        kinds: Iterable[OrgKind] | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Organisation]:
        return self._found(path, kinds)[offset : offset + limit]

    def count(self, path: str, *, kinds: Iterable[OrgKind] | None = None) -> int:
        return len(self._found(path, kinds))

    def of_kinds(self, kinds: Iterable[OrgKind]) -> Sequence[Organisation]:
        wanted = set(kinds)
        return sorted(self.where(lambda org: org.kind in wanted), key=lambda o: o.path)


class MemoryTerminals(MemoryCollection[Terminal]):
    def __init__(self, items: dict[str, Terminal], orgs: dict[str, Organisation]) -> None:
        super().__init__(items)
        self._orgs = orgs

    def at_sites(self, site_ids: Iterable[str]) -> Sequence[Terminal]:
        sites = set(site_ids)
        return self.where(lambda t: t.site_id in sites)

    def in_subtree(self, path: str, *, active_only: bool = True) -> Sequence[Terminal]:
        def keep(terminal: Terminal) -> bool:
            site = self._orgs.get(terminal.site_id)
            return (
                site is not None and site.is_within(path) and (terminal.active or not active_only)
            )

        return self.where(keep)

    def _found(
        self, path: str | None, site_id: str | None, active_only: bool
    ) -> builtins.list[Terminal]:
        def keep(terminal: Terminal) -> bool:
            site = self._orgs.get(terminal.site_id)
            return (
                (site_id is None or terminal.site_id == site_id)
                and (path is None or (site is not None and site.is_within(path)))
                and (terminal.active or not active_only)
            )

        return self.where(keep)

    def search(
        self,
        *,
        path: str | None = None,
        site_id: str | None = None,
        active_only: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Terminal]:
        return self._found(path, site_id, active_only)[offset : offset + limit]

    def count(
        self, *, path: str | None = None, site_id: str | None = None, active_only: bool = False
    ) -> int:
        return len(self._found(path, site_id, active_only))


class MemoryCameras(MemoryCollection[Camera]):
    def __init__(
        self,
        items: dict[str, Camera],
        terminals: dict[str, Terminal],
        orgs: dict[str, Organisation],
    ) -> None:
        super().__init__(items)
        self._terminals = terminals
        self._orgs = orgs

    def for_terminal(self, terminal_id: str) -> Camera | None:
        found = self.where(lambda c: c.terminal_id == terminal_id)
        return found[0] if found else None

    def _in(self, path: str) -> builtins.list[Camera]:
        def keep(camera: Camera) -> bool:
            terminal = self._terminals.get(camera.terminal_id)
            site = None if terminal is None else self._orgs.get(terminal.site_id)
            return site is not None and site.is_within(path)

        return self.where(keep)

    def search(self, path: str, *, offset: int = 0, limit: int = 100) -> Sequence[Camera]:
        return self._in(path)[offset : offset + limit]

    def count(self, path: str) -> int:
        return len(self._in(path))


class MemoryServers(MemoryCollection[ConferenceServer]):
    def active(self, kind: PlatformKind | None = None) -> Sequence[ConferenceServer]:
        return self.where(lambda s: s.active and (kind is None or s.kind == kind))


class MemoryAcademicYears(MemoryCollection[AcademicYear]):
    def covering(self, day: date) -> AcademicYear | None:
        found = self.where(lambda y: y.contains(day))
        return found[0] if found else None


class MemoryClosures(MemoryCollection[Closure]):
    def for_orgs(self, org_ids: Iterable[str], start: date, end: date) -> Sequence[Closure]:
        orgs = set(org_ids)
        return self.where(lambda c: c.org_id in orgs and c.start <= end and start <= c.end)

    def delete(self, closure: Closure) -> None:
        self._items.pop(closure.id, None)


class MemoryUsers(MemoryCollection[User]):
    def by_username(self, username: str) -> User | None:
        found = self.where(lambda u: u.username == username)
        return found[0] if found else None

    def of_orgs(self, org_ids: Iterable[str]) -> Sequence[User]:
        wanted = set(org_ids)
        return sorted(self.where(lambda u: u.org_id in wanted), key=lambda u: u.id)


class MemoryIssuedTokens(MemoryCollection[IssuedToken]):
    def of_user(self, user_id: str | None) -> Sequence[IssuedToken]:
        found = self.where(lambda t: user_id is None or t.user_id == user_id)
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def delete_ended_before(self, moment: datetime) -> int:
        ended = self.where(lambda t: min(t.expires_at, t.revoked_at or t.expires_at) < moment)
        for token in ended:
            del self._items[token.id]
        return len(ended)


class MemoryBookings(MemoryCollection[Booking]):
    def __init__(self, data: MemoryData) -> None:
        super().__init__(data.bookings)
        self._data = data

    def by_external_ref(self, owner_org_id: str, external_ref: str) -> Booking | None:
        found = self.where(
            lambda b: b.owner_org_id == owner_org_id and b.external_ref == external_ref
        )
        return found[0] if found else None

    def external_refs_taken(self, owner_org_id: str, external_refs: Iterable[str]) -> set[str]:
        wanted = set(external_refs)
        return {
            b.external_ref
            for b in self._items.values()
            if b.owner_org_id == owner_org_id and b.external_ref in wanted
        }

    def briefs(self, ids: Iterable[str], *, schools: bool = True) -> dict[str, BookingBrief]:
        found = [self._items[i] for i in dict.fromkeys(ids) if i in self._items]
        return {
            b.id: BookingBrief.of(
                b.id, b.title, b.teacher, b.host_school_id,
                [(p.school_id, p.state) for p in b.participants] if schools else [],
            )
            for b in found
        }  # fmt: skip

    def add_all(self, items: Sequence[Booking]) -> None:
        for item in items:
            self.add(item)

    def delete(self, booking: Booking) -> None:
        self._items.pop(booking.id, None)
        for occurrence in [
            o for o in self._data.occurrences.values() if o.booking_id == booking.id
        ]:
            self._data.occurrences.pop(occurrence.id, None)
            self._data.reservations.pop(occurrence.id, None)

    def expired_holds(self, now: datetime) -> Sequence[Booking]:
        return self.where(
            lambda b: (
                b.status == BookingStatus.HELD
                and b.hold_expires_at is not None
                and b.hold_expires_at <= now
            )
        )

    def search(
        self,
        *,
        org_path: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Booking]:
        return self._found(org_path, start, end)[offset : offset + limit]

    def count(
        self,
        *,
        org_path: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        return len(self._found(org_path, start, end))

    def _found(
        self, org_path: str | None, start: datetime | None, end: datetime | None
    ) -> builtins.list[Booking]:
        in_range: set[str] | None = None
        if start is not None or end is not None:
            low = start or datetime.min.replace(tzinfo=(end.tzinfo if end else None))
            high = end or datetime.max.replace(tzinfo=(start.tzinfo if start else None))
            in_range = {
                o.booking_id
                for o in self._data.occurrences.values()
                if overlaps(o.start, o.end, low, high)
            }

        def keep(booking: Booking) -> bool:
            if in_range is not None and booking.id not in in_range:
                return False
            if org_path is None:
                return True
            owner = self._data.organisations.get(booking.owner_org_id)
            return owner is not None and owner.is_within(org_path)

        return self.where(keep)


class MemoryOccurrences:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    def get(self, id: str) -> Occurrence | None:
        return self._data.occurrences.get(id)

    def longest_span(self) -> timedelta | None:
        return None  # not tracked: the callers assume their own bound

    def get_many(self, ids: Iterable[str]) -> dict[str, Occurrence]:
        found = (self._data.occurrences.get(i) for i in ids)
        return {o.id: o for o in found if o is not None}

    def briefs(self, ids: Iterable[str]) -> dict[str, OccurrenceBrief]:
        return {
            o.id: OccurrenceBrief(
                o.id, o.booking_id, o.start, o.end, o.lesson_number, o.teacher, o.state
            )
            for o in self.get_many(ids).values()
        }

    def add_all(
        self, occurrences: Sequence[Occurrence], reservations: Sequence[Reservation]
    ) -> None:
        for occurrence in occurrences:
            if occurrence.id in self._data.occurrences:
                raise ValueError(f"duplicate occurrence id {occurrence.id!r}")
            self._data.occurrences[occurrence.id] = occurrence
        self.reserve(reservations)

    def update(self, occurrence: Occurrence) -> None:
        self._data.occurrences[occurrence.id] = occurrence

    def reserve(self, reservations: Sequence[Reservation]) -> None:
        for reservation in reservations:
            # what PostgreSQL's exclusion constraint does: no two overlapping per terminal
            clash = self.overlapping_reservations(
                [reservation.terminal_id], reservation.start, reservation.end
            )
            if clash:
                raise BookingConflict(
                    f"terminal {reservation.terminal_id} is already reserved",
                    terminal_id=reservation.terminal_id,
                )
            self._data.reservations.setdefault(reservation.occurrence_id, []).append(reservation)

    def delete(self, occurrence_ids: Iterable[str]) -> None:
        for occurrence_id in occurrence_ids:
            self._data.occurrences.pop(occurrence_id, None)
            self._data.reservations.pop(occurrence_id, None)

    def of_booking(self, booking_id: str) -> Sequence[Occurrence]:
        found = [o for o in self._data.occurrences.values() if o.booking_id == booking_id]
        return sorted(found, key=lambda o: o.start)

    def between(
        self,
        start: datetime,
        end: datetime,
        *,
        terminal_ids: Iterable[str] | None = None,
        booking_ids: Iterable[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Sequence[Occurrence]:
        terminals = set(terminal_ids) if terminal_ids is not None else None
        bookings = set(booking_ids) if booking_ids is not None else None
        found = [
            o
            for o in self._data.occurrences.values()
            if overlaps(o.start, o.end, start, end)
            and (terminals is None or terminals & set(o.terminal_ids))
            and (bookings is None or o.booking_id in bookings)
        ]
        found.sort(key=lambda o: (o.start, o.id))
        return found[offset : None if limit is None else offset + limit]

    def _visible(
        self, start: datetime, end: datetime, org_path: str | None, include_cancelled: bool
    ) -> list[Occurrence]:
        def seen(occurrence: Occurrence) -> bool:
            if occurrence.cancelled and not include_cancelled:
                return False
            booking = self._data.bookings.get(occurrence.booking_id)
            if booking is None:
                return False
            if org_path is None:
                return True
            ids = {
                booking.owner_org_id,
                booking.host_school_id,
                *(p.school_id for p in booking.participants),
            }
            orgs = [self._data.organisations.get(i) for i in ids]
            return any(org is not None and org.is_within(org_path) for org in orgs)

        return [o for o in self.between(start, end) if seen(o)]

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
        found = self._visible(start, end, org_path, include_cancelled)
        return found[offset : offset + limit]

    def count_visible(
        self,
        start: datetime,
        end: datetime,
        *,
        org_path: str | None = None,
        include_cancelled: bool = True,
    ) -> int:
        return len(self._visible(start, end, org_path, include_cancelled))

    def of_schools(
        self, school_ids: Iterable[str], start: datetime, end: datetime
    ) -> Sequence[Occurrence]:
        schools = set(school_ids)

        def concerns(occurrence: Occurrence) -> bool:
            booking = self._data.bookings.get(occurrence.booking_id)
            return booking is not None and bool(
                schools & {booking.host_school_id, *(p.school_id for p in booking.participants)}
            )

        return [o for o in self.between(start, end) if concerns(o)]

    def of_teacher(self, teacher: str, start: datetime, end: datetime) -> Sequence[Occurrence]:
        def given_by(occurrence: Occurrence) -> bool:
            if occurrence.teacher is not None:
                return occurrence.teacher == teacher
            booking = self._data.bookings.get(occurrence.booking_id)
            return booking is not None and booking.teacher == teacher

        return [o for o in self.between(start, end) if given_by(o)]

    def _all_reservations(self) -> Iterable[Reservation]:
        for reservations in self._data.reservations.values():
            yield from reservations

    def overlapping_reservations(
        self, terminal_ids: Iterable[str], start: datetime, end: datetime
    ) -> Sequence[Reservation]:
        return self.reservations_overlapping(terminal_ids, [(start, end)])

    def reservations_overlapping(
        self, terminal_ids: Iterable[str], ranges: Sequence[TimeRange]
    ) -> Sequence[Reservation]:
        terminals = set(terminal_ids)
        return [
            r
            for r in self._all_reservations()
            if r.terminal_id in terminals and any(overlaps(r.start, r.end, s, e) for s, e in ranges)
        ]

    def held_during(
        self,
        terminal_ids: Iterable[str],
        ranges: Sequence[TimeRange],
        within: str | None = None,
    ) -> Held:
        return held_ranges(self.reservations_overlapping(terminal_ids, ranges), ranges)

    def busy_terminal_ids(self, start: datetime, end: datetime) -> set[str]:
        return {
            r.terminal_id for r in self._all_reservations() if overlaps(r.start, r.end, start, end)
        }

    def _live(
        self, ranges: Sequence[TimeRange], busy: bool
    ) -> Iterable[tuple[Occurrence, Booking]]:
        for occurrence in self._data.occurrences.values():
            if occurrence.cancelled:
                continue
            booking = self._data.bookings.get(occurrence.booking_id)
            if booking is None or booking.status == BookingStatus.CANCELLED:
                continue
            low = occurrence.setup_start if busy else occurrence.start
            if any(overlaps(low, occurrence.end, s, e) for s, e in ranges):
                yield occurrence, booking

    def class_sessions(
        self, classes: Iterable[tuple[str, str]], ranges: Sequence[TimeRange]
    ) -> Sequence[ClassSession]:
        wanted = set(classes)
        rows = []
        for occurrence, booking in self._live(ranges, busy=False):
            for participant in booking.participants:
                key = (participant.school_id, participant.class_name or "")
                if participant.class_name and key in wanted:
                    rows.append(
                        ClassSession(
                            occurrence_id=occurrence.id,
                            booking_id=booking.id,
                            school_id=participant.school_id,
                            class_name=participant.class_name,
                            start=occurrence.start,
                            end=occurrence.end,
                        )
                    )
        return rows

    def server_load(self, ranges: Sequence[TimeRange]) -> Sequence[ServerLoad]:
        return [
            ServerLoad.of(booking, occurrence)
            for occurrence, booking in self._live(ranges, busy=True)
        ]

    def rule_reads(
        self,
        terminal_ids: Sequence[str],
        ranges: Sequence[TimeRange],
        classes: Sequence[tuple[str, str]],
        class_ranges: Sequence[TimeRange],
        buckets: Sequence[datetime],
    ) -> RuleReads:
        return rule_reads_one_by_one(self, terminal_ids, ranges, classes, class_ranges, buckets)

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
        return refusal_reads_one_by_one(
            self, MemoryBookings(self._data), booking_ids, terminal_ids, ranges, classes,
            class_ranges, holds_due_at,
        )  # fmt: skip

    def server_usage(self, buckets: Iterable[datetime]) -> dict[UsageKey, Capacity]:
        wanted = set(buckets)
        return {key: value for key, value in self._data.usage.items() if key[1] in wanted}

    def change_server_usage(self, deltas: Mapping[UsageKey, Capacity]) -> None:
        for key, delta in deltas.items():
            value = self._data.usage.get(key, Capacity()) + delta
            if value == Capacity():
                self._data.usage.pop(key, None)
            else:
                self._data.usage[key] = value

    def release(self, occurrence_id: str) -> None:
        self._data.reservations.pop(occurrence_id, None)


class MemoryUnitOfWork:
    """Works on a private copy of the store; `commit` publishes it."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._bind(copy.deepcopy(store.data))
        self._recorded: list[Event] = []
        self.committed = False

    def _bind(self, data: MemoryData) -> None:
        self._data = data
        self.organisations = MemoryOrganisations(data.organisations)
        self.terminals = MemoryTerminals(data.terminals, data.organisations)
        self.cameras = MemoryCameras(data.cameras, data.terminals, data.organisations)
        self.servers = MemoryServers(data.servers)
        self.bell_schedules = MemoryCollection[BellSchedule](data.bell_schedules)
        self.academic_years = MemoryAcademicYears(data.academic_years)
        self.closures = MemoryClosures(data.closures)
        self.users = MemoryUsers(data.users)
        self.tokens = MemoryIssuedTokens(data.tokens)
        self.bookings = MemoryBookings(data)
        self.occurrences = MemoryOccurrences(data)
        self.notifications = MemoryNotifications(data.notifications)
        self.audit = MemoryAuditLog(data.audit)
        self.workflow = MemoryWorkflowStore(data.workflow)

    def __enter__(self) -> MemoryUnitOfWork:
        self._bind(copy.deepcopy(self._store.data))
        return self

    def __exit__(self, *exc: Any) -> None:
        self.rollback()

    def record(self, event: Event) -> None:
        self._recorded.append(event)

    def commit(self) -> None:
        happened = self._collect()  # before the copy: the store keeps no pending events
        self._store.data = copy.deepcopy(self._data)
        self.committed = True
        self._store.bus.publish(happened)

    def rollback(self) -> None:
        self._bind(copy.deepcopy(self._store.data))
        self._recorded = []

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        kept, recorded = copy.deepcopy(self._data), len(self._recorded)
        try:
            yield
        except BaseException:
            self._bind(kept)
            del self._recorded[recorded:]
            raise

    def plan_on_kept_copies(self) -> None:
        """Memory has no copies: everything read is current."""

    def kept_copies_were_current(self) -> bool:
        return True

    def _collect(self) -> list[Event]:
        """Every event recorded since the last commit: the aggregates' (all of them are
        in memory) and the unit of work's own (a bulk write's one event)."""
        found: list[Event] = []
        aggregates: list[RecordsEvents] = [*self._data.bookings.values()]
        aggregates += self._data.occurrences.values()
        for aggregate in aggregates:
            if "_events" in aggregate.__dict__:
                found += aggregate.collect_events()
        found += self._recorded
        self._recorded = []
        return merged(found)
