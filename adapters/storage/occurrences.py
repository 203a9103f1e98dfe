"""Occurrences, their terminals and the reservations that decide conflicts.

Every range query is bounded below: a row overlapping [s, e) must start after
s − (the longest span ever stored), a figure kept in `time_bounds`, so the `start` indexes
are scanned over a short window instead of from the beginning of time. Series queries take
every range at once: one query over the series' envelope for a few terminals or classes
(filtered here against the exact ranges), or an OR of index ranges for region-wide loads.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite

from adapters.storage.bulk import write_rows, write_tables
from adapters.storage.collection import SqlRepository
from adapters.storage.engine import READ_ONLY
from adapters.storage.tables import (
    booking_participants,
    bookings,
    occurrence_terminals,
    server_usage,
    time_bounds,
)
from adapters.storage.tables import occurrences as occurrences_table
from adapters.storage.tables import reservations as reservations_table
from adapters.storage.types import UtcDateTime
from booking.bookings import (
    BookingStatus,
    Occurrence,
    OccurrenceState,
    Reservation,
    SessionKind,
)
from booking.capacity import UsageKey
from booking.conflicts import Capacity, ClassSession, ServerLoad
from booking.resources import PlatformKind

TimeRange = tuple[datetime, datetime]

RESERVATIONS = "reservations"  # time_bounds rows
OCCURRENCES = "occurrences"


BEGINNING = datetime(1, 1, 2, tzinfo=UTC)  # "no lower bound"

_r = reservations_table
RESERVATIONS_OF = (
    select(_r.c.occurrence_id, _r.c.booking_id, _r.c.terminal_id, _r.c.start, _r.c.end)
    .where(
        _r.c.terminal_id.in_(bindparam("terminals", expanding=True)),
        _r.c.start < bindparam("end", type_=UtcDateTime),
        _r.c.end > bindparam("start", type_=UtcDateTime),
        _r.c.start >= bindparam("lower", type_=UtcDateTime),
    )
    .order_by(_r.c.start, _r.c.terminal_id)
)
LEDGER_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
LEDGER_LOCK_KEY = 0x766B735F6C656467  # "vks_ledg": the capacity ledger's advisory lock
USAGE_AT = select(server_usage).where(
    server_usage.c.bucket.in_(bindparam("buckets", expanding=True, type_=UtcDateTime))
)
SPANS = select(time_bounds.c.name, time_bounds.c.max_seconds)


def _add_usage(insert: Any) -> Any:
    u = server_usage
    return insert.on_conflict_do_update(
        index_elements=[u.c.bucket, u.c.pool],
        set_={
            "rooms": u.c.rooms + insert.excluded.rooms,
            "participants": u.c.participants + insert.excluded.participants,
            "ports": u.c.ports + insert.excluded.ports,
        },
    )


ADD_USAGE = {
    "postgresql": _add_usage(postgresql.insert(server_usage)),
    "sqlite": _add_usage(sqlite.insert(server_usage)),
}


class RangeSet:
    """Answer "does [s, e) overlap any of these ranges?" in O(log n)."""

    def __init__(self, ranges: Sequence[TimeRange]) -> None:
        ordered = sorted(ranges)
        self._starts = [start for start, _ in ordered]
        self._reach = list(accumulate((end for _, end in ordered), max))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        upto = bisect_left(self._starts, end)  # ranges beginning before `end`
        return upto > 0 and self._reach[upto - 1] > start


def envelope(ranges: Sequence[TimeRange]) -> TimeRange:
    return min(start for start, _ in ranges), max(end for _, end in ranges)


OCCURRENCE_COLUMNS = (
    "id",
    "booking_id",
    "start",
    "end",
    "setup_start",
    "local_date",
    "lesson_number",
    "teacher",
    "cancelled",
    "moved_from",
    "state",
    "state_reason",
    "at_risk",
    "room_server_id",
    "room_id",
    "version",
)
TERMINAL_COLUMNS = ("occurrence_id", "terminal_id", "position")
RESERVATION_COLUMNS = ("occurrence_id", "terminal_id", "booking_id", "start", "end")


def occurrence_values(item: Occurrence) -> tuple[Any, ...]:
    return (
        item.id,
        item.booking_id,
        item.start,
        item.end,
        item.setup_start,
        item.local_date,
        item.lesson_number,
        item.teacher,
        item.cancelled,
        item.moved_from,
        str(item.state),
        item.state_reason,
        item.at_risk,
        item.room_server_id,
        item.room_id,
        item.version,
    )


def terminal_values(item: Occurrence) -> list[tuple[str, str, int]]:
    return [
        (item.id, terminal_id, position) for position, terminal_id in enumerate(item.terminal_ids)
    ]


def reservation_values(item: Reservation) -> tuple[Any, ...]:
    return (item.occurrence_id, item.terminal_id, item.booking_id, item.start, item.end)


class SqlOccurrences(SqlRepository):
    noun = "occurrence"

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._spans: dict[str, timedelta | None] = {}
        self._terminals_read: dict[str, tuple[str, ...]] = {}  # as read, for `update`

    # --- rows ---------------------------------------------------------------------------
    def to_row(self, item: Occurrence) -> dict[str, Any]:
        return dict(zip(OCCURRENCE_COLUMNS, occurrence_values(item), strict=True))

    def from_row(self, row: Row[Any], terminal_ids: Sequence[str] = ()) -> Occurrence:
        return Occurrence(
            id=row.id,
            booking_id=row.booking_id,
            start=row.start,
            end=row.end,
            setup_start=row.setup_start,
            local_date=row.local_date,
            lesson_number=row.lesson_number,
            teacher=row.teacher,
            cancelled=row.cancelled,
            moved_from=row.moved_from,
            state=OccurrenceState(row.state),
            state_reason=row.state_reason,
            at_risk=row.at_risk,
            room_server_id=row.room_server_id,
            room_id=row.room_id,
            version=row.version,
            terminal_ids=list(terminal_ids),
        )

    def _terminals_of(self, occurrence_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        if not occurrence_ids:
            return found
        ot = occurrence_terminals
        query = (
            select(ot.c.occurrence_id, ot.c.terminal_id)
            .where(ot.c.occurrence_id.in_(occurrence_ids))
            .order_by(ot.c.occurrence_id, ot.c.position)
        )
        for row in self._execute(query).all():
            found[row.occurrence_id].append(row.terminal_id)
        return found

    def _build(self, rows: Sequence[Row[Any]]) -> list[Occurrence]:
        terminals = self._terminals_of([row.id for row in rows])
        built = [self.from_row(row, terminals.get(row.id, ())) for row in rows]
        for occurrence in built:
            self._seen(occurrence)
            self._terminals_read[occurrence.id] = tuple(occurrence.terminal_ids)
        return built

    # --- the longest stored spans ----------------------------------------------------------
    def _span(self, name: str) -> timedelta | None:
        """The longest span stored for `name`; None if unknown (then no lower bound). Both
        spans are read together, once per unit of work."""
        if name not in self._spans:
            rows = self._execute(SPANS).all()
            known = {row.name: timedelta(seconds=row.max_seconds) for row in rows}
            for kind in (RESERVATIONS, OCCURRENCES):
                self._spans.setdefault(kind, known.get(kind))
        return self._spans[name]

    def longest_reservation(self) -> timedelta | None:
        """The longest reservation ever stored (None: not tracked in this database)."""
        return self._span(RESERVATIONS)

    def _widen(self, name: str, longest: timedelta) -> None:
        seconds = int(longest.total_seconds()) + 1
        known = self._spans.get(name)
        if known is not None and known >= timedelta(seconds=seconds):
            return
        self._execute(
            time_bounds.update()
            .where(time_bounds.c.name == name, time_bounds.c.max_seconds < seconds)
            .values(max_seconds=seconds)
        )
        self._spans.pop(name, None)

    def _not_before(self, name: str, start: datetime) -> datetime | None:
        span = self._span(name)
        return None if span is None else start - span

    # --- writing ------------------------------------------------------------------------
    def add(self, item: Occurrence) -> None:
        self.add_all([item], [])

    def add_all(
        self, occurrences: Sequence[Occurrence], reservations: Sequence[Reservation]
    ) -> None:
        if occurrences:
            self._widen(OCCURRENCES, max(o.end - o.setup_start for o in occurrences))
        if reservations:
            self._widen(RESERVATIONS, max(r.end - r.start for r in reservations))
        with self._errors():
            write_tables(
                self._connection,
                [
                    (
                        occurrences_table,
                        OCCURRENCE_COLUMNS,
                        [occurrence_values(o) for o in occurrences],
                    ),
                    (
                        occurrence_terminals,
                        TERMINAL_COLUMNS,
                        [row for o in occurrences for row in terminal_values(o)],
                    ),
                    (
                        reservations_table,
                        RESERVATION_COLUMNS,
                        [reservation_values(r) for r in reservations],
                    ),
                ],
            )
        for occurrence in occurrences:
            self._seen(occurrence)
            self._terminals_read[occurrence.id] = tuple(occurrence.terminal_ids)

    def update(self, occurrence: Occurrence) -> None:
        self._widen(OCCURRENCES, occurrence.end - occurrence.setup_start)
        self._update_versioned(occurrences_table, occurrence, self.to_row(occurrence))
        stored = self._terminals_read.get(occurrence.id)
        if stored is None:
            stored = tuple(self._terminals_of([occurrence.id]).get(occurrence.id, []))
        if stored != tuple(occurrence.terminal_ids):
            self._execute(
                occurrence_terminals.delete().where(
                    occurrence_terminals.c.occurrence_id == occurrence.id
                )
            )
            with self._errors():
                write_rows(
                    self._connection,
                    occurrence_terminals,
                    TERMINAL_COLUMNS,
                    terminal_values(occurrence),
                )
            self._terminals_read[occurrence.id] = tuple(occurrence.terminal_ids)

    def reserve(self, reservations: Sequence[Reservation]) -> None:
        if not reservations:
            return
        self._widen(RESERVATIONS, max(r.end - r.start for r in reservations))
        with self._errors():
            write_rows(
                self._connection,
                reservations_table,
                RESERVATION_COLUMNS,
                [reservation_values(r) for r in reservations],
            )

    def release(self, occurrence_id: str) -> None:
        self._execute(
            reservations_table.delete().where(reservations_table.c.occurrence_id == occurrence_id)
        )

    def delete(self, occurrence_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(occurrence_ids))
        if ids:
            self._execute(occurrences_table.delete().where(occurrences_table.c.id.in_(ids)))

    # --- reading occurrences ---------------------------------------------------------------
    def get(self, id: str) -> Occurrence | None:
        rows = self._execute(select(occurrences_table).where(occurrences_table.c.id == id)).all()
        return self._build(rows)[0] if rows else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Occurrence]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        query = select(occurrences_table).where(occurrences_table.c.id.in_(wanted))
        return {o.id: o for o in self._build(self._execute(query).all())}

    def of_booking(self, booking_id: str) -> Sequence[Occurrence]:
        o = occurrences_table
        query = select(o).where(o.c.booking_id == booking_id).order_by(o.c.start, o.c.id)
        return self._build(self._execute(query).all())

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
        """Occurrences (cancelled ones too) whose lesson time [start, end) overlaps the
        range, ordered by start; optionally only those of some terminals or bookings."""
        o = occurrences_table
        query = select(o).where(o.c.start < end, o.c.end > start)
        lower = self._not_before(OCCURRENCES, start)
        if lower is not None:
            query = query.where(o.c.start >= lower)
        if terminal_ids is not None:
            wanted = list(dict.fromkeys(terminal_ids))
            if not wanted:
                return []
            ot = occurrence_terminals
            query = query.where(
                o.c.id.in_(select(ot.c.occurrence_id).where(ot.c.terminal_id.in_(wanted)))
            )
        if booking_ids is not None:
            chosen = list(dict.fromkeys(booking_ids))
            if not chosen:
                return []
            query = query.where(o.c.booking_id.in_(chosen))
        query = query.order_by(o.c.start, o.c.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return self._build(self._execute(query).all())

    def _of_bookings_between(
        self, booking_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[Occurrence]:
        if not booking_ids:
            return []
        o = occurrences_table
        query = select(o).where(o.c.booking_id.in_(booking_ids), o.c.start < end, o.c.end > start)
        return self._build(self._execute(query.order_by(o.c.start, o.c.id)).all())

    def of_schools(
        self, school_ids: Iterable[str], start: datetime, end: datetime
    ) -> Sequence[Occurrence]:
        """Driven by the schools' bookings (hosted or joined), then their occurrences in
        range through (booking_id, start): no scan of the region's calendar."""
        schools = list(dict.fromkeys(school_ids))
        if not schools:
            return []
        p = booking_participants
        hosted = select(bookings.c.id).where(bookings.c.host_school_id.in_(schools))
        joined = select(p.c.booking_id).where(p.c.school_id.in_(schools))
        ids = sorted(set(self._execute(hosted.union(joined)).scalars()))
        return self._of_bookings_between(ids, start, end)

    def of_teacher(self, teacher: str, start: datetime, end: datetime) -> Sequence[Occurrence]:
        """The teacher's bookings' occurrences not given by a substitute, and the
        occurrences the teacher substitutes in."""
        own = list(
            self._execute(select(bookings.c.id).where(bookings.c.teacher == teacher)).scalars()
        )
        found = [o for o in self._of_bookings_between(own, start, end) if o.teacher is None]
        o = occurrences_table
        substituting = select(o).where(o.c.teacher == teacher, o.c.start < end, o.c.end > start)
        found += self._build(self._execute(substituting).all())
        return sorted(found, key=lambda item: (item.start, item.id))

    # --- reading reservations -------------------------------------------------------------
    def _reservations(
        self, terminal_ids: Iterable[str], start: datetime, end: datetime
    ) -> list[Reservation]:
        wanted = list(dict.fromkeys(terminal_ids))
        if not wanted:
            return []
        lower = self._not_before(RESERVATIONS, start) or BEGINNING
        parameters = {"terminals": wanted, "start": start, "end": end, "lower": lower}
        return [
            Reservation(
                occurrence_id=row.occurrence_id,
                booking_id=row.booking_id,
                terminal_id=row.terminal_id,
                start=row.start,
                end=row.end,
            )
            for row in self._execute(RESERVATIONS_OF, parameters).all()
        ]

    def overlapping_reservations(
        self, terminal_ids: Iterable[str], start: datetime, end: datetime
    ) -> Sequence[Reservation]:
        return self._reservations(terminal_ids, start, end)

    def reservations_overlapping(
        self, terminal_ids: Iterable[str], ranges: Sequence[TimeRange]
    ) -> Sequence[Reservation]:
        if not ranges:
            return []
        if len(ranges) == 1:
            return self._reservations(terminal_ids, *ranges[0])
        wanted = RangeSet(ranges)
        found = self._reservations(terminal_ids, *envelope(ranges))
        return [r for r in found if wanted.overlaps(r.start, r.end)]

    def busy_terminal_ids(self, start: datetime, end: datetime) -> set[str]:
        r = reservations_table
        query = select(r.c.terminal_id).where(r.c.start < end, r.c.end > start).distinct()
        lower = self._not_before(RESERVATIONS, start)
        if lower is not None:
            query = query.where(r.c.start >= lower)
        return set(self._execute(query).scalars())

    # --- the conference-capacity ledger ---------------------------------------------------
    def server_usage(self, buckets: Iterable[datetime]) -> dict[UsageKey, Capacity]:
        """On PostgreSQL a writing unit of work first takes the ledger's transaction lock:
        a capacity check and the ledger change after it are one step for concurrent
        writers (two creates cannot both see the last free room; the second waits, then
        reads the first's usage). SQLite's writers are serialised anyway; read-only units
        of work (availability) never wait."""
        wanted = sorted(set(buckets))
        if not wanted:
            return {}
        connection = self._connection
        if connection.dialect.name == "postgresql" and not connection.get_execution_options().get(
            READ_ONLY, False
        ):
            self._execute(LEDGER_LOCK, {"key": LEDGER_LOCK_KEY})
        return {
            (row.pool, row.bucket): Capacity(row.rooms, row.participants, row.ports)
            for row in self._execute(USAGE_AT, {"buckets": wanted}).all()
        }

    def change_server_usage(self, deltas: Mapping[UsageKey, Capacity]) -> None:
        """Add the deltas row by row in key order (concurrent writers lock the same rows in
        the same order: no deadlock); rows back at zero are deleted."""
        changes = [
            (key, delta)
            for key, delta in sorted(deltas.items(), key=lambda item: (item[0][1], item[0][0]))
            if delta != Capacity()
        ]
        if not changes:
            return
        u = server_usage
        statement = ADD_USAGE[self._connection.dialect.name]
        rows = [
            {
                "pool": pool,
                "bucket": bucket,
                "rooms": delta.rooms,
                "participants": delta.participants,
                "ports": delta.ports,
            }
            for (pool, bucket), delta in changes
        ]
        self._execute(statement, rows)
        if any(min(d.rooms, d.participants, d.ports) < 0 for _, d in changes):
            self._execute(
                u.delete().where(
                    u.c.bucket.in_(sorted({bucket for (_, bucket), _ in changes})),
                    u.c.rooms == 0,
                    u.c.participants == 0,
                    u.c.ports == 0,
                )
            )

    # --- rules over live occurrences --------------------------------------------------------
    def _live(self) -> ColumnElement[bool]:
        return and_(
            occurrences_table.c.cancelled == false(),
            bookings.c.status != str(BookingStatus.CANCELLED),
        )

    def class_sessions(
        self, classes: Iterable[tuple[str, str]], ranges: Sequence[TimeRange]
    ) -> Sequence[ClassSession]:
        pairs = list(dict.fromkeys(classes))
        if not pairs or not ranges:
            return []
        o, p = occurrences_table, booking_participants
        start, end = envelope(ranges)
        query = (
            select(o.c.id, o.c.booking_id, p.c.school_id, p.c.class_name, o.c.start, o.c.end)
            .select_from(p)
            .join(bookings, bookings.c.id == p.c.booking_id)
            .join(o, o.c.booking_id == p.c.booking_id)
            .where(
                tuple_(p.c.school_id, p.c.class_name).in_(pairs),
                self._live(),
                o.c.start < end,
                o.c.end > start,
            )
            .order_by(o.c.start, o.c.id, p.c.position)
        )
        lower = self._not_before(OCCURRENCES, start)
        if lower is not None:
            query = query.where(o.c.start >= lower)
        wanted = RangeSet(ranges)
        return [
            ClassSession(
                occurrence_id=row.id,
                booking_id=row.booking_id,
                school_id=row.school_id,
                class_name=row.class_name,
                start=row.start,
                end=row.end,
            )
            for row in self._execute(query).all()
            if wanted.overlaps(row.start, row.end)
        ]

    def server_load(self, ranges: Sequence[TimeRange]) -> Sequence[ServerLoad]:
        if not ranges:
            return []
        o, ot = occurrences_table, occurrence_terminals
        span = self._span(OCCURRENCES)
        conditions = []
        for start, end in _merged(ranges):
            condition = and_(o.c.setup_start < end, o.c.end > start)
            if span is not None:  # setup_start ≤ start < setup_start + span
                condition = and_(condition, o.c.start >= start - span, o.c.start < end + span)
            conditions.append(condition)
        terminal_count = (
            select(func.count()).where(ot.c.occurrence_id == o.c.id).correlate(o).scalar_subquery()
        )
        query = (
            select(
                o.c.id,
                o.c.booking_id,
                bookings.c.kind,
                bookings.c.platform,
                o.c.setup_start,
                o.c.end,
                bookings.c.expected_participants,
                terminal_count.label("terminals"),
            )
            .select_from(o)
            .join(bookings, bookings.c.id == o.c.booking_id)
            .where(self._live(), or_(*conditions))
            .order_by(o.c.setup_start, o.c.id)
        )
        return [
            ServerLoad(
                occurrence_id=row.id,
                booking_id=row.booking_id,
                kind=SessionKind(row.kind),
                platform=None if row.platform is None else PlatformKind(row.platform),
                start=row.setup_start,
                end=row.end,
                participants=row.expected_participants,
                terminals=row.terminals,
            )
            for row in self._execute(query).all()
        ]


def _merged(ranges: Sequence[TimeRange]) -> list[TimeRange]:
    """Overlapping or touching ranges joined, so the OR in a query has fewer branches."""
    merged: list[list[datetime]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]
