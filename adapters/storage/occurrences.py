"""Occurrences, their terminals and the reservations that decide conflicts.

An occurrence row carries its terminals and whether it holds them (`reserved`); the
domain's `Reservation`s — (live occurrence, terminal, [set-up start, end)) — are read from
those rows, reached through the `reservations` rows that link each booking to the
terminals it uses. On PostgreSQL `reserve` and `release` also add and subtract the
ranges of the (booking, terminal) row's `busy` multirange, which the exclusion constraint
keeps apart from every other booking's on that terminal.

Every range query is bounded below: a row overlapping [s, e) must start after
s − (the longest span ever stored), a figure kept in `time_bounds`, so the `start` indexes
are scanned over a short window instead of from the beginning of time. Series queries take
every range at once: one query over the series' envelope for a few terminals or classes
(filtered here against the exact ranges), or an OR of index ranges for region-wide loads.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    TextClause,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)

from adapters.storage.areas import areas_of, areas_within
from adapters.storage.bulk import BULK_THRESHOLD, busy_literal, write_tables
from adapters.storage.collection import SqlRepository, among
from adapters.storage.engine import READ_ONLY
from adapters.storage.organisations import in_subtree
from adapters.storage.reference_cache import (
    READ,
    checked_with,
    confirm,
    kept_rows,
    mark_changed,
)
from adapters.storage.sent_together import Statement, read_together
from adapters.storage.tables import (
    booking_participants,
    bookings,
    organisations,
    server_usage,
    time_bounds,
)
from adapters.storage.tables import occurrences as occurrences_table
from adapters.storage.tables import reservations as reservations_table
from adapters.storage.types import UtcDateTime
from booking.bookings import (
    BookingStatus,
    Occurrence,
    OccurrenceBrief,
    OccurrenceState,
    Reservation,
    SessionKind,
)
from booking.capacity import UsageKey
from booking.conflicts import Capacity, ClassSession, ServerLoad
from booking.recurring_slots import Held, held_ranges
from booking.repository import RefusalReads, RuleReads, rule_reads_one_by_one
from booking.resources import PlatformKind

TimeRange = tuple[datetime, datetime]

OCCURRENCES = "occurrences"  # the time_bounds row: every busy range spans at most this


BEGINNING = datetime(1, 1, 2, tzinfo=UTC)  # "no lower bound"
END_OF_TIME = datetime(9999, 12, 30, tzinfo=UTC)  # "no upper bound"

_o, _r = occurrences_table, reservations_table


# Live occurrences of the bookings that use these terminals, overlapping [start, end);
# `lower`/`upper` bound the (booking_id, start) index (start − set-up ≤ the longest span).
# The terminals are one array parameter on PostgreSQL (`among`): a network's hundred
# terminals are not rendered and parsed as a hundred placeholders on every call.
@cache
def held_by(postgres: bool) -> Select[Any]:
    using = select(_r.c.booking_id).where(among(_r.c.terminal_id, "terminals", postgres=postgres))
    return (
        select(_o.c.id, _o.c.booking_id, _o.c.setup_start, _o.c.end, _o.c.terminal_ids)
        .where(
            _o.c.booking_id.in_(using),
            _o.c.reserved == true(),
            _o.c.setup_start < bindparam("end", type_=UtcDateTime),
            _o.c.end > bindparam("start", type_=UtcDateTime),
            _o.c.start >= bindparam("lower", type_=UtcDateTime),
            _o.c.start < bindparam("upper", type_=UtcDateTime),
        )
        .order_by(_o.c.setup_start, _o.c.id)
    )


# PostgreSQL: which of these terminals a live reservation holds during which range
HELD_DURING = text(
    """
    SELECT DISTINCT r.terminal_id, g.i
    FROM reservations AS r
    JOIN unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]))
         WITH ORDINALITY AS g(s, e, i)
      ON r.busy && tstzrange(g.s, g.e, '[)')
    WHERE r.terminal_id = ANY(CAST(:terminals AS text[]))
      AND r.busy && CAST(:every AS tstzmultirange)
    """
)

# PostgreSQL, many terminals (a municipality, the region): the reserved occurrences in each
# range's window of the `start` index (which covers every column read here: an index-only
# scan), grouped by their terminal lists — only the busy terminals and the ranges they clash
# with come back, however many terminals are free. `array_agg` without DISTINCT lets the
# grouping hash instead of sorting ~15,000 rows (a repeated range number is harmless: the
# caller makes sets). Parameters: starts, ends, span (`sent_together.read_together`).
HELD_IN_WINDOWS = """
    SELECT CAST(o.terminal_ids AS text), array_agg(g.i)
    FROM unnest(CAST(%s AS timestamptz[]), CAST(%s AS timestamptz[]))
         WITH ORDINALITY AS g(s, e, i)
    JOIN occurrences AS o
      ON o.start > g.s - CAST(%s AS interval) AND o.start < g.e + CAST(%s AS interval)
     AND o.setup_start < g.e AND o."end" > g.s AND o.reserved
    GROUP BY 1
"""
# … and for a subtree within one municipality (`areas.py`), the windows of its own area's
# entries of the partial (area, start) index, and of the entries of no one area ("").
# Parameters: starts, ends, areas, span.
HELD_IN_AREAS = """
    SELECT CAST(o.terminal_ids AS text), array_agg(g.i)
    FROM unnest(CAST(%s AS timestamptz[]), CAST(%s AS timestamptz[]))
         WITH ORDINALITY AS g(s, e, i)
    CROSS JOIN unnest(CAST(%s AS text[])) AS a(area)
    JOIN occurrences AS o
      ON o.area = a.area AND o.reserved
     AND o.start > g.s - CAST(%s AS interval) AND o.start < g.e + CAST(%s AS interval)
     AND o.setup_start < g.e AND o."end" > g.s
    GROUP BY 1
"""
# Sent with those, in the same round trip: the region's windows cost the planner more than
# its JIT threshold, and compiling them took twice as long as running them (20 ms of 30);
# the grouping of ~17,000 rows spilled to disk at the default work_mem. For the rest of the
# transaction only (a read-only one, as a rule: the search ends with it).
WINDOW_SETTINGS: list[Statement] = [
    ("SET LOCAL jit = off", []),
    ("SET LOCAL work_mem = '16MB'", []),
]
MANY_TERMINALS = 200  # from here on, windows of the time index beat the terminals' rows

# occurrences that still take place: not cancelled, nor is their booking
LIVE = and_(_o.c.cancelled == false(), bookings.c.status != str(BookingStatus.CANCELLED))
_p = booking_participants
CLASS_SESSIONS = (  # the live sessions of these (school, class) pairs over [start, end)
    select(_o.c.id, _o.c.booking_id, _p.c.school_id, _p.c.class_name, _o.c.start, _o.c.end)
    .select_from(_p)
    .join(bookings, bookings.c.id == _p.c.booking_id)
    .join(_o, _o.c.booking_id == _p.c.booking_id)
    .where(
        tuple_(_p.c.school_id, _p.c.class_name).in_(bindparam("pairs", expanding=True)),
        LIVE,
        _o.c.start < bindparam("end", type_=UtcDateTime),
        _o.c.end > bindparam("start", type_=UtcDateTime),
        _o.c.start >= bindparam("lower", type_=UtcDateTime),
    )
    .order_by(_o.c.start, _o.c.id, _p.c.position)
)


def _busy_terminals(elements: str) -> Any:
    return text(
        f"""
        SELECT DISTINCT t.value FROM occurrences AS o, {elements}
        WHERE o.reserved AND o.setup_start < :end AND o."end" > :start
          AND o.start >= :lower AND o.start < :upper
        """
    ).bindparams(*(bindparam(name, type_=UtcDateTime) for name in BOUNDS))


# An occurrence's terminal ids as rows `t.value`, from the JSON list in `{}.terminal_ids`
TERMINALS_OF = {
    "postgresql": "json_array_elements_text({}.terminal_ids) AS t(value)",
    "sqlite": "json_each({}.terminal_ids) AS t",
}
BOUNDS = ("start", "end", "lower", "upper")
BUSY_TERMINALS = {
    dialect: _busy_terminals(elements.format("o")) for dialect, elements in TERMINALS_OF.items()
}
# PostgreSQL: the busy ranges of these occurrences (as stored) leave their rows' multiranges
UNHOLD = text(
    """
    UPDATE reservations AS r SET busy = r.busy - x.ranges
    FROM (
        SELECT o.booking_id, t.terminal_id,
               range_agg(tstzrange(o.setup_start, o."end", '[)')) AS ranges
        FROM occurrences AS o, json_array_elements_text(o.terminal_ids) AS t(terminal_id)
        WHERE o.id = ANY(CAST(:ids AS text[])) AND o.reserved
        GROUP BY o.booking_id, t.terminal_id
    ) AS x
    WHERE r.booking_id = x.booking_id AND r.terminal_id = x.terminal_id
    """
)
# Merging rows into `reservations` (a booking's terminal may be linked already)
MERGE_RESERVATIONS = {
    "postgresql": "ON CONFLICT (booking_id, terminal_id) DO UPDATE"
    " SET busy = coalesce(reservations.busy, '{}') + excluded.busy",
    "sqlite": "ON CONFLICT (booking_id, terminal_id) DO NOTHING",
}
RESERVATION_COLUMNS = ("booking_id", "terminal_id", "busy")
LEDGER_LOCK_KEY = 0x766B735F6C656467  # "vks_ledg": the capacity ledger's advisory lock
USAGE_AT = {  # PostgreSQL: one array parameter (a weekly series has ~50 buckets: an
    # expanded IN list of that many parameters is parsed afresh by psycopg on every call)
    "postgresql": select(server_usage).where(
        server_usage.c.bucket == func.any(bindparam("buckets"))
    ),
    "sqlite": select(server_usage).where(
        server_usage.c.bucket.in_(bindparam("buckets", expanding=True, type_=UtcDateTime))
    ),
}
# PostgreSQL texts of `held_by` and CLASS_SESSIONS for `rule_reads` (sent with the ledger's
# lock and rows in one pipeline, on the driver's cursor: no expanding parameters — an array
# of terminals; the class pairs written out, one statement text per number of pairs). The
# series' envelope bounds the index scan; the rows are then kept only where they overlap
# one of the series' own ranges (`IN_RANGES`: one `tstzmultirange` parameter) — a weekly
# series over a quarter would otherwise bring back every lesson of its terminal in it.
#
# Both run on generic plans (`GENERIC_PLANS`): psycopg prepares a statement on its fifth
# use on a connection, but PostgreSQL kept planning these two afresh at every execution
# (custom plans: 0.4–0.5 ms of the server's time each, more than running them). A generic
# plan must then be good for any parameters: `held_by`'s bookings are found first and
# their occurrences by (booking_id, start) one booking at a time — the `OFFSET 0` keeps
# the planner from merging the two (unfenced, its generic plan scanned the whole time
# index: 400 ms).
IN_RANGES = """tstzrange({start}, o."end", '[)') && CAST(%s AS tstzmultirange)"""
HELD_BY_SQL = f"""SELECT o.id, o.booking_id, o.setup_start, o."end", o.terminal_ids
FROM (SELECT DISTINCT r.booking_id FROM reservations AS r
      WHERE r.terminal_id = ANY(%b)) AS r
CROSS JOIN LATERAL (
  SELECT o.id, o.booking_id, o.setup_start, o."end", o.terminal_ids FROM occurrences AS o
  WHERE o.booking_id = r.booking_id
    AND o.reserved = true AND o.setup_start < %s AND o."end" > %s
    AND o.start >= %s AND o.start < %s
    AND {IN_RANGES.format(start="o.setup_start")}
  OFFSET 0) AS o
ORDER BY o.setup_start, o.id"""
GENERIC_PLANS: list[Statement] = [("SET LOCAL plan_cache_mode TO force_generic_plan", [])]
DEFAULT_PLANS: list[Statement] = [("SET LOCAL plan_cache_mode TO DEFAULT", [])]


@cache
def class_sessions_sql(pairs: int) -> str:
    wanted = ", ".join(["(%s, %s)"] * pairs)
    return f"""SELECT o.id, o.booking_id, p.school_id, p.class_name, o.start, o."end"
FROM booking_participants AS p
JOIN bookings AS b ON b.id = p.booking_id
JOIN occurrences AS o ON o.booking_id = p.booking_id
WHERE (p.school_id, p.class_name) IN ({wanted})
  AND o.cancelled = false AND b.status != '{BookingStatus.CANCELLED!s}'
  AND o.start < %s AND o."end" > %s AND o.start >= %s
  AND {IN_RANGES.format(start="o.start")}
ORDER BY o.start, o.id, p.position"""


LOCKED_SQL = "SELECT pg_advisory_xact_lock(%s)"
USAGE_SQL = (  # the same as USAGE_AT's, sent with the lock (`sent_together.read_together`)
    "SELECT bucket, pool, rooms, participants, ports FROM server_usage WHERE bucket = ANY(%b)"
)
SPANS = select(time_bounds.c.name, time_bounds.c.max_seconds)


# Adding to the ledger's rows, creating missing ones (the same clause on both databases)
ADD_USAGE = (
    "ON CONFLICT (bucket, pool) DO UPDATE SET rooms = server_usage.rooms + excluded.rooms,"
    " participants = server_usage.participants + excluded.participants,"
    " ports = server_usage.ports + excluded.ports"
)
USAGE_COLUMNS = ("bucket", "pool", "rooms", "participants", "ports")


class RangeSet:
    """Answer "does [s, e) overlap any of these ranges?" in O(log n)."""

    def __init__(self, ranges: Sequence[TimeRange]) -> None:
        ordered = sorted(ranges)
        self._starts = [start for start, _ in ordered]
        self._reach = list(accumulate((end for _, end in ordered), max))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        upto = bisect_left(self._starts, end)  # ranges beginning before `end`
        return upto > 0 and self._reach[upto - 1] > start


@cache
def _by_ids(postgres: bool) -> Select[Any]:
    return select(occurrences_table).where(among(occurrences_table.c.id, "ids", postgres=postgres))


@cache
def _briefs_by_ids(postgres: bool) -> Select[Any]:
    o = occurrences_table.c
    columns = (o.id, o.booking_id, o.start, o.end, o.lesson_number, o.teacher, o.state)
    return select(*columns).where(among(o.id, "ids", postgres=postgres))


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
    "at_risk_since",
    "room_server_id",
    "room_id",
    "version",
    "terminal_ids",
)


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
        item.at_risk_since,
        item.room_server_id,
        item.room_id,
        item.version,
        list(item.terminal_ids),
    )


def reservation_rows(
    occurrences: Sequence[Occurrence], reservations: Sequence[Reservation], *, ranges: bool
) -> list[tuple[str, str, list[TimeRange] | None]]:
    """One (booking_id, terminal_id, busy) row per booking and terminal these occurrences
    use; `busy` lists the reservations' spans in time order (PostgreSQL) or is None."""
    held: dict[tuple[str, str], list[TimeRange]] = {}
    for occurrence in occurrences:
        for terminal_id in occurrence.terminal_ids:
            held.setdefault((occurrence.booking_id, terminal_id), [])
    for r in reservations:
        held.setdefault((r.booking_id, r.terminal_id), []).append((r.start, r.end))
    return [
        (booking_id, terminal_id, sorted(spans) if ranges else None)
        for (booking_id, terminal_id), spans in sorted(held.items())
    ]


class SqlOccurrences(SqlRepository):
    noun = "occurrence"

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._spans: dict[str, timedelta | None] = {}
        self._spans_under: object = None  # the counters (`READ`) they were read under
        self._terminals_read: dict[str, tuple[str, ...]] = {}  # as read, for `update`

    # --- rows ---------------------------------------------------------------------------
    def to_row(self, item: Occurrence) -> dict[str, Any]:
        """The columns an update writes (not `reserved`: `reserve`/`release` keep it)."""
        row = dict(zip(OCCURRENCE_COLUMNS, occurrence_values(item), strict=True))
        row["area"] = areas_of(self._connection, [item.terminal_ids])[0]
        return row

    def from_row(self, row: Row[Any]) -> Occurrence:
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
            at_risk_since=row.at_risk_since,
            room_server_id=row.room_server_id,
            room_id=row.room_id,
            version=row.version,
            terminal_ids=list(row.terminal_ids),
        )

    def _build(self, rows: Sequence[Row[Any]]) -> list[Occurrence]:
        built = [self.from_row(row) for row in rows]
        for occurrence in built:
            self._seen(occurrence)
            self._terminals_read[occurrence.id] = tuple(occurrence.terminal_ids)
        return built

    # --- the longest stored span ---------------------------------------------------------
    def _span(self, name: str) -> timedelta | None:
        """The longest span stored for `name`; None if unknown (then no lower bound). From
        the process's copy, once per transaction (`_known_spans`)."""
        spans = self._known_spans()
        if name not in spans:
            rows = kept_rows(self._connection, "time_bounds", lambda: self._execute(SPANS).all())
            known = {row.name: timedelta(seconds=row.max_seconds) for row in rows}
            spans[name] = known.get(name)
        return spans[name]

    def _known_spans(self) -> dict[str, timedelta | None]:
        """The spans read so far, forgotten when the counters they were read under are
        replaced (a plan on assumed counters found a change: `reference_cache.confirm`)."""
        counters = self._connection.info.get(READ)
        if counters is not self._spans_under:
            self._spans.clear()
            self._spans_under = counters
        return self._spans

    def longest_span(self) -> timedelta | None:
        """The longest occurrence (set-up included) ever stored; None: not tracked here."""
        return self._span(OCCURRENCES)

    def widen_span(self, longest: timedelta) -> None:
        """Stored rows may now span up to `longest` (set-up included)."""
        self._widen(OCCURRENCES, longest)

    def _widen(self, name: str, longest: timedelta) -> None:
        seconds = int(longest.total_seconds()) + 1
        known = self._span(name)  # (as this transaction's copy has it; it only grows)
        if known is not None and known >= timedelta(seconds=seconds):
            return
        mark_changed(self._connection, "time_bounds")
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
        """The occurrences (those with reservations hold their terminals) and their
        bookings' `reservations` rows, merged into rows already there."""
        # the rows first, the statements after: a COPY of the bookings still running in
        # the background (bulk.py) goes on meanwhile
        held = {r.occurrence_id for r in reservations}
        dialect = self._connection.dialect.name
        rows = reservation_rows(occurrences, reservations, ranges=self._postgres)
        if len(occurrences) >= BULK_THRESHOLD:
            occurrences = sorted(occurrences, key=_id)  # in key order: indexes grow at one edge
        areas = areas_of(self._connection, [o.terminal_ids for o in occurrences])
        occurrence_rows = [
            (*occurrence_values(o), o.id in held, area)
            for o, area in zip(occurrences, areas, strict=True)
        ]
        if occurrences:
            self._widen(OCCURRENCES, max(o.end - o.setup_start for o in occurrences))
        if reservations:
            self._widen(OCCURRENCES, max(r.end - r.start for r in reservations))
        fresh: list[tuple[str, str, list[TimeRange] | None]] = []
        if len(occurrences) >= BULK_THRESHOLD and self._postgres:
            # rows of bookings without any yet are copied, not merged
            known = self._bookings_with_reservations({row[0] for row in rows})
            fresh = [row for row in rows if row[0] not in known]
            rows = [row for row in rows if row[0] in known]
        with self._errors():
            write_tables(
                self._connection,
                [
                    (occurrences_table, (*OCCURRENCE_COLUMNS, "reserved", "area"), occurrence_rows),
                    (reservations_table, RESERVATION_COLUMNS, fresh),
                ],
            )
            write_tables(
                self._connection,
                [(reservations_table, RESERVATION_COLUMNS, rows)],
                merge={reservations_table.name: MERGE_RESERVATIONS[dialect]},
            )
        for occurrence in occurrences:
            self._seen(occurrence)
            self._terminals_read[occurrence.id] = tuple(occurrence.terminal_ids)

    def _bookings_with_reservations(self, booking_ids: set[str]) -> set[str]:
        r = reservations_table
        query = select(r.c.booking_id).where(r.c.booking_id == func.any(bindparam("ids")))
        return set(self._execute(query, {"ids": sorted(booking_ids)}).scalars())

    def update(self, occurrence: Occurrence) -> None:
        self._widen(OCCURRENCES, occurrence.end - occurrence.setup_start)
        self._update_versioned(occurrences_table, occurrence, self.to_row(occurrence))
        terminal_ids = tuple(occurrence.terminal_ids)
        if self._terminals_read.get(occurrence.id) != terminal_ids:
            self._link(occurrence.booking_id, terminal_ids)
            self._terminals_read[occurrence.id] = terminal_ids

    def _link(self, booking_id: str, terminal_ids: Sequence[str]) -> None:
        """Make sure the booking's `reservations` rows name these terminals (a terminal
        put into an occurrence shows the booking in its calendar)."""
        unique = dict.fromkeys(terminal_ids)  # one row per key: a multi-row upsert
        self.reserve_rows([(booking_id, t, [] if self._postgres else None) for t in unique])

    def reserve_rows(self, rows: Sequence[tuple[str, str, list[TimeRange] | None]]) -> None:
        dialect = self._connection.dialect.name
        with self._errors():
            write_tables(
                self._connection,
                [(reservations_table, RESERVATION_COLUMNS, rows)],
                merge={reservations_table.name: MERGE_RESERVATIONS[dialect]},
            )

    def reserve(self, reservations: Sequence[Reservation]) -> None:
        if not reservations:
            return
        self._widen(OCCURRENCES, max(r.end - r.start for r in reservations))
        self.reserve_rows(reservation_rows([], reservations, ranges=self._postgres))
        o = occurrences_table
        ids = sorted({r.occurrence_id for r in reservations})
        self._execute(update(o).where(o.c.id.in_(ids)).values(reserved=True))

    def release(self, occurrence_id: str) -> None:
        self.release_all([occurrence_id])

    def release_all(self, occurrence_ids: Sequence[str]) -> None:
        """The occurrences no longer hold their terminals (their stored times and terminals
        leave the bookings' busy ranges)."""
        ids = sorted(set(occurrence_ids))
        if not ids:
            return
        with self._errors():
            if self._postgres:
                self._execute(UNHOLD, {"ids": ids})
            o = occurrences_table
            self._execute(
                update(o).where(o.c.id.in_(ids), o.c.reserved == true()).values(reserved=False)
            )

    def switch_terminal(self, occurrence_id: str, old: str, new: str) -> bool:
        """Put `new` in place of `old` in the occurrence's terminals; a live occurrence's
        busy range moves along (PostgreSQL's exclusion constraint refuses a terminal taken
        meanwhile). False if `old` is not one of its terminals."""
        o = occurrences_table
        row = self._execute(
            select(o.c.booking_id, o.c.terminal_ids, o.c.reserved, o.c.setup_start, o.c.end)
            .where(o.c.id == occurrence_id)
            .with_for_update()
        ).first()
        if row is None or old not in row.terminal_ids or new in row.terminal_ids:
            return False
        terminal_ids = [new if t == old else t for t in row.terminal_ids]
        if row.reserved:
            self.release_all([occurrence_id])
        self._execute(
            update(o)
            .where(o.c.id == occurrence_id)
            .values(
                terminal_ids=terminal_ids,
                area=areas_of(self._connection, [terminal_ids])[0],
                version=o.c.version + 1,
            )
        )
        self._link(row.booking_id, terminal_ids)
        if row.reserved:
            self.reserve(
                [
                    Reservation(occurrence_id, row.booking_id, t, row.setup_start, row.end)
                    for t in terminal_ids
                ]
            )
        return True

    def delete(self, occurrence_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(occurrence_ids))
        if ids:
            self.release_all(ids)
            self._execute(occurrences_table.delete().where(occurrences_table.c.id.in_(ids)))

    # --- reading occurrences ---------------------------------------------------------------
    def get(self, id: str) -> Occurrence | None:
        rows = self._execute(select(occurrences_table).where(occurrences_table.c.id == id)).all()
        return self._build(rows)[0] if rows else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Occurrence]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        query = _by_ids(self._postgres)
        return {o.id: o for o in self._build(self._execute(query, {"ids": wanted}).all())}

    def briefs(self, ids: Iterable[str]) -> dict[str, OccurrenceBrief]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        rows = self._execute(_briefs_by_ids(self._postgres), {"ids": wanted}).all()
        return {
            row.id: OccurrenceBrief(
                row.id, row.booking_id, row.start, row.end, row.lesson_number, row.teacher,
                OccurrenceState(row.state),
            )
            for row in rows
        }  # fmt: skip

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
            r = reservations_table
            query = query.where(
                o.c.booking_id.in_(select(r.c.booking_id).where(r.c.terminal_id.in_(wanted))),
                _uses_any(self._connection.dialect.name, wanted),
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

    def _in_scope(self, org_path: str) -> list[str]:
        """The bookings owned by, hosted by or joined by an organisation of the subtree
        (one query): the occurrences are then found through (booking_id, start), not by
        scanning the region's calendar for the range."""
        b, p = bookings, booking_participants
        in_scope = select(organisations.c.id).where(in_subtree(organisations.c.path, org_path))
        owned = select(b.c.id).where(
            or_(b.c.owner_org_id.in_(in_scope), b.c.host_school_id.in_(in_scope))
        )
        joined = select(p.c.booking_id).where(p.c.school_id.in_(in_scope))
        return sorted(set(self._execute(owned.union(joined)).scalars()))

    def _visible(
        self,
        query: Select[Any],
        start: datetime,
        end: datetime,
        booking_ids: list[str] | None,
        include_cancelled: bool,
    ) -> Select[Any]:
        o = occurrences_table
        query = query.where(o.c.start < end, o.c.end > start)
        lower = self._not_before(OCCURRENCES, start)
        if lower is not None:
            query = query.where(o.c.start >= lower)
        if not include_cancelled:
            query = query.where(o.c.cancelled.is_(False))
        if booking_ids is not None:
            query = query.where(o.c.booking_id.in_(booking_ids))
        return query

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
        o = occurrences_table
        booking_ids = None if org_path is None else self._in_scope(org_path)
        if booking_ids == []:
            return []
        query = self._visible(select(o), start, end, booking_ids, include_cancelled)
        query = query.order_by(o.c.start, o.c.id).offset(offset).limit(limit)
        return self._build(self._execute(query).all())

    def count_visible(
        self,
        start: datetime,
        end: datetime,
        *,
        org_path: str | None = None,
        include_cancelled: bool = True,
    ) -> int:
        booking_ids = None if org_path is None else self._in_scope(org_path)
        if booking_ids == []:
            return 0
        counted = select(func.count()).select_from(occurrences_table)
        query = self._visible(counted, start, end, booking_ids, include_cancelled)
        return int(self._execute(query).scalar_one())

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
    def _held_by(
        self, terminal_ids: Iterable[str], start: datetime, end: datetime
    ) -> tuple[list[str], dict[str, Any]]:
        """`held_by`'s terminals and parameters for [start, end)."""
        wanted = list(dict.fromkeys(terminal_ids))
        span = self._span(OCCURRENCES)
        lower, upper = (BEGINNING, END_OF_TIME) if span is None else (start - span, end + span)
        return wanted, {"terminals": wanted, "start": start, "end": end, "lower": lower,
                        "upper": upper}  # fmt: skip

    def _reservations(
        self, terminal_ids: Iterable[str], start: datetime, end: datetime
    ) -> list[Reservation]:
        wanted, parameters = self._held_by(terminal_ids, start, end)
        if not wanted:
            return []
        query = held_by(self._postgres)
        return _reservations_of(self._execute(query, parameters).all(), set(wanted))

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

    def held_during(
        self,
        terminal_ids: Iterable[str],
        ranges: Sequence[TimeRange],
        within: str | None = None,
    ) -> Held:
        """PostgreSQL: the reservations' multiranges of these terminals against every
        range at once (the exclusion constraint's GiST index finds the rows; no occurrence
        is read), for many terminals the windows of the occurrences' time index — only
        the entries of the area of `within` (the terminals' subtree) when it lies in one;
        SQLite: from the reservations overlapping the ranges."""
        wanted = list(dict.fromkeys(terminal_ids))
        if not wanted or not ranges:
            return {}
        if self._connection.dialect.name != "postgresql":
            return held_ranges(self.reservations_overlapping(wanted, ranges), ranges)
        span = self._span(OCCURRENCES)
        if len(wanted) >= MANY_TERMINALS and span is not None:
            return self._held_in_windows(set(wanted), ranges, span, within)
        parameters = {
            "terminals": wanted,
            "starts": [start for start, _ in ranges],
            "ends": [end for _, end in ranges],
            "every": busy_literal(list(ranges)),
        }
        held: Held = {}
        for row in self._execute(HELD_DURING, parameters):
            held.setdefault(row.terminal_id, set()).add(int(row.i) - 1)
        return held

    def _held_in_windows(
        self, wanted: set[str], ranges: Sequence[TimeRange], span: timedelta, within: str | None
    ) -> Held:
        starts, ends = [start for start, _ in ranges], [end for _, end in ranges]
        areas = None if within is None else areas_within(within)
        statement: tuple[str, list[Any]] = (HELD_IN_WINDOWS, [starts, ends, span, span])
        if areas is not None:
            statement = (HELD_IN_AREAS, [starts, ends, areas, span, span])
        *_, rows = read_together(self._connection, [*WINDOW_SETTINGS, statement])
        held: Held = {}
        for terminals, hit in rows:
            hits = [i - 1 for i in hit]
            for terminal_id in json.loads(terminals):
                if terminal_id in wanted:
                    held.setdefault(terminal_id, set()).update(hits)
        return held

    def busy_terminal_ids(self, start: datetime, end: datetime) -> set[str]:
        """Terminals held by a live occurrence over part of [start, end): the occurrences
        overlapping it, found on the `start` index within the longest span; their
        terminal lists are unpacked by the database (no JSON parsing here)."""
        span = self._span(OCCURRENCES)
        lower, upper = (BEGINNING, END_OF_TIME) if span is None else (start - span, end + span)
        statement = BUSY_TERMINALS[self._connection.dialect.name]
        parameters = {"start": start, "end": end, "lower": lower, "upper": upper}
        return set(self._execute(statement, parameters).scalars())

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
        ):  # the lock, then the rows (read once it is granted): one round trip
            _, rows = read_together(
                connection, [(LOCKED_SQL, [LEDGER_LOCK_KEY]), (USAGE_SQL, [wanted])]
            )
            return _usage_of(rows)
        return {
            (row.pool, row.bucket): Capacity(row.rooms, row.participants, row.ports)
            for row in self._execute(USAGE_AT[connection.dialect.name], {"buckets": wanted})
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
        rows = [
            (bucket, pool, delta.rooms, delta.participants, delta.ports)
            for (pool, bucket), delta in changes
        ]
        with self._errors():
            write_tables(self._connection, [(u, USAGE_COLUMNS, rows)], merge={u.name: ADD_USAGE})
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
    def _class_parameters(
        self, classes: Iterable[tuple[str, str]], ranges: Sequence[TimeRange]
    ) -> dict[str, Any]:
        start, end = envelope(ranges)
        lower = self._not_before(OCCURRENCES, start)
        return {"pairs": list(dict.fromkeys(classes)), "start": start, "end": end,
                "lower": BEGINNING if lower is None else lower}  # fmt: skip

    def class_sessions(
        self, classes: Iterable[tuple[str, str]], ranges: Sequence[TimeRange]
    ) -> Sequence[ClassSession]:
        pairs = list(dict.fromkeys(classes))
        if not pairs or not ranges:
            return []
        rows = self._execute(CLASS_SESSIONS, self._class_parameters(pairs, ranges)).all()
        return _sessions_of(rows, ranges)

    def held_statement(
        self, terminal_ids: Sequence[str], ranges: Sequence[TimeRange]
    ) -> tuple[Statement, list[str]]:
        """The terminals' reservations overlapping `ranges` (HELD_BY_SQL, filtered by the
        ranges in SQL), and the terminals it asks for."""
        wanted, held = self._held_by(terminal_ids, *envelope(ranges))
        parameters = [wanted, held["end"], held["start"], held["lower"], held["upper"],
                      *_in_ranges(ranges)]  # fmt: skip
        return (HELD_BY_SQL, parameters), wanted

    def sessions_statement(
        self, classes: Sequence[tuple[str, str]], class_ranges: Sequence[TimeRange]
    ) -> tuple[Statement, list[tuple[str, str]]]:
        """The classes' sessions overlapping `class_ranges`, and the (school, class) pairs."""
        known = self._class_parameters(classes, class_ranges)
        pairs: list[tuple[str, str]] = known["pairs"]
        flat = [value for pair in pairs for value in pair]
        parameters = [*flat, known["end"], known["start"], known["lower"],
                      *_in_ranges(class_ranges)]  # fmt: skip
        return (class_sessions_sql(len(pairs)), parameters), pairs

    def rule_reads(
        self,
        terminal_ids: Sequence[str],
        ranges: Sequence[TimeRange],
        classes: Sequence[tuple[str, str]],
        class_ranges: Sequence[TimeRange],
        buckets: Sequence[datetime],
    ) -> RuleReads:
        """PostgreSQL, a writing unit of work: the terminals' reservations, the classes'
        sessions, the ledger's lock and its rows in one round trip (`read_together`; the
        lock is still taken before the ledger is read) — with the transaction's BEGIN and
        the change counters when the plan assumed them (`reference_cache.assume_counters`:
        ReferenceChanged if a copy it used has changed). Elsewhere one by one."""
        connection = self._connection
        if connection.dialect.name != "postgresql" or connection.get_execution_options().get(
            READ_ONLY, False
        ):
            return rule_reads_one_by_one(self, terminal_ids, ranges, classes, class_ranges,
                                         buckets)  # fmt: skip
        checked = checked_with(connection)  # the counters, if the plan assumed them
        statements: list[Statement] = [*checked, *GENERIC_PLANS]
        wanted: list[str] = []
        if terminal_ids and ranges:
            held, wanted = self.held_statement(terminal_ids, ranges)
            statements.append(held)
        pairs: list[tuple[str, str]] = []
        if classes and class_ranges:
            sessions_read, pairs = self.sessions_statement(classes, class_ranges)
            statements.append(sessions_read)
        statements += DEFAULT_PLANS  # (for the rest of the transaction)
        every = sorted(set(buckets))
        if every:
            statements += [(LOCKED_SQL, [LEDGER_LOCK_KEY]), (USAGE_SQL, [every])]
        results = iter(read_together(connection, statements))
        if checked:  # ReferenceChanged if a copy the plan used has changed
            confirm(connection, next(results))
        next(results)  # the generic plans set
        reservations: list[Reservation] = []
        if wanted:  # (only rows overlapping one of the ranges: `IN_RANGES`)
            reservations = _reservations_of(next(results), set(wanted), driver=True)
        sessions = _sessions_of(next(results), None, driver=True) if pairs else []
        next(results)  # the default plans set back
        usage: dict[UsageKey, Capacity] = {}
        if every:
            next(results)  # the lock
            usage = _usage_of(next(results))
        return RuleReads(reservations=reservations, sessions=sessions, usage=usage)

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
        """One round trip on PostgreSQL (`refusal_reads.py`, which builds on this module)."""
        from adapters.storage.refusal_reads import refusal_reads

        return refusal_reads(
            self, booking_ids, terminal_ids, ranges, classes, class_ranges, holds_due_at, ending
        )

    def server_load(self, ranges: Sequence[TimeRange]) -> Sequence[ServerLoad]:
        if not ranges:
            return []
        o = occurrences_table
        span = self._span(OCCURRENCES)
        conditions = []
        for start, end in _merged(ranges):
            condition = and_(o.c.setup_start < end, o.c.end > start)
            if span is not None:  # setup_start ≤ start < setup_start + span
                condition = and_(condition, o.c.start >= start - span, o.c.start < end + span)
            conditions.append(condition)
        terminal_count = func.json_array_length(o.c.terminal_ids)
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
            .where(LIVE, or_(*conditions))
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


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _reservations_of(
    rows: Iterable[Any], chosen: set[str], *, driver: bool = False
) -> list[Reservation]:
    """Reservations of the `chosen` terminals from `held_by`'s rows (`driver`: the driver's
    tuples, times not yet in UTC)."""
    if driver:
        rows = [(i, b, _utc(s), _utc(e), t) for i, b, s, e, t in rows]
    return [
        Reservation(
            occurrence_id=occurrence_id,
            booking_id=booking_id,
            terminal_id=terminal_id,
            start=setup_start,
            end=end,
        )
        for occurrence_id, booking_id, setup_start, end, terminal_ids in rows
        for terminal_id in terminal_ids
        if terminal_id in chosen
    ]


def _in_ranges(ranges: Sequence[TimeRange]) -> list[str | None]:
    """`IN_RANGES`' parameter."""
    return [busy_literal(ranges)]


def _sessions_of(
    rows: Iterable[Any], ranges: Sequence[TimeRange] | None, *, driver: bool = False
) -> list[ClassSession]:
    """CLASS_SESSIONS' rows overlapping one of `ranges` (None: the rows are known to)."""
    if driver:
        rows = [(i, b, school, name, _utc(s), _utc(e)) for i, b, school, name, s, e in rows]
    wanted = None if ranges is None else RangeSet(ranges)
    return [
        ClassSession(
            occurrence_id=occurrence_id,
            booking_id=booking_id,
            school_id=school_id,
            class_name=class_name,
            start=start,
            end=end,
        )
        for occurrence_id, booking_id, school_id, class_name, start, end in rows
        if wanted is None or wanted.overlaps(start, end)
    ]


def _usage_of(rows: Iterable[Any]) -> dict[UsageKey, Capacity]:
    """The ledger's rows (USAGE_SQL's driver tuples) by (pool, bucket)."""
    return {
        (pool, _utc(bucket)): Capacity(rooms, participants, ports)
        for bucket, pool, rooms, participants, ports in rows
    }


def _id(occurrence: Occurrence) -> str:
    return occurrence.id


def _uses_any(dialect: str, terminal_ids: Sequence[str]) -> TextClause:
    """The occurrence (row of `occurrences`) has one of these terminals."""
    elements = TERMINALS_OF[dialect].format("occurrences")
    return text(f"EXISTS (SELECT 1 FROM {elements} WHERE t.value IN :uses_any)").bindparams(
        bindparam("uses_any", value=list(terminal_ids), expanding=True)
    )


def _merged(ranges: Sequence[TimeRange]) -> list[TimeRange]:
    """Overlapping or touching ranges joined, so the OR in a query has fewer branches."""
    merged: list[list[datetime]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]
