"""How changes reach the automation at once: the API (or any caller of the booking
services) calls the hook after a booking or occurrence was created, moved, edited or
cancelled, and operators' manual "start now" / "end now" go through it too.

Planning happens right here, in the caller's process (a few queries), and the runner is
told when to wake: a booking made two minutes before its start is started at once. If a
caller forgets the hook, the reconciler finds the change within its round (seconds in
embedded mode).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from booking.automation_store import AutomationStore, PlanWrite, TransitionWrite
from booking.bookings import OccurrenceState
from booking.lifecycle import Step
from vks.automation.clock import Clock
from vks.automation.config import AutomationConfig
from vks.automation.planner import Planner


class Waker(Protocol):
    def wake_at(self, instants: list[datetime]) -> None: ...


class AutomationHook:
    def __init__(
        self,
        store: AutomationStore,
        planner: Planner,
        waker: Waker,
        config: AutomationConfig,
        clock: Clock,
    ) -> None:
        self.store = store
        self.planner = planner
        self.waker = waker
        self.config = config
        self.clock = clock

    def occurrences_changed(self, occurrence_ids: Iterable[str]) -> list[PlanWrite]:
        """Replan these occurrences now and wake the runner for what became due."""
        now = self.clock.now()
        writes = self.planner.plan(list(occurrence_ids), now)
        self._wake(writes)
        return writes

    def bookings_changed(
        self, booking_ids: Iterable[str], *, span: tuple[datetime, datetime] | None = None
    ) -> list[PlanWrite]:
        """Replan the occurrences of these bookings that fall within the horizon (the
        reconciler plans later ones as they come near). `span` (a new booking's first
        start and last end): when it lies wholly after the horizon or before the
        look-back, there is nothing to plan and nothing is read."""
        now = self.clock.now()
        until = now + self.config.horizon + self.config.timing.preflight_lead
        after = now - self.config.plan_lookback
        if span is not None and (span[0] >= until or span[1] <= after):
            return []
        ids = self.store.occurrences_of_bookings(booking_ids, ends_after=after, starts_before=until)
        return self.occurrences_changed(ids)

    def start_now(self, occurrence_ids: Iterable[str]) -> set[str]:
        """Operator: start (or rejoin the missing terminals of) these occurrences now."""
        return self._now(occurrence_ids, Step.START)

    def end_now(self, occurrence_ids: Iterable[str]) -> set[str]:
        """Operator: end these running occurrences now."""
        return self._now(occurrence_ids, Step.END)

    def call_ended(self, terminal_id: str, cause: str = "") -> set[str]:
        """A terminal reported (push feedback) that its call ended: every live or
        degraded occurrence it belongs to redials it now — without waiting for the
        reconciler's next look at the rooms. A live one becomes `degraded` with the
        reason. Returns the occurrences made due (none when the call ended because its
        lesson is ending, or by an operator's redial: those are not live any more, or
        dial again themselves)."""
        running = [OccurrenceState.LIVE, OccurrenceState.DEGRADED]
        ids = self.store.active_occurrences(running)
        if not ids:
            return set()
        sessions = self.store.sessions(ids)
        concerned = [s for s in sessions.values() if terminal_id in s.terminal_ids]
        if not concerned:
            return set()
        now = self.clock.now()
        said = f" ({cause})" if cause else ""
        degrade = [
            TransitionWrite(
                s.occurrence_id,
                OccurrenceState.DEGRADED,
                frozenset({OccurrenceState.LIVE}),
                cause="terminal",
                reason=f"dropped out: {terminal_id}: the terminal reported its call ended{said}",
                at=now,
            )
            for s in concerned
            if s.state is OccurrenceState.LIVE
        ]
        if degrade:
            self.store.transition(degrade, now)
        return self._now([s.occurrence_id for s in concerned], Step.START)

    def _now(self, occurrence_ids: Iterable[str], step: Step) -> set[str]:
        ids = list(occurrence_ids)
        now = self.clock.now()
        missing = set(ids) - set(self.store.plans(ids))
        if missing:  # never planned (e.g. far in the future): plan first, then override
            self.planner.plan(sorted(missing), now)
        done = self.store.make_due(ids, step, now)
        if done:
            self.waker.wake_at([now])
        return done

    def _wake(self, writes: list[PlanWrite]) -> None:
        instants = sorted({w.due_at for w in writes if w.due_at is not None})
        horizon = self.clock.now() + self.config.horizon
        soon = [t for t in instants if t <= horizon]
        if soon:
            self.waker.wake_at(soon)
