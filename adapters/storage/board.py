"""Reads of the web interface's live board: a cheap change mark (has anything the board
shows been stored since?), the day's counts and pages of occurrence ids by the board's
filters, and the backup switches of a batch of occurrences.

The mark is the newest id of the three append-only tables every change of the board goes
through: lifecycle transitions and operators' notes (`occurrence_transitions`), the event
outbox (`automation_events`: state changes, switches, booking changes told to listeners)
and device health changes (`device_transitions`: what flags a lesson at risk). Three
index-only reads of a primary key's maximum.

A region's day is thousands of lessons (issue 16: 10,000 terminals, ~6,000 lessons a
study day): the board counts them in the database and reads only the ids it shows, each
query selecting the few columns it needs; the rows are then built from those ids."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Engine,
    Select,
    and_,
    case,
    func,
    or_,
    select,
)

from adapters.storage.automation.tables import automation_events, occurrence_transitions
from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.errors import domain_errors
from adapters.storage.health.tables import device_transitions
from adapters.storage.organisations import in_subtree
from adapters.storage.tables import (
    booking_participants,
    bookings,
    cameras,
    occurrences,
    organisations,
)

Mark = tuple[int, int, int]

LONGEST_LESSON = timedelta(days=1)
"""A lesson on the board starts at most this long before the day it is shown in."""

CANCELLED = "cancelled"


@dataclass(frozen=True)
class DayCount:
    area: str  # the id of the host school's ancestor at the depth asked for ("": none)
    state: str  # the occurrence's state, or "cancelled"
    at_risk: bool
    count: int


@dataclass(frozen=True)
class DayQuery:
    """Which of a day's occurrences: those in [start, end) the viewer's subtree may see
    (`scope`, None for the region), narrowed by state, by the host school's subtree
    (`area`), by a school taking part, or to those needing attention at `attention_at`
    (failed, degraded, at risk, or late to start)."""

    start: datetime
    end: datetime
    scope: str | None = None
    states: tuple[str, ...] = ()
    area: str | None = None
    school_id: str | None = None
    attention_at: datetime | None = None
    waiting: tuple[str, ...] = ()  # states still before the start: late once past it
    troubled: tuple[str, ...] = ()  # states that need an operator's attention


class SqlBoard(BatchStore):
    """Each read in a short transaction of its own, or every read on the caller's
    connection and transaction (`within`: a page reads its counts, its pages and its rows
    without a BEGIN and a COMMIT each)."""

    def __init__(self, engine: Engine, within: Connection | None = None) -> None:
        super().__init__(engine)
        self._within = within

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        if self._within is None:
            with super()._tx() as connection:
                yield connection
        else:
            with domain_errors():
                yield self._within

    def change_mark(self) -> Mark:
        with self._tx() as c:
            marks = [
                c.execute(select(func.max(table.c.id))).scalar() or 0
                for table in (occurrence_transitions, automation_events, device_transitions)
            ]
        return (marks[0], marks[1], marks[2])

    def day_counts(
        self, start: datetime, end: datetime, scope: str | None, depth: int
    ) -> list[DayCount]:
        """The day's occurrences counted by state, at-risk flag and the host school's
        ancestor at `depth` of its path (1: the region, 2: its municipality, …): a few
        hundred groups for a region's day, not a row per school."""
        o, b, org = occurrences.c, bookings.c, organisations.c
        # PostgreSQL cuts the path in the query; SQLite (small deployments) groups by path
        area = func.split_part(org.path, "/", depth) if self.postgres else org.path
        risky = o.at_risk != ""
        query = (
            select(area, o.state, o.cancelled, risky, func.count())
            .select_from(
                occurrences.join(bookings, b.id == o.booking_id).join(
                    organisations, org.id == b.host_school_id
                )
            )
            .group_by(area, o.state, o.cancelled, risky)
        )
        query = self._day(query, DayQuery(start, end, scope))
        found: dict[tuple[str, str, bool], int] = defaultdict(int)
        with self._tx() as c:
            for key, state, cancelled, risk, count in c.execute(query):
                if not self.postgres:
                    parts = key.split("/")
                    key = parts[depth - 1] if len(parts) >= depth else ""
                found[(key, CANCELLED if cancelled else state, bool(risk))] += int(count)
        return [DayCount(*key, count) for key, count in found.items()]

    def day_ids(
        self, day: DayQuery, *, offset: int, limit: int, total: int | None = None
    ) -> tuple[list[str], int]:
        """One page of the chosen occurrences' ids (by start, then id; needing attention:
        those not over yet first) and how many there are in all (`total` when the caller
        knows it already — the day's counts for a page without filters: not counted
        again)."""
        o = occurrences.c
        order: list[ColumnElement[Any]] = [o.start, o.id]
        counted = self._day(select(func.count()).select_from(occurrences), day)
        if day.attention_at is not None:  # what still can be helped first, then what is over
            order.insert(0, case((o.end <= day.attention_at, 1), else_=0))
            # a few of the day's lessons, all read and sorted anyway: counted in that scan
            ids = self._day(select(o.id, func.count().over()), day)
            with self._tx() as c:
                rows = c.execute(ids.order_by(*order).offset(offset).limit(limit)).all()
                if rows or offset == 0:
                    return [row[0] for row in rows], int(rows[0][1]) if rows else 0
                return [], int(c.execute(counted).scalar_one())
        ids = self._day(select(o.id), day).order_by(*order).offset(offset).limit(limit)
        with self._tx() as c:
            found = list(c.execute(ids).scalars())
            if total is None and offset == 0 and len(found) < limit:
                total = len(found)
            if total is None:
                total = int(c.execute(counted).scalar_one())
        return found, total

    def _day(self, query: Select[Any], day: DayQuery) -> Select[Any]:
        o = occurrences.c
        query = query.where(
            o.start >= day.start - LONGEST_LESSON, o.start < day.end, o.end > day.start
        )
        if day.scope is not None:
            query = query.where(o.booking_id.in_(_bookings_of(_orgs_in(day.scope))))
        if day.school_id is not None:
            query = query.where(o.booking_id.in_(_bookings_of([day.school_id])))
        if day.area is not None:
            hosted_there = select(bookings.c.id).where(
                bookings.c.host_school_id.in_(_orgs_in(day.area))
            )
            query = query.where(o.booking_id.in_(hosted_there))
        if day.states:
            chosen = [s for s in day.states if s != CANCELLED]
            either = [and_(o.cancelled.is_(False), o.state.in_(chosen))] if chosen else []
            if CANCELLED in day.states:
                either.append(o.cancelled.is_(True))
            query = query.where(or_(*either))
        if day.attention_at is not None:
            query = query.where(
                o.cancelled.is_(False),
                or_(
                    o.state.in_(day.troubled),
                    o.at_risk != "",
                    and_(o.state.in_(day.waiting), o.start < day.attention_at),
                ),
            )
        return query

    def cameras(self, terminal_ids: Iterable[str]) -> dict[str, tuple[str, list[str]]]:
        """The active camera beside each terminal (the first by id): (its id, its presets)
        — what an operator's preset buttons need, in one query."""
        c_ = cameras.c
        found: dict[str, tuple[str, list[str]]] = {}
        ids = sorted(set(terminal_ids))
        with self._tx() as c:
            for chunk in chunks(ids, 1000):
                query = (
                    select(c_.terminal_id, c_.id, c_.presets)
                    .where(c_.terminal_id.in_(chunk), c_.active.is_(True))
                    .order_by(c_.id.desc())
                )
                for terminal_id, camera_id, presets in c.execute(query):
                    found[terminal_id] = (camera_id, list(presets or []))
        return found

    def switches(self, occurrence_ids: Iterable[str]) -> dict[str, list[str]]:
        """The pre-flight's switches to backups, oldest first, per occurrence."""
        t = occurrence_transitions
        found: dict[str, list[str]] = defaultdict(list)
        ids = sorted(set(occurrence_ids))
        with self._tx() as c:
            for chunk in chunks(ids, 1000):
                rows = c.execute(
                    select(t.c.occurrence_id, t.c.reason)
                    .where(t.c.occurrence_id.in_(chunk), t.c.reason.like("switched %"))
                    .order_by(t.c.at, t.c.id)
                )
                for occurrence_id, reason in rows:
                    found[occurrence_id].append(reason)
        return dict(found)


def _orgs_in(path: str) -> Select[Any]:
    return select(organisations.c.id).where(in_subtree(organisations.c.path, path))


def _bookings_of(schools: Select[Any] | Sequence[str]) -> CompoundSelect[Any]:
    """Bookings owned by, hosted by or joined by one of `schools` (as the API's scoping:
    `SqlOccurrences._in_scope`)."""
    b, p = bookings.c, booking_participants.c
    owned = select(b.id).where(or_(b.owner_org_id.in_(schools), b.host_school_id.in_(schools)))
    return owned.union(select(p.booking_id).where(p.school_id.in_(schools)))
