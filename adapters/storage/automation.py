"""What the automation keeps in the database, and the batch queries it runs.

Tables (on the shared `metadata`, created by the Alembic revision `0100_automation`):

- `occurrence_transitions`: every change of an occurrence's lifecycle state (and notes
  such as a switch to a backup terminal), with time, cause, reason and details.
- `automation_plan`: one row per occurrence — the next step (pre-flight, start, end), when
  it is due, and a lease. Claiming a row is a compare-and-set (`pending` and due, or
  `running` with an expired lease → `running` with our lease), so one occurrence is never
  worked on by two workers at once; a worker killed mid-step loses its lease and the step
  is claimed again, idempotently.
- `automation_rooms`: the room registry, one room per occurrence (`occurrence_id` is the
  key): a retried start reuses the registered room instead of creating a second one.
- `automation_events`: the outbox of events (state changes, at-risk flags, switches) for
  the signed webhook; a row is written in the same transaction as the change it reports.

Every method is one short transaction over whole batches: a bell storm of a thousand
starts costs a handful of statements, not thousands.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)

from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.equipment import camera_from_row, terminal_from_row
from adapters.storage.errors import domain_errors
from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.tables import (
    ID,
    booking_participants,
    bookings,
    cameras,
    metadata,
    occurrences,
    organisations,
    reservations,
    terminals,
)
from adapters.storage.types import UtcDateTime
from booking.bookings import BookingStatus, OccurrenceState, Participant, SessionKind
from booking.errors import Conflict
from booking.lifecycle import IN_CALL, WAITING, Step
from booking.resources import Camera, PlatformKind, Terminal

AutoId = BigInteger().with_variant(Integer, "sqlite")

occurrence_transitions = Table(
    "occurrence_transitions",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column(
        "occurrence_id",
        ID,
        ForeignKey("occurrences.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("cause", String(32), nullable=False),  # preflight, start, end, reconciler, operator…
    Column("reason", Text, nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_occurrence_transitions_occurrence_id_at", "occurrence_id", "at"),
)

automation_plan = Table(
    "automation_plan",
    metadata,
    Column(
        "occurrence_id",
        ID,
        ForeignKey("occurrences.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("step", String(16), nullable=False),  # preflight | start | end | none
    Column("due_at", UtcDateTime, nullable=True),
    Column("status", String(16), nullable=False),  # pending | running | idle
    Column("attempts", Integer, nullable=False, default=0),  # of the current step
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("occurrence_version", Integer, nullable=False, default=0),
    Column("booking_version", Integer, nullable=False, default=0),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_automation_plan_status_due_at", "status", "due_at"),
)

automation_rooms = Table(
    "automation_rooms",
    metadata,
    Column(
        "occurrence_id",
        ID,
        ForeignKey("occurrences.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("server_id", ID, nullable=False),
    Column("room_id", String(255), nullable=False),
    Column("platform", String(16), nullable=False, default=""),
    Column("sip_address", String(255), nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("generation", Integer, nullable=False, default=1),  # re-created elsewhere: +1
)

automation_events = Table(
    "automation_events",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("occurrence_id", ID, nullable=True, index=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Index("ix_automation_events_delivered_at_next_attempt_at", "delivered_at", "next_attempt_at"),
)


PENDING = "pending"
RUNNING = "running"
IDLE = "idle"


# --- records ----------------------------------------------------------------------------------
@dataclass
class SessionRecord:
    """Everything a step needs about one occurrence, loaded for a batch in a few queries."""

    occurrence_id: str
    booking_id: str
    title: str
    kind: SessionKind
    booking_status: BookingStatus
    platform: PlatformKind | None
    expected_participants: int
    teacher: str
    host_school_id: str
    start: datetime
    end: datetime
    setup_start: datetime
    broadcast_offset_minutes: int | None
    broadcast_minutes: int | None
    state: OccurrenceState
    state_reason: str
    at_risk: str
    cancelled: bool
    occurrence_version: int
    booking_version: int
    terminal_ids: list[str] = field(default_factory=list)  # this date's terminals, in order
    participants: list[Participant] = field(default_factory=list)
    terminals: dict[str, Terminal] = field(default_factory=dict)
    cameras: dict[str, Camera] = field(default_factory=dict)  # by terminal id
    site_names: dict[str, str] = field(default_factory=dict)  # school id → name
    room: RoomRecord | None = None

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled or self.booking_status is BookingStatus.CANCELLED

    def preset_for(self, terminal_id: str) -> str | None:
        """The booked camera preset of the school this terminal stands in."""
        terminal = self.terminals.get(terminal_id)
        for participant in self.participants:
            if participant.terminal_id == terminal_id:
                return participant.camera_preset
        if terminal is not None:
            for participant in self.participants:
                if participant.school_id == terminal.site_id:
                    return participant.camera_preset
        return None


@dataclass
class RoomRecord:
    occurrence_id: str
    server_id: str
    room_id: str
    platform: str
    sip_address: str
    details: dict[str, Any]
    created_at: datetime
    ended_at: datetime | None
    generation: int


@dataclass(frozen=True)
class PlanRow:
    occurrence_id: str
    step: Step
    due_at: datetime | None
    status: str
    attempts: int
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str
    occurrence_version: int
    booking_version: int
    updated_at: datetime


@dataclass(frozen=True)
class Claim:
    occurrence_id: str
    step: Step
    due_at: datetime
    attempts: int  # including this one


@dataclass(frozen=True)
class PlanWrite:
    """The next step of one occurrence, as the planner decided it."""

    occurrence_id: str
    step: Step
    due_at: datetime | None
    occurrence_version: int
    booking_version: int
    attempts: int = 0
    last_error: str = ""


@dataclass(frozen=True)
class TransitionWrite:
    occurrence_id: str
    to_state: OccurrenceState
    allowed_from: frozenset[OccurrenceState]
    cause: str
    reason: str = ""
    at: datetime | None = None  # default: the write's `now`
    details: Mapping[str, Any] = field(default_factory=dict)
    at_risk: str | None = None  # set (or clear with "") the at-risk flag alongside


@dataclass(frozen=True)
class Applied:
    """A transition that was written: the state it left, and the event it produced."""

    occurrence_id: str
    booking_id: str
    from_state: OccurrenceState
    to_state: OccurrenceState
    at: datetime
    cause: str
    reason: str
    details: Mapping[str, Any]


@dataclass(frozen=True)
class TransitionRecord:
    occurrence_id: str
    at: datetime
    from_state: str
    to_state: str
    cause: str
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True)
class EventRecord:
    id: int
    event_id: str
    type: str
    occurrence_id: str | None
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


@dataclass(frozen=True)
class NewEvent:
    type: str
    occurrence_id: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class PlanCandidate:
    """An occurrence whose plan is missing or older than the occurrence or its booking."""

    occurrence_id: str
    occurrence_version: int
    booking_version: int
    has_plan: bool


# --- the store --------------------------------------------------------------------------------
class SqlAutomationStore(BatchStore):
    """Batch reads and writes of the automation, each in its own short transaction."""

    # --- sessions ------------------------------------------------------------------------------
    def sessions(
        self, occurrence_ids: Iterable[str], *, full: bool = True
    ) -> dict[str, SessionRecord]:
        """The sessions of these occurrences; without `full`, only the occurrence, its
        booking and its room (what planning needs): two queries instead of seven."""
        ids = sorted(set(occurrence_ids))
        if not ids:
            return {}
        with self._tx() as c:
            found: dict[str, SessionRecord] = {}
            for chunk in chunks(ids, 1000):
                found.update(self._sessions(c, chunk, full))
            return found

    def _sessions(self, c: Connection, ids: Sequence[str], full: bool) -> dict[str, SessionRecord]:
        o, b = occurrences, bookings
        rows = c.execute(
            select(
                o.c.id,
                o.c.booking_id,
                o.c.start,
                o.c.end,
                o.c.setup_start,
                o.c.state,
                o.c.state_reason,
                o.c.at_risk,
                o.c.cancelled,
                o.c.version,
                o.c.terminal_ids,
                b.c.title,
                b.c.kind,
                b.c.status,
                b.c.platform,
                b.c.expected_participants,
                b.c.teacher,
                b.c.host_school_id,
                b.c.broadcast_offset_minutes,
                b.c.broadcast_minutes,
                b.c.version.label("booking_version"),
                o.c.teacher.label("occurrence_teacher"),
            )
            .join(b, b.c.id == o.c.booking_id)
            .where(o.c.id.in_(ids))
        ).all()
        found: dict[str, SessionRecord] = {}
        for r in rows:
            found[r.id] = SessionRecord(
                occurrence_id=r.id,
                booking_id=r.booking_id,
                title=r.title,
                kind=SessionKind(r.kind),
                booking_status=BookingStatus(r.status),
                platform=PlatformKind(r.platform) if r.platform else None,
                expected_participants=r.expected_participants,
                teacher=r.occurrence_teacher or r.teacher,
                host_school_id=r.host_school_id,
                start=r.start,
                end=r.end,
                setup_start=r.setup_start,
                broadcast_offset_minutes=r.broadcast_offset_minutes,
                broadcast_minutes=r.broadcast_minutes,
                state=OccurrenceState(r.state),
                state_reason=r.state_reason,
                at_risk=r.at_risk,
                cancelled=r.cancelled,
                occurrence_version=r.version,
                booking_version=r.booking_version,
            )
            if full:
                found[r.id].terminal_ids.extend(r.terminal_ids)
        if not found:
            return found
        if not full:
            rooms = self._rooms(c, list(found))
            for session in found.values():
                session.room = rooms.get(session.occurrence_id)
            return found
        booking_ids = {s.booking_id for s in found.values()}
        participants: dict[str, list[Participant]] = defaultdict(list)
        bp = booking_participants
        for row in c.execute(
            select(bp)
            .where(bp.c.booking_id.in_(booking_ids))
            .order_by(bp.c.booking_id, bp.c.position)
        ):
            participants[row.booking_id].append(
                Participant(
                    school_id=row.school_id,
                    terminal_id=row.terminal_id,
                    camera_preset=row.camera_preset,
                    class_name=row.class_name,
                )
            )
        terminal_ids = {t for s in found.values() for t in s.terminal_ids}
        terminal_map = self._terminals(c, terminal_ids)
        camera_map = self._cameras(c, terminal_ids)
        site_ids = {t.site_id for t in terminal_map.values()} | {
            p.school_id for ps in participants.values() for p in ps
        }
        names = (
            dict(
                c.execute(
                    select(organisations.c.id, organisations.c.name).where(
                        organisations.c.id.in_(site_ids)
                    )
                ).all()
            )
            if site_ids
            else {}
        )
        rooms = self._rooms(c, list(found))
        for session in found.values():
            session.participants = participants.get(session.booking_id, [])
            session.terminals = {
                t: terminal_map[t] for t in session.terminal_ids if t in terminal_map
            }
            session.cameras = {t: camera_map[t] for t in session.terminal_ids if t in camera_map}
            session.site_names = {k: v for k, v in names.items()}
            session.room = rooms.get(session.occurrence_id)
        return found

    @staticmethod
    def _terminals(c: Connection, ids: Iterable[str]) -> dict[str, Terminal]:
        ids = list(ids)
        if not ids:
            return {}
        t = terminals
        return {
            row.id: terminal_from_row(row)
            for row in c.execute(select(t).where(t.c.id.in_(ids)))
        }

    @staticmethod
    def _cameras(c: Connection, terminal_ids: Iterable[str]) -> dict[str, Camera]:
        ids = list(terminal_ids)
        if not ids:
            return {}
        k = cameras
        found: dict[str, Camera] = {}
        for row in c.execute(select(k).where(k.c.terminal_id.in_(ids), k.c.active.is_(True))):
            found.setdefault(row.terminal_id, camera_from_row(row))
        return found

    # --- planning --------------------------------------------------------------------------------
    def plan_candidates(
        self, *, ends_after: datetime, starts_before: datetime, limit: int = 5000
    ) -> list[PlanCandidate]:
        """Occurrences in the window (or still active) whose plan row is missing or stale."""
        o, b, p = occurrences, bookings, automation_plan
        kinds = [str(k) for k in SessionKind if k.needs_equipment]
        live = [str(s) for s in OccurrenceState if not s.is_final and s not in WAITING]
        query = (
            select(o.c.id, o.c.version, b.c.version.label("bv"), p.c.occurrence_id.label("planned"))
            .join(b, b.c.id == o.c.booking_id)
            .outerjoin(p, p.c.occurrence_id == o.c.id)
            .where(
                b.c.kind.in_(kinds),
                or_(
                    and_(o.c.end > ends_after, o.c.start < starts_before),
                    o.c.state.in_(live),
                ),
                or_(
                    p.c.occurrence_id.is_(None),
                    p.c.occurrence_version != o.c.version,
                    p.c.booking_version != b.c.version,
                ),
            )
            .limit(limit)
        )
        with self._tx() as c:
            return [
                PlanCandidate(r.id, r.version, r.bv, r.planned is not None)
                for r in c.execute(query)
            ]

    def occurrences_of_bookings(
        self,
        booking_ids: Iterable[str],
        *,
        ends_after: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> list[str]:
        ids = list(booking_ids)
        if not ids:
            return []
        o = occurrences
        query = select(o.c.id).where(o.c.booking_id.in_(ids))
        if ends_after is not None:
            query = query.where(o.c.end > ends_after)
        if starts_before is not None:
            query = query.where(o.c.start < starts_before)
        with self._tx() as c:
            return list(c.execute(query).scalars())

    def plans(self, occurrence_ids: Iterable[str]) -> dict[str, PlanRow]:
        ids = list(occurrence_ids)
        if not ids:
            return {}
        with self._tx() as c:
            return {
                r.occurrence_id: _plan_row(r)
                for r in c.execute(
                    select(automation_plan).where(automation_plan.c.occurrence_id.in_(ids))
                )
            }

    def write_plans(
        self, writes: Sequence[PlanWrite], now: datetime, *, owner: str | None = None
    ) -> set[str]:
        """Upsert plan rows. A row leased by another worker (lease still valid) is left
        alone: that worker replans it when it finishes. With `owner`, rows leased by
        `owner` are released. Returns the ids written."""
        if not writes:
            return set()
        rows = [
            {
                "occurrence_id": w.occurrence_id,
                "step": str(w.step),
                "due_at": w.due_at,
                "status": PENDING if w.step is not Step.NONE else IDLE,
                "attempts": w.attempts,
                "lease_owner": None,
                "lease_until": None,
                "last_error": w.last_error,
                "occurrence_version": w.occurrence_version,
                "booking_version": w.booking_version,
                "updated_at": now,
            }
            for w in writes
        ]
        p = automation_plan
        insert = self._insert(p)
        excluded = insert.excluded
        free = or_(
            p.c.status != RUNNING,
            p.c.lease_until < now,
            p.c.lease_owner == (owner or ""),
        )
        statement = insert.on_conflict_do_update(
            index_elements=[p.c.occurrence_id],
            set_={
                "step": excluded.step,
                "due_at": excluded.due_at,
                "status": excluded.status,
                "attempts": excluded.attempts,
                "lease_owner": None,
                "lease_until": None,
                "last_error": excluded.last_error,
                "occurrence_version": excluded.occurrence_version,
                "booking_version": excluded.booking_version,
                "updated_at": excluded.updated_at,
            },
            where=free,
        ).returning(p.c.occurrence_id)
        written: set[str] = set()
        with self._tx() as c:
            for chunk in chunks(rows, 500):
                written.update(c.execute(statement, list(chunk)).scalars())
        return written

    def next_due(self) -> datetime | None:
        p = automation_plan
        with self._tx() as c:
            pending = c.execute(select(func.min(p.c.due_at)).where(p.c.status == PENDING)).scalar()
            expiring = c.execute(
                select(func.min(p.c.lease_until)).where(p.c.status == RUNNING)
            ).scalar()
        times = [t for t in (pending, expiring) if t is not None]
        return min(times) if times else None

    def due_instants(self, until: datetime) -> list[datetime]:
        """Distinct instants (whole seconds) at which pending steps fall due before `until`."""
        p = automation_plan
        with self._tx() as c:
            found = c.execute(
                select(p.c.due_at).where(p.c.status == PENDING, p.c.due_at < until).distinct()
            ).scalars()
            leases = c.execute(
                select(p.c.lease_until)
                .where(p.c.status == RUNNING, p.c.lease_until < until)
                .distinct()
            ).scalars()
            instants = {t.replace(microsecond=0) for t in (*found, *leases) if t is not None}
        return sorted(instants)

    def count_due(self, now: datetime) -> int:
        with self._tx() as c:
            return int(c.execute(select(func.count()).where(_claimable(now))).scalar() or 0)

    def claim(self, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
        """Take up to `limit` due rows (oldest first) for `owner` until now + lease."""
        p = automation_plan
        chosen = select(p.c.occurrence_id).where(_claimable(now)).order_by(p.c.due_at).limit(limit)
        if self.postgres:
            # a materialised CTE: as a subquery of `IN`, PostgreSQL may evaluate the locking
            # LIMIT query again for rows a concurrent claim changed (EvalPlanQual), and one
            # claim then took twice its limit while others found nothing
            taken = (
                chosen.with_for_update(skip_locked=True)
                .cte("chosen")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            which = p.c.occurrence_id == taken.c.occurrence_id
        else:
            which = p.c.occurrence_id.in_(chosen.scalar_subquery())
        statement = (
            update(p)
            .where(which, _claimable(now))
            .values(
                status=RUNNING,
                lease_owner=owner,
                lease_until=now + lease,
                attempts=p.c.attempts + 1,
                updated_at=now,
            )
            .returning(p.c.occurrence_id, p.c.step, p.c.due_at, p.c.attempts)
        )
        with self._tx() as c:
            return [
                Claim(r.occurrence_id, Step(r.step), r.due_at, r.attempts)
                for r in c.execute(statement)
            ]

    def renew(self, occurrence_ids: Iterable[str], owner: str, until: datetime) -> int:
        ids = list(occurrence_ids)
        if not ids:
            return 0
        p = automation_plan
        with self._tx() as c:
            return c.execute(
                update(p)
                .where(p.c.occurrence_id.in_(ids), p.c.lease_owner == owner, p.c.status == RUNNING)
                .values(lease_until=until)
            ).rowcount

    def release(
        self, occurrence_ids: Iterable[str], owner: str, now: datetime, error: str = ""
    ) -> None:
        """Give back leases without changing the step (it will be claimed again when due)."""
        ids = list(occurrence_ids)
        if not ids:
            return
        p = automation_plan
        with self._tx() as c:
            c.execute(
                update(p)
                .where(p.c.occurrence_id.in_(ids), p.c.lease_owner == owner)
                .values(
                    status=PENDING,
                    lease_owner=None,
                    lease_until=None,
                    last_error=error,
                    updated_at=now,
                )
            )

    def make_due(self, occurrence_ids: Iterable[str], step: Step, now: datetime) -> set[str]:
        """Operator or reconciler: run `step` for these occurrences now (rows not leased)."""
        ids = list(occurrence_ids)
        if not ids:
            return set()
        p = automation_plan
        with self._tx() as c:
            return set(
                c.execute(
                    update(p)
                    .where(
                        p.c.occurrence_id.in_(ids),
                        or_(p.c.status != RUNNING, p.c.lease_until < now),
                    )
                    .values(
                        step=str(step),
                        due_at=now,
                        status=PENDING,
                        attempts=0,
                        lease_owner=None,
                        lease_until=None,
                        updated_at=now,
                    )
                    .returning(p.c.occurrence_id)
                ).scalars()
            )

    # --- transitions -------------------------------------------------------------------------
    def transition(
        self,
        writes: Sequence[TransitionWrite],
        now: datetime,
        *,
        events: Sequence[NewEvent] = (),
    ) -> list[Applied]:
        """Apply the transitions whose occurrence is still in one of `allowed_from` (read
        under a row lock), store them in the history and the event outbox, bump the
        occurrences' versions. Returns those applied; the others are skipped silently."""
        if not writes and not events:
            return []
        o = occurrences
        ids = sorted({w.occurrence_id for w in writes})
        applied: list[Applied] = []
        with self._tx() as c:
            current: dict[str, tuple[OccurrenceState, str]] = {}
            for chunk in chunks(ids, 1000):
                query = select(o.c.id, o.c.state, o.c.booking_id).where(o.c.id.in_(chunk))
                if self.postgres:
                    query = query.with_for_update()
                for row in c.execute(query):
                    current[row.id] = (OccurrenceState(row.state), row.booking_id)
            updates: list[dict[str, Any]] = []
            history: list[dict[str, Any]] = []
            for w in writes:
                found = current.get(w.occurrence_id)
                if found is None or found[0] not in w.allowed_from:
                    continue
                before, booking_id = found
                at = w.at or now
                current[w.occurrence_id] = (w.to_state, booking_id)
                updates.append(
                    {
                        "b_id": w.occurrence_id,
                        "b_state": str(w.to_state),
                        "b_reason": w.reason,
                        "b_risk": w.at_risk,
                    }
                )
                history.append(
                    {
                        "occurrence_id": w.occurrence_id,
                        "at": at,
                        "from_state": str(before),
                        "to_state": str(w.to_state),
                        "cause": w.cause,
                        "reason": w.reason,
                        "details": _jsonable(w.details),
                    }
                )
                applied.append(
                    Applied(
                        w.occurrence_id,
                        booking_id,
                        before,
                        w.to_state,
                        at,
                        w.cause,
                        w.reason,
                        w.details,
                    )
                )
            with_risk = [u for u in updates if u["b_risk"] is not None]
            without_risk = [u for u in updates if u["b_risk"] is None]
            if with_risk:
                c.execute(
                    update(o)
                    .where(o.c.id == bindparam("b_id"))
                    .values(
                        state=bindparam("b_state"),
                        state_reason=bindparam("b_reason"),
                        at_risk=bindparam("b_risk"),
                        version=o.c.version + 1,
                    ),
                    with_risk,
                )
            if without_risk:
                c.execute(
                    update(o)
                    .where(o.c.id == bindparam("b_id"))
                    .values(
                        state=bindparam("b_state"),
                        state_reason=bindparam("b_reason"),
                        version=o.c.version + 1,
                    ),
                    [{k: v for k, v in u.items() if k != "b_risk"} for u in without_risk],
                )
            if history:
                c.execute(occurrence_transitions.insert(), history)
            outbox = [_event_row(a, now) for a in applied] + [
                _new_event_row(e, now) for e in events
            ]
            if outbox:
                c.execute(automation_events.insert(), outbox)
        return applied

    def note(
        self,
        occurrence_id: str,
        cause: str,
        reason: str,
        now: datetime,
        *,
        details: Mapping[str, Any] | None = None,
        at_risk: str | None = None,
        event: NewEvent | None = None,
    ) -> None:
        """Record something that is not a state change (a backup switch, an at-risk flag)
        in the history, optionally setting the at-risk flag and queueing an event."""
        o = occurrences
        with self._tx() as c:
            state = c.execute(select(o.c.state).where(o.c.id == occurrence_id)).scalar()
            if state is None:
                return
            if at_risk is not None:
                c.execute(
                    update(o)
                    .where(o.c.id == occurrence_id)
                    .values(at_risk=at_risk, version=o.c.version + 1)
                )
            c.execute(
                occurrence_transitions.insert(),
                {
                    "occurrence_id": occurrence_id,
                    "at": now,
                    "from_state": state,
                    "to_state": state,
                    "cause": cause,
                    "reason": reason,
                    "details": _jsonable(details or {}),
                },
            )
            if event is not None:
                c.execute(automation_events.insert(), _new_event_row(event, now))

    def history(self, occurrence_id: str) -> list[TransitionRecord]:
        t = occurrence_transitions
        with self._tx() as c:
            return [
                TransitionRecord(
                    r.occurrence_id, r.at, r.from_state, r.to_state, r.cause, r.reason, r.details
                )
                for r in c.execute(
                    select(t).where(t.c.occurrence_id == occurrence_id).order_by(t.c.at, t.c.id)
                )
            ]

    # --- terminals ---------------------------------------------------------------------------
    def free_backups(
        self, site_id: str, exclude: Iterable[str], start: datetime, end: datetime
    ) -> list[Terminal]:
        """Active terminals at `site_id` (not in `exclude`) with no reservation overlapping
        [start, end)."""
        t = terminals
        query = (
            select(t.c.id)
            .where(t.c.site_id == site_id, t.c.active.is_(True), t.c.id.not_in(list(exclude)))
            .order_by(t.c.id)
        )
        with self._tx() as c:
            busy = SqlOccurrences(c).busy_terminal_ids(start, end)
            ids = [i for i in c.execute(query).scalars() if i not in busy]
            found = self._terminals(c, ids)
        return [found[i] for i in ids if i in found]

    def terminals_in_running_sessions(
        self, terminal_ids: Iterable[str], exclude_occurrence: str
    ) -> set[str]:
        """Which of these terminals belong to another occurrence that is running now
        (its call is expected, and will be hung up at that occurrence's end)."""
        ids = set(terminal_ids)
        if not ids:
            return set()
        o, r = occurrences, reservations
        running = [str(s) for s in IN_CALL]
        query = select(o.c.terminal_ids).where(
            o.c.booking_id.in_(select(r.c.booking_id).where(r.c.terminal_id.in_(sorted(ids)))),
            o.c.id != exclude_occurrence,
            o.c.state.in_(running),
        )
        with self._tx() as c:
            return {t for used in c.execute(query).scalars() for t in used if t in ids}

    def switch_terminal(self, occurrence_id: str, old: str, new: str) -> None:
        """Put `new` in place of `old` for this occurrence: its terminal list and its
        reservation (PostgreSQL's exclusion constraint refuses a terminal taken meanwhile)."""
        with self._tx() as c, domain_errors():
            if not SqlOccurrences(c).switch_terminal(occurrence_id, old, new):
                raise Conflict(f"terminal {old} is no longer part of occurrence {occurrence_id}")

    # --- the room registry ---------------------------------------------------------------------
    @staticmethod
    def _rooms(c: Connection, ids: Sequence[str]) -> dict[str, RoomRecord]:
        if not ids:
            return {}
        rm = automation_rooms
        return {
            r.occurrence_id: _room(r)
            for r in c.execute(select(rm).where(rm.c.occurrence_id.in_(ids)))
        }

    def rooms(self, occurrence_ids: Iterable[str]) -> dict[str, RoomRecord]:
        with self._tx() as c:
            return self._rooms(c, list(occurrence_ids))

    def claim_rooms(
        self, claims: Sequence[tuple[str, str]], now: datetime
    ) -> dict[str, RoomRecord]:
        """Claim each occurrence's room for a server — (occurrence id, server id) pairs —
        unless it is claimed already (a room that has ended may be claimed anew, with the
        next generation). Returns the standing claim of every occurrence, ours or the one
        a racing worker made first: one insert and one select for the whole batch."""
        if not claims:
            return {}
        rm = automation_rooms
        rows: list[dict[str, Any]] = [
            {
                "occurrence_id": occurrence_id,
                "server_id": server_id,
                "room_id": "",
                "platform": "",
                "sip_address": "",
                "details": {},
                "created_at": now,
                "ended_at": None,
                "generation": 1,
            }
            for occurrence_id, server_id in dict(claims).items()
        ]
        insert = self._insert(rm)
        statement = insert.on_conflict_do_update(
            index_elements=[rm.c.occurrence_id],
            set_={
                "server_id": insert.excluded.server_id,
                "room_id": "",
                "platform": "",
                "sip_address": "",
                "details": {},
                "created_at": insert.excluded.created_at,
                "ended_at": None,
                "generation": rm.c.generation + 1,
            },
            where=rm.c.ended_at.is_not(None),
        )
        with self._tx() as c:
            c.execute(statement, rows)
            return self._rooms(c, [r["occurrence_id"] for r in rows])

    def move_room(
        self, occurrence_id: str, expected_generation: int, server_id: str, now: datetime
    ) -> RoomRecord | None:
        """Re-home a room whose server died: compare-and-set on the generation, so two
        workers never both move it. None if the claim is no longer the one expected."""
        rm = automation_rooms
        with self._tx() as c:
            done = c.execute(
                update(rm)
                .where(
                    rm.c.occurrence_id == occurrence_id,
                    rm.c.generation == expected_generation,
                    rm.c.ended_at.is_(None),
                )
                .values(
                    server_id=server_id,
                    room_id="",
                    platform="",
                    sip_address="",
                    details={},
                    created_at=now,
                    generation=expected_generation + 1,
                )
            ).rowcount
            if done != 1:
                return None
            return self._rooms(c, [occurrence_id]).get(occurrence_id)

    def record_rooms(self, rooms: Sequence[RoomRecord]) -> None:
        """Store what the platform said about created rooms (room id, SIP address, the
        details later calls need) on the standing claims for the same server; mirror the
        room on the occurrence (`room_server_id`, `room_id`)."""
        if not rooms:
            return
        rm, o = automation_rooms, occurrences
        with self._tx() as c:
            c.execute(
                update(rm)
                .where(
                    rm.c.occurrence_id == bindparam("b_occurrence"),
                    rm.c.server_id == bindparam("b_server"),
                    rm.c.ended_at.is_(None),
                )
                .values(
                    room_id=bindparam("b_room"),
                    platform=bindparam("b_platform"),
                    sip_address=bindparam("b_sip"),
                    details=bindparam("b_details", type_=JSON),
                ),
                [
                    {
                        "b_occurrence": r.occurrence_id,
                        "b_server": r.server_id,
                        "b_room": r.room_id,
                        "b_platform": r.platform,
                        "b_sip": r.sip_address,
                        "b_details": r.details,
                    }
                    for r in rooms
                ],
            )
            c.execute(
                update(o)
                .where(o.c.id == bindparam("b_occurrence"))
                .values(room_server_id=bindparam("b_server"), room_id=bindparam("b_room")),
                [
                    {"b_occurrence": r.occurrence_id, "b_server": r.server_id, "b_room": r.room_id}
                    for r in rooms
                ],
            )

    def room_ended(self, occurrence_ids: Iterable[str], now: datetime) -> None:
        ids = list(occurrence_ids)
        if not ids:
            return
        rm = automation_rooms
        with self._tx() as c:
            c.execute(
                update(rm)
                .where(rm.c.occurrence_id.in_(ids), rm.c.ended_at.is_(None))
                .values(ended_at=now)
            )

    def open_rooms_on(self, server_id: str) -> list[RoomRecord]:
        rm = automation_rooms
        with self._tx() as c:
            return [
                _room(r)
                for r in c.execute(
                    select(rm).where(rm.c.server_id == server_id, rm.c.ended_at.is_(None))
                )
            ]

    def open_room_counts(self) -> dict[str, int]:
        rm = automation_rooms
        with self._tx() as c:
            return dict(
                c.execute(
                    select(rm.c.server_id, func.count())
                    .where(rm.c.ended_at.is_(None))
                    .group_by(rm.c.server_id)
                ).all()
            )

    # --- watching live sessions ----------------------------------------------------------------
    def active_occurrences(self, states: Iterable[OccurrenceState]) -> list[str]:
        o = occurrences
        with self._tx() as c:
            return list(
                c.execute(select(o.c.id).where(o.c.state.in_([str(s) for s in states]))).scalars()
            )

    # --- the event outbox ----------------------------------------------------------------------
    def add_events(self, events: Sequence[NewEvent], now: datetime) -> None:
        if not events:
            return
        with self._tx() as c:
            c.execute(automation_events.insert(), [_new_event_row(e, now) for e in events])

    def claim_events(self, now: datetime, hold: timedelta, limit: int = 100) -> list[EventRecord]:
        """Undelivered events whose next attempt is due, held for `hold` against other
        deliverers (compare-and-set on `next_attempt_at`)."""
        e = automation_events
        due = and_(
            e.c.delivered_at.is_(None),
            or_(e.c.next_attempt_at.is_(None), e.c.next_attempt_at <= now),
        )
        chosen = select(e.c.id).where(due).order_by(e.c.id).limit(limit)
        if self.postgres:
            chosen = chosen.with_for_update(skip_locked=True)
        statement = (
            update(e)
            .where(e.c.id.in_(chosen.scalar_subquery()), due)
            .values(next_attempt_at=now + hold, attempts=e.c.attempts + 1)
            .returning(
                e.c.id,
                e.c.event_id,
                e.c.type,
                e.c.occurrence_id,
                e.c.payload,
                e.c.created_at,
                e.c.attempts,
            )
        )
        with self._tx() as c:
            rows = [
                EventRecord(
                    r.id, r.event_id, r.type, r.occurrence_id, r.payload, r.created_at, r.attempts
                )
                for r in c.execute(statement)
            ]
        return sorted(rows, key=lambda r: r.id)

    def delivered(self, ids: Iterable[int], now: datetime) -> None:
        ids = list(ids)
        if not ids:
            return
        e = automation_events
        with self._tx() as c:
            c.execute(update(e).where(e.c.id.in_(ids)).values(delivered_at=now, last_error=""))

    def delivery_failed(self, event_id: int, retry_at: datetime, error: str) -> None:
        e = automation_events
        with self._tx() as c:
            c.execute(
                update(e)
                .where(e.c.id == event_id)
                .values(next_attempt_at=retry_at, last_error=error)
            )

    def events(self, occurrence_id: str | None = None, limit: int = 100) -> list[EventRecord]:
        e = automation_events
        query = select(e).order_by(e.c.id.desc()).limit(limit)
        if occurrence_id is not None:
            query = query.where(e.c.occurrence_id == occurrence_id)
        with self._tx() as c:
            return [
                EventRecord(
                    r.id, r.event_id, r.type, r.occurrence_id, r.payload, r.created_at, r.attempts
                )
                for r in c.execute(query)
            ][::-1]


# --- helpers ----------------------------------------------------------------------------------
def _claimable(now: datetime) -> Any:
    p = automation_plan
    return or_(
        and_(p.c.status == PENDING, p.c.due_at <= now),
        and_(p.c.status == RUNNING, p.c.lease_until < now),
    )


def _plan_row(r: Any) -> PlanRow:
    return PlanRow(
        occurrence_id=r.occurrence_id,
        step=Step(r.step),
        due_at=r.due_at,
        status=r.status,
        attempts=r.attempts,
        lease_owner=r.lease_owner,
        lease_until=r.lease_until,
        last_error=r.last_error,
        occurrence_version=r.occurrence_version,
        booking_version=r.booking_version,
        updated_at=r.updated_at,
    )


def _room(r: Any) -> RoomRecord:
    return RoomRecord(
        occurrence_id=r.occurrence_id,
        server_id=r.server_id,
        room_id=r.room_id,
        platform=r.platform,
        sip_address=r.sip_address,
        details=dict(r.details or {}),
        created_at=r.created_at,
        ended_at=r.ended_at,
        generation=r.generation,
    )


STATE_CHANGED = "occurrence.state_changed"


def _event_row(a: Applied, now: datetime) -> dict[str, Any]:
    payload = {
        "occurrence_id": a.occurrence_id,
        "booking_id": a.booking_id,
        "from": str(a.from_state),
        "to": str(a.to_state),
        "at": a.at.isoformat(),
        "cause": a.cause,
        "reason": a.reason,
        "details": _jsonable(a.details),
    }
    return {
        "event_id": str(uuid.uuid4()),
        "type": STATE_CHANGED,
        "occurrence_id": a.occurrence_id,
        "payload": payload,
        "created_at": now,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": "",
    }


def _new_event_row(e: NewEvent, now: datetime) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": e.type,
        "occurrence_id": e.occurrence_id,
        "payload": _jsonable(e.payload),
        "created_at": now,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": "",
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


__all__ = [
    "IDLE",
    "PENDING",
    "RUNNING",
    "Applied",
    "Claim",
    "EventRecord",
    "NewEvent",
    "PlanCandidate",
    "PlanRow",
    "PlanWrite",
    "RoomRecord",
    "SessionRecord",
    "SqlAutomationStore",
    "TransitionRecord",
    "TransitionWrite",
    "automation_events",
    "automation_plan",
    "automation_rooms",
    "occurrence_transitions",
]
