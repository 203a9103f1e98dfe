"""The poll engine: every device of the roster, on its kind's interval, asynchronously.

- One shared probe client serves every device (a fresh connection per request: with ten
  thousand origins polled every 30 s a pool has nothing to reuse, see
  `adapters.probe.http`), the conference servers share one pooled httpx client. Each
  kind's cycle runs its share of `concurrency` workers (by device count), so all cycles
  together keep at most `concurrency` polls in flight; every poll has a time limit.
- A cycle is a fixed pool of worker coroutines pulling devices from one iterator: no task,
  probe or record is created per device per cycle (a `Slot` lives as long as the device
  stays in the roster).
- While a device's state is settling (a first failure, a first answer of a down device)
  it is polled again after `confirm_s` rather than a whole interval later, so `down` comes
  within one interval plus (N−1)·confirm_s of the fault, and hysteresis still holds.
- Only transitions are handed on as they happen; samples (last poll, uptime per day) are
  aggregated in memory and taken in bulk by `take_samples` for a batched write.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from adapters.probe.http import HttpProbeClient
from booking.health import (
    Booked,
    CallExpectation,
    DeviceHealth,
    DeviceKey,
    DeviceKind,
    HealthState,
    Observation,
    UptimeLedger,
    current_session,
    expected_call,
)
from booking.health_records import DeviceRecord, SeenWrite, StateRow, TransitionWrite, UptimeWrite
from vks.monitor.checks import Check, Clients, Expectation, build_check
from vks.monitor.config import MonitorConfig
from vks.monitor.metrics import PollMetrics

log = logging.getLogger(__name__)

CheckFactory = Callable[[DeviceRecord, Expectation], Check]
"""Makes the check of a device, given what call it should be in (default: `build_check`
over the shared clients; specifications pass scripted ones)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_clients(config: MonitorConfig) -> Clients:
    """The clients every check shares: the probes' (a connection per request, see
    `adapters.probe.http`), and one pooled httpx client for the conference servers."""
    return Clients(
        probes=HttpProbeClient(timeout_s=config.timeout_s),
        servers=httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 3.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            trust_env=False,
            follow_redirects=False,
        ),
    )


class Slot:
    """One device as the poller keeps it between cycles."""

    __slots__ = (
        "busy",
        "check",
        "health",
        "in_call",
        "last_poll_at",
        "ledger",
        "polled",
        "record",
        "rtt_ms",
    )

    def __init__(self, record: DeviceRecord, check: Check, health: DeviceHealth) -> None:
        self.record = record
        self.check = check
        self.health = health
        self.ledger = UptimeLedger()
        self.last_poll_at: datetime | None = None
        self.rtt_ms: float | None = None
        self.in_call: bool | None = None
        self.polled = False  # since the last take_samples
        self.busy = False


class Poller:
    def __init__(
        self,
        config: MonitorConfig,
        clients: Clients,
        *,
        metrics: PollMetrics | None = None,
        now: Any = utc_now,
        checks: CheckFactory | None = None,
    ) -> None:
        self.config = config
        self.clients = clients
        self._make_check = checks or self._build_check
        self.metrics = metrics
        self.now = now
        self.slots: dict[DeviceKey, Slot] = {}
        self._by_kind: dict[DeviceKind, list[Slot]] = {k: [] for k in DeviceKind}
        self.sessions: dict[str, list[Booked]] = {}
        """Terminal id → the live-link sessions around now (set by the monitor)."""
        self._transitions: list[TransitionWrite] = []
        self._transition_event: asyncio.Event | None = None
        self._confirm: list[tuple[float, int, Slot]] = []
        self._confirm_event: asyncio.Event | None = None
        self._seq = itertools.count()
        self._semaphore: asyncio.Semaphore | None = None
        self._day: date | None = None
        self._day_starts: datetime | None = None
        self._day_ends: datetime | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.last_cycle: dict[DeviceKind, float] = {}
        self.cycles: dict[DeviceKind, int] = dict.fromkeys(DeviceKind, 0)
        self._grace = config.call_grace
        self._margin = config.call_margin

    # --- the roster --------------------------------------------------------------------------
    def update(
        self,
        records: Iterable[DeviceRecord],
        stored: Mapping[DeviceKey, StateRow],
        at: datetime | None = None,
    ) -> list[Slot]:
        """Poll exactly these devices from now on; returns the slots dropped (their time
        is accounted up to `at`, for a last flush)."""
        at = at or self.now()
        zone = self.config.time_zone
        wanted = {r.key: r for r in records}
        dropped: list[Slot] = []
        for key in list(self.slots):
            if key not in wanted:
                gone = self.slots.pop(key)
                gone.ledger.account(gone.health.state, at, zone)
                dropped.append(gone)
        for key, record in wanted.items():
            slot = self.slots.get(key)
            if slot is None:
                row = stored.get(key)
                health = DeviceHealth()
                if row is not None:
                    health.state, health.since, health.cause = row.state, row.since, row.cause
                slot = Slot(record, self._check(record), health)
                slot.ledger.accounted_until = at
                self.slots[key] = slot
            elif slot.record != record:
                slot.record = record
                slot.check = self._check(record)
        for kind in DeviceKind:
            self._by_kind[kind] = [s for s in self.slots.values() if s.record.kind is kind]
        return dropped

    def _check(self, record: DeviceRecord) -> Check:
        def expectation(at: datetime) -> tuple[CallExpectation, Booked | None]:
            return self.expected(record.id, at)

        return self._make_check(record, expectation)

    def _build_check(self, record: DeviceRecord, expectation: Expectation) -> Check:
        return build_check(record, self.clients, self.config.limits, expectation)

    def expected(self, terminal_id: str, at: datetime) -> tuple[CallExpectation, Booked | None]:
        sessions = self.sessions.get(terminal_id)
        if not sessions:
            if self.config.flag_unexpected_calls:
                return CallExpectation.IDLE, None
            return CallExpectation.EITHER, None
        expected = expected_call(at, sessions, grace=self._grace, margin=self._margin)
        if expected is CallExpectation.IDLE and not self.config.flag_unexpected_calls:
            expected = CallExpectation.EITHER
        session = (
            current_session(at, sessions, self._grace)
            if expected is CallExpectation.IN_CALL
            else None
        )
        return expected, session

    # --- polling -------------------------------------------------------------------------------
    def _confirm_slots(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(max(8, self.config.concurrency // 10))
        return self._semaphore

    def workers_for(self, kind: DeviceKind) -> int:
        """A kind's share of the concurrency, by its number of devices: the cycles of all
        kinds together keep at most `concurrency` polls in flight (plus one per kind)."""
        count = len(self._by_kind[kind])
        total = len(self.slots) or 1
        return min(count, max(1, self.config.concurrency * count // total))

    async def cycle(self, kind: DeviceKind) -> float:
        """Poll every device of a kind once; returns the cycle's duration in seconds."""
        started = time.perf_counter()
        slots = self._by_kind[kind]
        if slots:
            pending = iter(list(slots))

            async def worker() -> None:
                for slot in pending:
                    if self.slots.get(slot.record.key) is slot:  # still ours
                        await self.poll(slot)

            await asyncio.gather(*(worker() for _ in range(self.workers_for(kind))))
        elapsed = time.perf_counter() - started
        self.last_cycle[kind] = elapsed
        self.cycles[kind] += 1
        if self.metrics is not None:
            self.metrics.cycle_seconds.labels(kind.value).set(elapsed)
        return elapsed

    async def poll(self, slot: Slot) -> None:
        """Poll one device now (the caller bounds the concurrency) and judge the answer."""
        if slot.busy:
            return
        slot.busy = True
        try:
            started = time.perf_counter()
            try:
                obs = await slot.check(self.now())
            except TimeoutError:
                obs = Observation(failure="no answer in time")
            except Exception as exc:  # a bug in a probe must not stop the monitor
                log.exception("probe of %s %s failed", slot.record.kind, slot.record.id)
                obs = Observation(failure=f"probe error: {type(exc).__name__}")
            elapsed = time.perf_counter() - started
            self._apply(slot, obs, self.now(), elapsed)
        finally:
            slot.busy = False

    async def _confirm_poll(self, slot: Slot) -> None:
        async with self._confirm_slots():
            await self.poll(slot)

    def _apply(self, slot: Slot, obs: Observation, at: datetime, elapsed: float) -> None:
        health = slot.health
        kind = slot.record.kind
        transition = health.observe(obs, at, self.config.hysteresis)
        failed = bool(obs.failure)
        slot.ledger.poll_on(self._local_day(at), failed, obs.rtt_ms)
        if transition is not None:
            slot.ledger.account(transition.from_state, at, self.config.time_zone)
            self._transitions.append(
                TransitionWrite(kind, slot.record.id, transition, _details(obs))
            )
            if self._transition_event is not None:
                self._transition_event.set()
            if self.metrics is not None:
                self.metrics.transitions.labels(kind.value, transition.to_state.value).inc()
        slot.last_poll_at = at
        if obs.rtt_ms is not None:
            slot.rtt_ms = obs.rtt_ms
        if obs.in_call is not None or failed:
            slot.in_call = obs.in_call
        slot.polled = True
        if health.settling:
            self.soon(slot, self.config.confirm_s)
        if self.metrics is not None:
            self.metrics.stats.observe(kind, elapsed, obs.level)

    def _local_day(self, at: datetime) -> date:
        """The local date of `at` (cached for the day; bounds kept in UTC, whose
        comparisons skip the time zone's offset lookups)."""
        day, starts, ends = self._day, self._day_starts, self._day_ends
        if day is not None and starts is not None and ends is not None and starts <= at < ends:
            return day
        zone = self.config.time_zone
        self._day = day = at.astimezone(zone).date()
        self._day_starts = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        self._day_ends = datetime.combine(
            day + timedelta(days=1), datetime.min.time(), tzinfo=zone
        ).astimezone(UTC)
        return day

    def soon(self, slot: Slot, delay_s: float) -> None:
        """Poll this device again after `delay_s` (a confirmation, or a push to follow up)."""
        heapq.heappush(self._confirm, (time.monotonic() + delay_s, next(self._seq), slot))
        if self._confirm_event is not None:
            self._confirm_event.set()

    def nudge(self, key: DeviceKey) -> bool:
        """Poll a device now (it pushed news about itself); False if not ours."""
        slot = self.slots.get(key)
        if slot is None:
            return False
        self.soon(slot, 0.0)
        return True

    # --- handing on what happened ----------------------------------------------------------
    def take_transitions(self) -> list[TransitionWrite]:
        taken, self._transitions = self._transitions, []
        return taken

    def requeue(self, writes: list[TransitionWrite]) -> None:
        """Give back transitions that could not be stored (they go first next time)."""
        self._transitions[:0] = writes

    def force(self, slot: Slot, state: HealthState, cause: str, at: datetime) -> None:
        """Move a device out of the hysteresis (taken out of service → unknown)."""
        before = slot.health.state
        transition = slot.health.force(state, at, cause)
        if transition is not None:
            slot.ledger.account(before, at, self.config.time_zone)
            self._transitions.append(TransitionWrite(slot.record.kind, slot.record.id, transition))

    def take_samples(
        self, at: datetime, extra: Iterable[Slot] = ()
    ) -> tuple[list[SeenWrite], list[UptimeWrite]]:
        """Latest polls and per-day time of every device (and of `extra`, dropped slots)."""
        zone = self.config.time_zone
        seen: list[SeenWrite] = []
        uptime: list[UptimeWrite] = []
        for slot in itertools.chain(self.slots.values(), extra):
            record, health = slot.record, slot.health
            slot.ledger.account(health.state, at, zone)
            for day, figures in slot.ledger.drain().items():
                uptime.append(UptimeWrite(record.kind, record.id, day, figures))
            if slot.polled:
                slot.polled = False
                seen.append(
                    SeenWrite(
                        record.kind,
                        record.id,
                        health.state,
                        health.since,
                        health.cause,
                        slot.last_poll_at,
                        slot.rtt_ms,
                        slot.in_call,
                    )
                )
        return seen, uptime

    def state_counts(self) -> dict[tuple[DeviceKind, HealthState], int]:
        counts: dict[tuple[DeviceKind, HealthState], int] = {}
        for slot in self.slots.values():
            key = (slot.record.kind, slot.health.state)
            counts[key] = counts.get(key, 0) + 1
        return counts

    # --- running ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the per-kind loops and the confirmation loop in the running event loop."""
        self._transition_event = asyncio.Event()
        self._confirm_event = asyncio.Event()
        self._tasks = [asyncio.create_task(self._kind_loop(k)) for k in DeviceKind]
        self._tasks.append(asyncio.create_task(self._confirm_loop()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def wait_transitions(self, timeout_s: float) -> None:
        event = self._transition_event
        if event is None:
            await asyncio.sleep(timeout_s)
            return
        try:
            async with asyncio.timeout(timeout_s):
                await event.wait()
        except TimeoutError:
            return
        event.clear()

    async def _kind_loop(self, kind: DeviceKind) -> None:
        interval = self.config.interval(kind)
        next_start = time.monotonic()
        while True:
            try:
                await self.cycle(kind)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("poll cycle of %ss failed", kind)
            next_start += interval
            delay = next_start - time.monotonic()
            if delay < 0:  # the cycle overran its interval: start the next one now
                next_start = time.monotonic()
                delay = 0.0
            await asyncio.sleep(delay)

    async def _confirm_loop(self) -> None:
        assert self._confirm_event is not None
        event = self._confirm_event
        running: set[asyncio.Task[None]] = set()
        while True:
            now = time.monotonic()
            while self._confirm and self._confirm[0][0] <= now:
                _, _, slot = heapq.heappop(self._confirm)
                if self.slots.get(slot.record.key) is slot:
                    task = asyncio.create_task(self._confirm_poll(slot))
                    running.add(task)
                    task.add_done_callback(running.discard)
            wait = self._confirm[0][0] - now if self._confirm else 3600.0
            event.clear()
            try:
                async with asyncio.timeout(max(0.0, wait)):
                    await event.wait()
            except TimeoutError:
                pass


def _details(obs: Observation) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if obs.problems:
        details["problems"] = list(obs.problems)
    if obs.rtt_ms is not None:
        details["rtt_ms"] = round(obs.rtt_ms, 1)
    if obs.in_call is not None:
        details["in_call"] = obs.in_call
    return details
