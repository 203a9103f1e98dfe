"""Running what is due: claim a batch of plan rows, do their steps concurrently, write
the whole batch's results at once, plan each occurrence's next step.

This is the one job body both runners execute (an RQ job in a worker, or the embedded
loop): it takes no arguments but a batch size, because the truth about what is due is
in the database, not in the queue. A queued job is only a wake-up call; a lost one
(Redis flushed) is re-created by the reconciler, and a duplicate one finds nothing left
to claim.

Per batch, whatever its size: one claim, a few reads of the sessions, one write of the
transitions before the device work (`preparing`, `ending`), one after it (`live`,
`degraded`, `ended` …, with their events), one write of the next steps. A bell's batch of
starts dials for up to ~15 s: the starts judged meanwhile are written every second
(`EarlyWrites`), so a lesson shows `live` when it is, not when the last one is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from booking.automation_store import (
    Applied,
    AutomationStore,
    Claim,
    SessionRecord,
    TransitionWrite,
)
from booking.bookings import OccurrenceState
from booking.lifecycle import ACTIVE, FINAL, WAITING, Step, Window
from vks.automation import end, preflight, start
from vks.automation.clock import Clock
from vks.automation.config import AutomationConfig
from vks.automation.devices import Devices
from vks.automation.outcome import Outcome
from vks.automation.planner import Planner
from vks.automation.stray import StrayCalls

log = logging.getLogger(__name__)
S = OccurrenceState


@dataclass
class DispatchReport:
    claimed: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    applied: list[Applied] = field(default_factory=list)
    confirmed_at: dict[str, datetime] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    next_due: list[datetime] = field(default_factory=list)
    """When the next steps this batch planned fall due (a start after a pre-flight, a
    retry with backoff): a runner that is not polling the plan (RQ) must wake for them."""


class Dispatcher:
    def __init__(
        self,
        store: AutomationStore,
        devices: Devices,
        planner: Planner,
        config: AutomationConfig,
        clock: Clock,
        owner: str,
    ) -> None:
        self.store = store
        self.devices = devices
        self.planner = planner
        self.config = config
        self.clock = clock
        self.owner = owner
        self.stray = StrayCalls(store, devices)
        self.dialling: set[start.TerminalsFirst] = set()
        """The batches of this process whose terminals are still dialling: every batch's
        cameras wait for them (a takeover's starts are not slowed by a bell's cameras)."""
        self.lease_watch: Callable[[datetime], None] | None = None
        """Told when this worker's leases run out if it stops renewing them (the RQ
        runner wakes a worker then: a killed worker's steps are taken over at once)."""

    async def run_due(self, limit: int | None = None) -> DispatchReport:
        """Claim up to `limit` due steps and run them; returns what happened."""
        report = DispatchReport()
        now = self.clock.now()
        claims = await asyncio.to_thread(
            self.store.claim, now, self.owner, self.config.lease, limit or self.config.batch_max
        )
        if not claims:
            return report
        report.claimed = len(claims)
        ids = [c.occurrence_id for c in claims]
        self._watch_lease(now + self.config.lease)
        renewing = asyncio.ensure_future(self._renew(ids))
        try:
            await self._run(claims, report)
        except BaseException as exc:
            log.exception("dispatch of %d steps failed", len(claims))
            await asyncio.to_thread(
                self.store.release,
                ids,
                self.owner,
                self.clock.now(),
                f"{type(exc).__name__}: {exc}",
            )
            raise
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        return report

    async def _renew(self, ids: list[str]) -> None:
        every = min(self.config.heartbeat, self.config.lease / 3).total_seconds()
        while True:
            await asyncio.sleep(every)
            until = self.clock.now() + self.config.lease
            try:
                await asyncio.to_thread(self.store.renew, ids, self.owner, until)
            except Exception:  # a missed beat is not the batch's failure: the next one renews
                log.exception("renewing the leases of %d steps failed", len(ids))
                continue
            self._watch_lease(until)

    def _watch_lease(self, until: datetime) -> None:
        if self.lease_watch is None:
            return
        try:
            self.lease_watch(until)
        except Exception:  # a wake-up for later is a safety net, never a reason to stop
            log.exception("could not ask for a wake-up at the end of the lease")

    async def _run(self, claims: list[Claim], report: DispatchReport) -> None:
        began = time.perf_counter()
        sessions = await asyncio.to_thread(self.store.sessions, [c.occurrence_id for c in claims])
        loaded = time.perf_counter()
        now = self.clock.now()
        to_check: list[tuple[SessionRecord, Claim]] = []
        to_start: list[tuple[SessionRecord, Claim, Window]] = []
        to_end: list[tuple[SessionRecord, Claim]] = []
        befores: list[TransitionWrite] = []
        for claim in claims:
            session = sessions.get(claim.occurrence_id)
            if session is None:
                continue
            win = self.planner.window_of(session)
            step, claim = self._effective(session, claim, win, now)
            report.steps[str(step)] += 1
            if step is Step.PREFLIGHT:
                to_check.append((session, claim))
            elif step is Step.START and win is not None:
                to_start.append((session, claim, win))
                first = start.before(session, claim, now, self.config.late_tolerance)
                if first is not None:
                    befores.append(first)
            elif step is Step.END:
                to_end.append((session, claim))
                first = end.before(session, now)
                if first is not None:
                    befores.append(first)
        if befores:
            applied = await asyncio.to_thread(self.store.transition, befores, now)
            report.applied.extend(applied)
            moved = {a.occurrence_id: a.to_state for a in applied}
            wanted = {b.occurrence_id for b in befores}
            # a session whose first transition lost a race (cancelled meanwhile…) is skipped
            to_start = [
                (replace(s, state=moved[s.occurrence_id]) if s.occurrence_id in moved else s, c, w)
                for s, c, w in to_start
                if s.occurrence_id in moved or s.occurrence_id not in wanted
            ]
            to_end = [
                (replace(s, state=moved[s.occurrence_id]) if s.occurrence_id in moved else s, c)
                for s, c in to_end
                if s.occurrence_id in moved or s.occurrence_id not in wanted
            ]
        prepared = time.perf_counter()
        early = EarlyWrites(self._record, report)
        writing = asyncio.ensure_future(early.keep_writing(EARLY_EVERY_S))
        try:
            results = await asyncio.gather(
                preflight.run(to_check, self.devices, self.store, self.clock),
                start.run(
                    to_start,
                    self.devices,
                    self.config,
                    self.clock,
                    judged=early.add,
                    stray=self.stray.hang_up,
                    dialling=self.dialling,
                ),
                end.run(to_end, self.devices, self.config, self.clock),
            )
        finally:
            await early.stop(writing)
        outcome = Outcome.of([*results, early.rest()])
        worked = time.perf_counter()
        await asyncio.to_thread(self._write, claims, outcome, report)
        log.info(
            "dispatched %d steps (%s): load %.2f s, first transitions %.2f s, devices %.2f s,"
            " write %.2f s",
            len(claims),
            dict(report.steps),
            loaded - began,
            prepared - loaded,
            worked - prepared,
            time.perf_counter() - worked,
        )

    def _effective(
        self, session: SessionRecord, claim: Claim, win: Window | None, now: datetime
    ) -> tuple[Step, Claim]:
        """What a claimed step really means now (the occurrence may have changed, or the
        step may have come too late to be worth doing)."""
        state = session.state
        room_open = session.room_open
        if claim.step is Step.END:
            if state in ACTIVE or state is S.ENDING or (state in FINAL and room_open):
                return Step.END, claim
            return Step.NONE, claim
        if win is None:
            return Step.NONE, claim
        if claim.step is Step.PREFLIGHT:
            if state not in WAITING or session.is_cancelled:
                return Step.NONE, claim  # the planner marks it cancelled
            if now + self.config.timing.preflight_min_ahead >= win.start_at:  # too late: start
                due = win.start_at if claim.due_at < win.start_at else claim.due_at
                claim = Claim(claim.occurrence_id, Step.START, due, 1)
            else:
                return Step.PREFLIGHT, claim
        if claim.step is Step.START and start.can_start(session, win, now):
            return Step.START, claim
        return Step.NONE, claim

    def _write(self, claims: list[Claim], outcome: Outcome, report: DispatchReport) -> None:
        self._record(outcome, report)
        writes = self.planner.plan(
            [c.occurrence_id for c in claims],
            self.clock.now(),
            owner=self.owner,
            forced=outcome.forced,
            errors=outcome.errors,
        )
        report.next_due = sorted({w.due_at for w in writes if w.due_at is not None})

    def _record(self, outcome: Outcome, report: DispatchReport) -> None:
        """Notes, transitions with their events, ended rooms (not the next steps)."""
        now = self.clock.now()
        for note in outcome.notes:
            self.store.note(
                note.occurrence_id,
                note.cause,
                note.reason,
                note.at or now,
                details=note.details,
                at_risk=note.at_risk,
                event=note.event,
            )
        applied = self.store.transition(outcome.transitions, now, events=outcome.events)
        report.applied.extend(applied)
        if outcome.rooms_ended:
            self.store.room_ended(outcome.rooms_ended, now)
        report.confirmed_at.update(outcome.confirmed_at)
        report.errors.update(outcome.errors)


EARLY_EVERY_S = 1.0  # how often the starts judged during a batch are written


class EarlyWrites:
    """Judgements of a batch's starts, written every `every` seconds while the rest of the
    batch works (`record`: notes, transitions, events). What the planner needs at the end
    — retries asked for, errors — is kept for the batch's final write (`rest`)."""

    def __init__(
        self, record: Callable[[Outcome, DispatchReport], None], report: DispatchReport
    ) -> None:
        self._record = record
        self._report = report
        self._pending: list[Outcome] = []
        self._kept = Outcome()
        self._stopping = asyncio.Event()

    def add(self, judged: Outcome) -> None:
        self._pending.append(judged)

    async def keep_writing(self, every: float) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), every)
            if not self._stopping.is_set():
                await self._flush()

    async def _flush(self) -> None:
        pieces, self._pending = self._pending, []
        if not pieces:
            return
        written = Outcome.of(pieces)
        await asyncio.to_thread(self._record, written, self._report)
        self._kept.forced.update(written.forced)
        self._kept.errors.update(written.errors)

    async def stop(self, writing: asyncio.Future[None]) -> None:
        """Stop writing (a write under way finishes first; its failure is raised)."""
        self._stopping.set()
        await writing

    def rest(self) -> Outcome:
        """What was not written yet, and what the planner needs of what was."""
        rest = Outcome(forced=dict(self._kept.forced), errors=dict(self._kept.errors))
        for piece in self._pending:
            rest.merge(piece)
        self._pending = []
        return rest
