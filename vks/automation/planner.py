"""Deciding each occurrence's next step and writing it to the plan.

The planner is the only place where an occurrence's data (times, kind, sub-slot, state,
cancellation, room) becomes a plan row. It runs when a booking changes (the hook), for
occurrences nobody told us about (the reconciler), and after every step (the dispatcher
passes what the step asked for: a retry, an end). Moving an occurrence moves its due
step; cancelling one makes it need nothing — or an immediate end if it is running.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from booking.automation_store import (
    PENDING,
    AutomationStore,
    PlanRow,
    PlanWrite,
    SessionRecord,
    TransitionWrite,
)
from booking.bookings import OccurrenceState
from booking.lifecycle import (
    ACTIVE,
    FINAL,
    WAITING,
    Plan,
    Step,
    Window,
    next_step,
    sources_of,
    window,
)
from vks.automation.config import AutomationConfig

S = OccurrenceState


@dataclass(frozen=True)
class Decision:
    write: PlanWrite
    transition: TransitionWrite | None = None


class Planner:
    def __init__(self, store: AutomationStore, config: AutomationConfig) -> None:
        self.store = store
        self.config = config

    def window_of(self, session: SessionRecord) -> Window | None:
        return window(
            session.kind,
            session.start,
            session.end,
            self.config.timing,
            session.broadcast_offset_minutes,
            session.broadcast_minutes,
        )

    def decide(
        self,
        session: SessionRecord,
        row: PlanRow | None,
        now: datetime,
        forced: Plan | None = None,
    ) -> Decision:
        """The next step of one occurrence. `forced` is what a step that just ran asks
        for (a start retry, an end retry) when the occurrence still allows it."""
        win = self.window_of(session)
        state = session.state
        room_open = session.room_open

        def write(plan: Plan, attempts: int = 0) -> Decision:
            return Decision(
                PlanWrite(
                    occurrence_id=session.occurrence_id,
                    step=plan.step,
                    due_at=plan.due,
                    occurrence_version=session.occurrence_version,
                    booking_version=session.booking_version,
                    attempts=attempts,
                )
            )

        def kept_attempts(step: Step) -> int:
            return row.attempts if row is not None and row.step is step else 0

        nothing = Plan(Step.NONE, None)
        if state in FINAL:
            # a room left open by a failed or cancelled start is closed; nothing else
            return write(Plan(Step.END, now) if room_open else nothing)
        if state is S.ENDING:
            due = forced.due if forced is not None and forced.step is Step.END else now
            return write(Plan(Step.END, due), kept_attempts(Step.END))
        if win is None:  # no live link: recordings, LMS
            return write(Plan(Step.END, now) if room_open else nothing)
        if session.cancelled and state in ACTIVE:
            return write(Plan(Step.END, now))
        if session.is_cancelled and state in WAITING:
            # a cancelled booking leaves running lessons alone (they end at their time)
            return Decision(
                write(nothing).write,
                TransitionWrite(
                    session.occurrence_id,
                    S.CANCELLED,
                    sources_of(S.CANCELLED) & WAITING,
                    cause="booking",
                    reason=session.state_reason or "cancelled",
                ),
            )
        if state in WAITING and now >= win.online_until:
            return Decision(
                write(nothing).write,
                TransitionWrite(
                    session.occurrence_id,
                    S.FAILED,
                    frozenset(WAITING),
                    cause="reconciler",
                    reason="never started: no worker ran the start before the lesson ended",
                ),
            )
        if forced is not None and _still_fits(forced, state, win):
            return write(forced, kept_attempts(forced.step))
        if state in ACTIVE:
            retry_at = None
            if row is not None and row.step is Step.START and row.status == PENDING:
                retry_at = row.due_at  # a pending retry survives an unrelated edit
            plan = next_step(state, win, now, retry_at=retry_at)
            return write(plan, kept_attempts(plan.step))
        plan = next_step(
            state, win, now, preflight_min_ahead=self.config.timing.preflight_min_ahead
        )
        if plan.step is Step.START and plan.due is not None and plan.due < now:
            unchanged = row is not None and row.step is Step.START and row.due_at == plan.due
            if not unchanged:  # booked (or moved) after its start time: due now, not late
                plan = Plan(Step.START, now)
        return write(plan, kept_attempts(plan.step))

    def plan(
        self,
        occurrence_ids: Iterable[str],
        now: datetime,
        *,
        owner: str | None = None,
        forced: Mapping[str, Plan] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> list[PlanWrite]:
        """Recompute and store the plan of these occurrences; returns what was written.
        `errors` (occurrence id → what went wrong) is kept on the rows for operators."""
        ids = list(dict.fromkeys(occurrence_ids))
        if not ids:
            return []
        sessions = self.store.sessions(ids, full=False)
        rows = self.store.plans(ids)
        decisions = [
            self.decide(sessions[i], rows.get(i), now, (forced or {}).get(i))
            for i in ids
            if i in sessions
        ]
        transitions = [d.transition for d in decisions if d.transition is not None]
        if transitions:
            self.store.transition(transitions, now)
        writes = [
            replace(d.write, last_error=(errors or {}).get(d.write.occurrence_id, ""))
            for d in decisions
        ]
        written = self.store.write_plans(writes, now, owner=owner)
        return [w for w in writes if w.occurrence_id in written]


def _still_fits(forced: Plan, state: OccurrenceState, win: Window) -> bool:
    if forced.step is Step.START:
        return state in ACTIVE and forced.due is not None and forced.due < win.online_until
    if forced.step is Step.END:
        return state in ACTIVE or state is S.ENDING
    return False
