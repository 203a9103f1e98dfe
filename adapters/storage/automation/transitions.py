"""Transitions of occurrences with their history (`occurrence_transitions`) and the outbox
of events for the webhook (`automation_events`): a change, its history row and its event
are written in one transaction, so none is lost and none is sent for a rolled-back change."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, func, literal, or_, select, update

from adapters.storage.at_risk import since_after
from adapters.storage.automation.tables import automation_events, occurrence_transitions
from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.tables import occurrences
from adapters.storage.types import UtcDateTime
from booking.automation_store import (
    Applied,
    EventRecord,
    NewEvent,
    TransitionRecord,
    TransitionWrite,
    jsonable,
    state_changed,
)
from booking.bookings import OccurrenceState


class SqlTransitions(BatchStore):
    """`booking.automation_store.TransitionStore` over the history and the outbox."""

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
                        "b_at": at,
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
                        "details": jsonable(w.details),
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
            if updates:
                # one statement, in the order written: a later transition of the same
                # occurrence wins; without a flag (None) the at-risk flag is kept
                c.execute(
                    update(o)
                    .where(o.c.id == bindparam("b_id"))
                    .values(
                        state=bindparam("b_state"),
                        state_reason=bindparam("b_reason"),
                        at_risk=func.coalesce(bindparam("b_risk", type_=String), o.c.at_risk),
                        at_risk_since=since_after(
                            func.coalesce(bindparam("b_risk", type_=String), o.c.at_risk),
                            bindparam("b_at", type_=UtcDateTime),
                        ),
                        version=o.c.version + 1,
                    ),
                    updates,
                )
            if history:
                c.execute(occurrence_transitions.insert(), history)
            outbox = [_event_row(state_changed(a), now) for a in applied] + [
                _event_row(e, now) for e in events
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
                    .values(
                        at_risk=at_risk,
                        at_risk_since=since_after(
                            literal(at_risk, String), literal(now, UtcDateTime)
                        ),
                        version=o.c.version + 1,
                    )
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
                    "details": jsonable(details or {}),
                },
            )
            if event is not None:
                c.execute(automation_events.insert(), _event_row(event, now))

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

    def add_events(self, events: Sequence[NewEvent], now: datetime) -> None:
        if not events:
            return
        with self._tx() as c:
            c.execute(automation_events.insert(), [_event_row(e, now) for e in events])

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

    def events_after(
        self, after_id: int, created_since: datetime, limit: int = 100
    ) -> list[EventRecord]:
        e = automation_events
        query = (
            select(e)
            .where(e.c.id > after_id, e.c.created_at >= created_since)
            .order_by(e.c.id)
            .limit(limit)
        )
        with self._tx() as c:
            return [
                EventRecord(
                    r.id, r.event_id, r.type, r.occurrence_id, r.payload, r.created_at, r.attempts
                )
                for r in c.execute(query)
            ]

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


def _event_row(event: NewEvent, now: datetime) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": event.type,
        "occurrence_id": event.occurrence_id,
        "payload": jsonable(event.payload),
        "created_at": now,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": "",
    }
