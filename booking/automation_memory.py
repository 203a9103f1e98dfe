"""An in-memory `AutomationStore`, for fast specifications of the automation's decisions.

It keeps `SessionRecord`s as given (`add_session`), and the plan, the history, the outbox
and the room registry in dictionaries, with the same compare-and-set semantics as the SQL
store: a leased plan row is left alone, a transition applies only from its `allowed_from`
states, a standing room claim is returned instead of taken over. Every method holds one
lock (the automation calls the store from worker threads) and hands out copies, so a
caller never changes what is stored behind the store's back.

One class for the four ports (unlike the SQL store, split by aggregate): they share one
lock and one state — a transition writes the session, the history and the outbox
together, a session is read with its room — as one database would.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from booking.automation_store import (
    IDLE,
    PENDING,
    RUNNING,
    Applied,
    Claim,
    EventRecord,
    LeftRoom,
    NewEvent,
    PlanCandidate,
    PlanRow,
    PlanWrite,
    RoomRecord,
    SessionRecord,
    TransitionRecord,
    TransitionWrite,
    jsonable,
    state_changed,
)
from booking.bookings import OccurrenceState
from booking.errors import Conflict
from booking.lifecycle import FINAL, IN_CALL, WAITING, Step
from booking.resources import Terminal


@dataclass
class _Event:
    record: EventRecord
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str = ""


class MemoryAutomationStore:
    """`booking.automation_store.AutomationStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._sessions: dict[str, SessionRecord] = {}
        self._plan: dict[str, PlanRow] = {}
        self._rooms: dict[str, RoomRecord] = {}
        self._history: list[TransitionRecord] = []
        self._outbox: list[_Event] = []
        self._spares: dict[str, Terminal] = {}  # terminals a pre-flight may switch to
        self._left: dict[tuple[str, str], LeftRoom] = {}  # rooms left on a dead server
        self._link_peaks: dict[str, int] = {}  # people in the room by its web link, at most

    # --- arranging ---------------------------------------------------------------------------
    def add_session(self, session: SessionRecord) -> None:
        """Store (or replace, as a booking edit would) an occurrence as the automation sees
        it; its room, if any, goes to the registry."""
        with self._lock:
            stored = copy.deepcopy(session)
            if stored.room is not None:
                self._rooms[stored.occurrence_id] = stored.room
            stored.room = None
            self._sessions[stored.occurrence_id] = stored

    def add_spare(self, terminal: Terminal) -> None:
        """A terminal at its site that no booking uses: a possible backup."""
        with self._lock:
            self._spares[terminal.id] = copy.deepcopy(terminal)

    # --- SessionStore --------------------------------------------------------------------------
    def sessions(
        self, occurrence_ids: Iterable[str], *, full: bool = True
    ) -> dict[str, SessionRecord]:
        with self._lock:
            found: dict[str, SessionRecord] = {}
            for i in occurrence_ids:
                if i in self._sessions:
                    session = copy.deepcopy(self._sessions[i])
                    session.room = copy.deepcopy(self._rooms.get(i))
                    found[i] = session
            return found

    def occurrences_of_bookings(
        self,
        booking_ids: Iterable[str],
        *,
        ends_after: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> list[str]:
        wanted = set(booking_ids)
        with self._lock:
            return [
                s.occurrence_id
                for s in self._sessions.values()
                if s.booking_id in wanted
                and (ends_after is None or s.end > ends_after)
                and (starts_before is None or s.start < starts_before)
            ]

    def active_occurrences(self, states: Iterable[OccurrenceState]) -> list[str]:
        wanted = set(states)
        with self._lock:
            return [s.occurrence_id for s in self._sessions.values() if s.state in wanted]

    def free_backups(
        self, site_id: str, exclude: Iterable[str], start: datetime, end: datetime
    ) -> list[Terminal]:
        excluded = set(exclude)
        with self._lock:
            busy = {
                t
                for s in self._sessions.values()
                if not s.is_cancelled and s.setup_start < end and start < s.end
                for t in s.terminal_ids
            }
            return [
                copy.deepcopy(t)
                for t in sorted(self._spares.values(), key=lambda t: t.id)
                if t.site_id == site_id and t.active and t.id not in excluded | busy
            ]

    def terminals_in_running_sessions(
        self, terminal_ids: Iterable[str], exclude_occurrence: str
    ) -> set[str]:
        ids = set(terminal_ids)
        with self._lock:
            return {
                t
                for s in self._sessions.values()
                if s.occurrence_id != exclude_occurrence and s.state in IN_CALL
                for t in s.terminal_ids
                if t in ids
            }

    def terminals(self, terminal_ids: Iterable[str]) -> dict[str, Terminal]:
        ids = set(terminal_ids)
        with self._lock:
            known = dict(self._spares)
            for s in self._sessions.values():
                known.update(s.terminals)
            return {t: copy.deepcopy(known[t]) for t in ids if t in known}

    def switch_terminal(self, occurrence_id: str, old: str, new: str) -> None:
        with self._lock:
            session = self._sessions.get(occurrence_id)
            if session is None or old not in session.terminal_ids:
                raise Conflict(f"terminal {old} is no longer part of occurrence {occurrence_id}")
            spare = self._spares.pop(new, None)
            if spare is None:
                raise Conflict(f"terminal {new} is not free")
            session.terminal_ids = [new if t == old else t for t in session.terminal_ids]
            session.terminals[new] = spare
            session.occurrence_version += 1

    # --- PlanStore -----------------------------------------------------------------------------
    def plan_candidates(
        self, *, ends_after: datetime, starts_before: datetime, limit: int = 5000
    ) -> list[PlanCandidate]:
        with self._lock:
            found: list[PlanCandidate] = []
            for s in self._sessions.values():
                live = s.state not in FINAL | WAITING
                in_window = s.end > ends_after and s.start < starts_before
                row = self._plan.get(s.occurrence_id)
                stale = row is None or (
                    row.occurrence_version != s.occurrence_version
                    or row.booking_version != s.booking_version
                )
                if s.kind.needs_equipment and (in_window or live) and stale:
                    found.append(
                        PlanCandidate(
                            s.occurrence_id,
                            s.occurrence_version,
                            s.booking_version,
                            row is not None,
                        )
                    )
            return found[:limit]

    def plans(self, occurrence_ids: Iterable[str]) -> dict[str, PlanRow]:
        with self._lock:
            return {i: self._plan[i] for i in occurrence_ids if i in self._plan}

    def write_plans(
        self, writes: Sequence[PlanWrite], now: datetime, *, owner: str | None = None
    ) -> set[str]:
        written: set[str] = set()
        with self._lock:
            for w in writes:
                row = self._plan.get(w.occurrence_id)
                if row is not None and not (
                    row.status != RUNNING
                    or (row.lease_until is not None and row.lease_until < now)
                    or row.lease_owner == (owner or "")
                ):
                    continue
                self._plan[w.occurrence_id] = PlanRow(
                    occurrence_id=w.occurrence_id,
                    step=w.step,
                    due_at=w.due_at,
                    status=PENDING if w.step is not Step.NONE else IDLE,
                    attempts=w.attempts,
                    lease_owner=None,
                    lease_until=None,
                    last_error=w.last_error,
                    occurrence_version=w.occurrence_version,
                    booking_version=w.booking_version,
                    updated_at=now,
                )
                written.add(w.occurrence_id)
        return written

    def next_due(self) -> datetime | None:
        with self._lock:
            times = [r.due_at for r in self._plan.values() if r.status == PENDING] + [
                r.lease_until for r in self._plan.values() if r.status == RUNNING
            ]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def due_instants(self, until: datetime) -> list[datetime]:
        with self._lock:
            times = [r.due_at for r in self._plan.values() if r.status == PENDING] + [
                r.lease_until for r in self._plan.values() if r.status == RUNNING
            ]
        return sorted({t.replace(microsecond=0) for t in times if t is not None and t < until})

    def count_due(self, now: datetime) -> int:
        with self._lock:
            return sum(1 for r in self._plan.values() if _claimable(r, now))

    def claim(self, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
        with self._lock:
            due = sorted(
                (r for r in self._plan.values() if _claimable(r, now)),
                key=lambda r: (r.due_at or now, r.occurrence_id),
            )[:limit]
            claims: list[Claim] = []
            for r in due:
                taken = replace(
                    r,
                    status=RUNNING,
                    lease_owner=owner,
                    lease_until=now + lease,
                    attempts=r.attempts + 1,
                    updated_at=now,
                )
                self._plan[r.occurrence_id] = taken
                assert taken.due_at is not None
                claims.append(Claim(r.occurrence_id, r.step, taken.due_at, taken.attempts))
            return claims

    def renew(self, occurrence_ids: Iterable[str], owner: str, until: datetime) -> int:
        renewed = 0
        with self._lock:
            for i in occurrence_ids:
                r = self._plan.get(i)
                if r is not None and r.lease_owner == owner and r.status == RUNNING:
                    self._plan[i] = replace(r, lease_until=until)
                    renewed += 1
        return renewed

    def release(
        self, occurrence_ids: Iterable[str], owner: str, now: datetime, error: str = ""
    ) -> None:
        with self._lock:
            for i in occurrence_ids:
                r = self._plan.get(i)
                if r is not None and r.lease_owner == owner:
                    self._plan[i] = replace(
                        r,
                        status=PENDING,
                        lease_owner=None,
                        lease_until=None,
                        last_error=error,
                        updated_at=now,
                    )

    def release_workers(self, owners: Iterable[str], now: datetime) -> int:
        dead = set(owners)
        released = 0
        with self._lock:
            for i, r in list(self._plan.items()):
                if r.status == RUNNING and r.lease_owner in dead:
                    self._plan[i] = replace(
                        r, status=PENDING, lease_owner=None, lease_until=None, updated_at=now
                    )
                    released += 1
        return released

    def make_due(self, occurrence_ids: Iterable[str], step: Step, now: datetime) -> set[str]:
        done: set[str] = set()
        with self._lock:
            for i in occurrence_ids:
                r = self._plan.get(i)
                if r is None or (r.status == RUNNING and not _expired(r, now)):
                    continue
                self._plan[i] = replace(
                    r,
                    step=step,
                    due_at=now,
                    status=PENDING,
                    attempts=0,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
                done.add(i)
        return done

    # --- TransitionStore -----------------------------------------------------------------------
    def transition(
        self,
        writes: Sequence[TransitionWrite],
        now: datetime,
        *,
        events: Sequence[NewEvent] = (),
    ) -> list[Applied]:
        applied: list[Applied] = []
        with self._lock:
            for w in writes:
                session = self._sessions.get(w.occurrence_id)
                if session is None or session.state not in w.allowed_from:
                    continue
                before, at = session.state, w.at or now
                session.state = w.to_state
                session.state_reason = w.reason
                session.flag(session.at_risk if w.at_risk is None else w.at_risk, at)
                session.occurrence_version += 1
                self._history.append(
                    TransitionRecord(
                        w.occurrence_id,
                        at,
                        str(before),
                        str(w.to_state),
                        w.cause,
                        w.reason,
                        jsonable(w.details),
                    )
                )
                applied.append(
                    Applied(
                        w.occurrence_id,
                        session.booking_id,
                        before,
                        w.to_state,
                        at,
                        w.cause,
                        w.reason,
                        w.details,
                    )
                )
            self._add_events([*(state_changed(a) for a in applied), *events], now)
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
        with self._lock:
            session = self._sessions.get(occurrence_id)
            if session is None:
                return
            if at_risk is not None:
                session.flag(at_risk, now)
                session.occurrence_version += 1
            state = str(session.state)
            self._history.append(
                TransitionRecord(
                    occurrence_id, now, state, state, cause, reason, jsonable(details or {})
                )
            )
            if event is not None:
                self._add_events([event], now)

    def history(self, occurrence_id: str) -> list[TransitionRecord]:
        with self._lock:
            found = [h for h in self._history if h.occurrence_id == occurrence_id]
        return sorted(found, key=lambda h: h.at)  # stable: ties keep the order written

    def add_events(self, events: Sequence[NewEvent], now: datetime) -> None:
        with self._lock:
            self._add_events(events, now)

    def _add_events(self, events: Iterable[NewEvent], now: datetime) -> None:
        for e in events:
            record = EventRecord(
                id=len(self._outbox) + 1,
                event_id=str(uuid.uuid4()),
                type=e.type,
                occurrence_id=e.occurrence_id,
                payload=jsonable(e.payload),
                created_at=now,
                attempts=0,
            )
            self._outbox.append(_Event(record))

    def claim_events(self, now: datetime, hold: timedelta, limit: int = 100) -> list[EventRecord]:
        with self._lock:
            due = [
                e
                for e in self._outbox
                if e.delivered_at is None
                and (e.next_attempt_at is None or e.next_attempt_at <= now)
            ][:limit]
            for e in due:
                e.next_attempt_at = now + hold
                e.record = replace(e.record, attempts=e.record.attempts + 1)
            return [e.record for e in due]

    def delivered(self, ids: Iterable[int], now: datetime) -> None:
        with self._lock:
            for i in ids:
                self._outbox[i - 1].delivered_at = now
                self._outbox[i - 1].last_error = ""

    def delivery_failed(self, event_id: int, retry_at: datetime, error: str) -> None:
        with self._lock:
            self._outbox[event_id - 1].next_attempt_at = retry_at
            self._outbox[event_id - 1].last_error = error

    def events_after(
        self, after_id: int, created_since: datetime, limit: int = 100
    ) -> list[EventRecord]:
        with self._lock:
            found = [
                e.record
                for e in self._outbox
                if e.record.id > after_id and e.record.created_at >= created_since
            ]
        return found[:limit]

    def events(self, occurrence_id: str | None = None, limit: int = 100) -> list[EventRecord]:
        with self._lock:
            found = [
                e.record
                for e in self._outbox
                if occurrence_id is None or e.record.occurrence_id == occurrence_id
            ]
        return found[-limit:]

    # --- RoomStore -----------------------------------------------------------------------------
    def rooms(self, occurrence_ids: Iterable[str]) -> dict[str, RoomRecord]:
        with self._lock:
            return {i: copy.deepcopy(self._rooms[i]) for i in occurrence_ids if i in self._rooms}

    def claim_rooms(
        self, claims: Sequence[tuple[str, str]], now: datetime
    ) -> dict[str, RoomRecord]:
        with self._lock:
            for occurrence_id, server_id in dict(claims).items():
                standing = self._rooms.get(occurrence_id)
                if standing is not None and standing.ended_at is None:
                    continue
                self._rooms[occurrence_id] = RoomRecord(
                    occurrence_id=occurrence_id,
                    server_id=server_id,
                    room_id="",
                    platform="",
                    sip_address="",
                    details={},
                    created_at=now,
                    ended_at=None,
                    generation=1 if standing is None else standing.generation + 1,
                )
            return self.rooms(occurrence_id for occurrence_id, _ in claims)

    def move_room(
        self, occurrence_id: str, expected_generation: int, server_id: str, now: datetime
    ) -> RoomRecord | None:
        with self._lock:
            standing = self._rooms.get(occurrence_id)
            if (
                standing is None
                or standing.generation != expected_generation
                or standing.ended_at is not None
            ):
                return None
            moved = RoomRecord(
                occurrence_id, server_id, "", "", "", {}, now, None, expected_generation + 1
            )
            self._rooms[occurrence_id] = moved
            left = LeftRoom(occurrence_id, standing.server_id, now)
            self._left[(occurrence_id, standing.server_id)] = left
            return copy.deepcopy(moved)

    def left_rooms(self, server_ids: Iterable[str]) -> list[LeftRoom]:
        servers = set(server_ids)
        with self._lock:
            return sorted(
                (r for r in self._left.values() if r.server_id in servers),
                key=lambda r: (r.server_id, r.occurrence_id),
            )

    def forget_left(self, rooms: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            for key in rooms:
                self._left.pop(key, None)

    def record_rooms(self, rooms: Sequence[RoomRecord]) -> None:
        with self._lock:
            for r in rooms:
                standing = self._rooms.get(r.occurrence_id)
                if (
                    standing is None
                    or standing.server_id != r.server_id
                    or standing.ended_at is not None
                ):
                    continue
                self._rooms[r.occurrence_id] = replace(
                    standing,
                    room_id=r.room_id,
                    platform=r.platform,
                    sip_address=r.sip_address,
                    details=copy.deepcopy(r.details),
                )

    def room_ended(self, occurrence_ids: Iterable[str], now: datetime) -> None:
        with self._lock:
            for i in occurrence_ids:
                standing = self._rooms.get(i)
                if standing is not None and standing.ended_at is None:
                    self._rooms[i] = replace(standing, ended_at=now)

    def note_link_peaks(self, counts: Mapping[str, int]) -> None:
        with self._lock:
            for occurrence_id, n in counts.items():
                if n > self._link_peaks.get(occurrence_id, 0):
                    self._link_peaks[occurrence_id] = n

    def link_peaks(self, occurrence_ids: Iterable[str]) -> dict[str, int]:
        with self._lock:
            return {i: self._link_peaks[i] for i in occurrence_ids if i in self._link_peaks}

    def open_rooms_on(self, server_id: str) -> list[RoomRecord]:
        with self._lock:
            return [
                copy.deepcopy(r)
                for r in self._rooms.values()
                if r.server_id == server_id and r.ended_at is None
            ]

    def open_room_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for r in self._rooms.values():
                if r.ended_at is None:
                    counts[r.server_id] = counts.get(r.server_id, 0) + 1
        return counts


def _expired(row: PlanRow, now: datetime) -> bool:
    return row.lease_until is not None and row.lease_until < now


def _claimable(row: PlanRow, now: datetime) -> bool:
    if row.status == PENDING:
        return row.due_at is not None and row.due_at <= now
    return row.status == RUNNING and _expired(row, now)
