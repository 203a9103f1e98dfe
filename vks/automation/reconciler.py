"""The reconciler (every minute, `VKS_RECONCILE_SECONDS`): compares what the database
says should be scheduled or running with what is queued and what the devices report,
and repairs the difference.

1. Plans: occurrences in the coming window (or running) with no plan row, or one older
   than the occurrence or its booking (a change nobody told us about), are planned.
2. Queue: every pending step due within the horizon gets its wake-up call again. The
   runner ignores the ones it already has; after a Redis flush or restart they are all
   back, and a step that is already overdue (a worker was down at start time) runs at
   once — its transition records how late.
3. Devices: every live or degraded session's room is asked who is in it; a terminal that
   dropped out (or a room that vanished with its server) makes the start step due again,
   which redials only what is missing.
4. Housekeeping (`tidy`, also run by every RQ worker each round: what it knows is per
   process): a server that came back gets the rooms moved away from it ended.

Leases of workers that died are not touched here: an expired lease makes the step
claimable by itself, and step 2 wakes a runner for it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from booking.automation_store import AutomationStore, SessionRecord, TransitionWrite
from booking.bookings import OccurrenceState
from booking.errors import DomainError
from booking.lifecycle import Step
from vks.automation.clock import Clock
from vks.automation.config import AutomationConfig
from vks.automation.devices import Devices
from vks.automation.planner import Planner

log = logging.getLogger(__name__)
S = OccurrenceState


class Waker(Protocol):
    """What the reconciler needs of a runner."""

    def wake_at(self, instants: list[datetime]) -> None: ...


@dataclass
class ReconcileReport:
    planned: int = 0
    wake_ups: int = 0
    overdue: int = 0
    watched: int = 0
    redial: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(
        self,
        store: AutomationStore,
        planner: Planner,
        devices: Devices,
        config: AutomationConfig,
        clock: Clock,
    ) -> None:
        self.store = store
        self.planner = planner
        self.devices = devices
        self.config = config
        self.clock = clock

    async def run(self, waker: Waker) -> ReconcileReport:
        report = await self.sync(waker)
        report.watched, report.redial = await self.watch()
        if report.redial:
            waker.wake_at([self.clock.now()])
        await self.tidy()
        return report

    async def tidy(self) -> None:
        """Step 4: the devices' housekeeping (never a reason for the round to fail)."""
        try:
            await self.devices.tidy()
        except DomainError as exc:
            log.warning("device housekeeping: %s", exc)

    async def sync(self, waker: Waker) -> ReconcileReport:
        """Steps 1 and 2: plans and wake-ups (cheap: the embedded runner does it often)."""
        report = ReconcileReport()
        now = self.clock.now()
        timing = self.config.timing
        candidates = await asyncio.to_thread(
            self.store.plan_candidates,
            ends_after=now - self.config.plan_lookback,
            starts_before=now + self.config.horizon + timing.preflight_lead,
        )
        if candidates:
            written = await asyncio.to_thread(
                self.planner.plan, [c.occurrence_id for c in candidates], now
            )
            report.planned = len(written)
        instants = await asyncio.to_thread(self.store.due_instants, now + self.config.horizon)
        report.overdue = sum(1 for t in instants if t <= now)
        report.wake_ups = len(instants)
        if instants:
            waker.wake_at(instants)
        return report

    async def watch(self) -> tuple[int, list[str]]:
        """Step 3: who is in the rooms of running sessions; returns (watched, redialled).

        A live session that lost a terminal (or its room) becomes `degraded` with the
        reason, and its start step is made due: it redials what is missing."""
        ids = await asyncio.to_thread(self.store.active_occurrences, [S.LIVE, S.DEGRADED])
        if not ids:
            return 0, []
        sessions = await asyncio.to_thread(self.store.sessions, ids)
        gate = asyncio.Semaphore(self.config.device_concurrency)
        by_link: dict[str, int] = {}

        async def missing(session: SessionRecord) -> str:
            room = session.room
            if room is None or room.ended_at is not None:
                return "the room is gone"
            expected = {t for t in session.terminal_ids if t in session.terminals}
            async with gate:
                try:
                    present = await self.devices.presence(room, session)
                except DomainError as exc:
                    log.warning("room %s of %s: %s", room.room_id, session.occurrence_id, exc)
                    return f"the room does not answer ({exc.code})"
                try:  # the census of people by link: a count for the reports, never a fault
                    by_link[session.occurrence_id] = await self.devices.people_by_link(room)
                except DomainError as exc:
                    log.info("room %s of %s: no census: %s", room.room_id, room.occurrence_id, exc)
            if not present and expected:
                return "the room is gone or empty: " + ", ".join(sorted(expected))
            lost = sorted(expected - present)
            return f"dropped out: {', '.join(lost)}" if lost else ""

        reasons = await asyncio.gather(*(missing(s) for s in sessions.values()))
        if any(by_link.values()):
            await asyncio.to_thread(self.store.note_link_peaks, by_link)
        found = {
            s.occurrence_id: reason
            for s, reason in zip(sessions.values(), reasons, strict=True)
            if reason
        }
        if not found:
            return len(sessions), []
        now = self.clock.now()
        degrade = [
            TransitionWrite(
                occurrence_id,
                S.DEGRADED,
                frozenset({S.LIVE}),
                cause="reconciler",
                reason=reason,
                at=now,
            )
            for occurrence_id, reason in found.items()
            if sessions[occurrence_id].state is S.LIVE
        ]
        if degrade:
            await asyncio.to_thread(self.store.transition, degrade, now)
        redial = await asyncio.to_thread(self.store.make_due, list(found), Step.START, now)
        return len(sessions), sorted(redial)
