"""The health monitor as one running thing: poller, shard leases, transitions, samples,
alerts, lessons at risk, push feedback.

    monitor = Monitor(store, config, channels=channels_from(config.alerts))
    await monitor.start()          # claims shards, loads the roster, starts polling
    ...
    await monitor.stop()           # last flush, shards given back

It runs as `vks monitor` (its own process, `run_forever`), in the worker process or
in-process in embedded mode (`MonitorThread`: a background thread with its own event loop).
Background rounds, each a task of the monitor's event loop:

- leases (a third of the lease): heartbeat, renew, rebalance; the poller follows the shards;
- roster (`roster_s`): devices added, changed, deactivated (→ `unknown`);
- schedule (`schedule_s`): which lessons are on, so a terminal's call can be judged;
- transitions (as they happen, batched by `transitions_s`): stored, then alerted on;
- samples (`flush_s`): last polls and uptime per day, one batched write;
- leader (`risk_s`, and soon after transitions): lessons at risk, alert escalation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from adapters.notify.channel import Channel
from adapters.notify.smtp import EmailChannel
from adapters.notify.webhook import WebhookChannel
from booking.health import Booked, DeviceKey, DeviceKind, HealthState
from booking.health_records import DeviceRecord, StateRow, TransitionWrite
from booking.health_store import HealthStore
from vks.monitor.alerting import AlertDesk
from vks.monitor.config import AlertConfig, MonitorConfig
from vks.monitor.metrics import PollMetrics
from vks.monitor.poller import CheckFactory, Poller, Slot, new_clients, utc_now
from vks.monitor.push import Push
from vks.monitor.recipients import RecipientBook
from vks.monitor.risk import RiskAssessor, RiskReport
from vks.monitor.shards import ShardLeases, shard_of

log = logging.getLogger(__name__)

NOT_MONITORED = "no longer monitored (inactive or removed)"


def channels_from(config: AlertConfig) -> list[Channel]:
    """The notification channels the settings configure (none → alerts are only stored)."""
    channels: list[Channel] = [
        WebhookChannel(url, config.webhook_secret, timeout_s=config.delivery_timeout_s)
        for url in config.webhook_urls
    ]
    if config.smtp is not None:
        smtp = config.smtp
        channels.append(
            EmailChannel(
                smtp.host,
                smtp.port,
                sender=smtp.sender,
                username=smtp.username,
                password=smtp.password,
                starttls=smtp.starttls,
                use_ssl=smtp.use_ssl,
                timeout_s=config.delivery_timeout_s,
            )
        )
    return channels


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Monitor:
    def __init__(
        self,
        store: HealthStore,
        config: MonitorConfig,
        *,
        channels: Sequence[Channel] = (),
        registry: CollectorRegistry | None = None,
        instance: str | None = None,
        now: Callable[[], datetime] = utc_now,
        checks: CheckFactory | None = None,
        back_in_a_call: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.store = store
        self.back_in_a_call = back_in_a_call
        """Told (in a thread) which terminals came back online in a call, once their
        transitions are stored: the automation hangs up those no running lesson explains."""
        self.config = config
        self.now = now
        self.instance = instance or instance_name()
        self.metrics = PollMetrics(registry) if registry is not None else None
        self.clients = new_clients(config)
        self.poller = Poller(config, self.clients, metrics=self.metrics, now=now, checks=checks)
        self.leases = ShardLeases(
            store,
            self.instance,
            shards=config.shards,
            lease=timedelta(seconds=config.lease_s),
            now=now,
        )
        self.alerts = AlertDesk(
            store,
            channels,
            config.alerts,
            recipients=RecipientBook(store, config.alerts),
            metrics=self.metrics,
            now=now,
        )
        self.risk = RiskAssessor(store, config, now)
        self.roster: dict[DeviceKey, DeviceRecord] = {}
        self.last_risk: RiskReport | None = None
        self._dropped: list[Slot] = []
        self._alert_queue: asyncio.Queue[list[TransitionWrite]] | None = None
        self._risk_soon: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._alert_queue = asyncio.Queue()
        self._risk_soon = asyncio.Event()
        await self.lease_round()
        await self.roster_round()
        await self.schedule_round()
        self.poller.start()
        self._tasks = [
            self._spawn(self._every(self.config.lease_s / 3, self.lease_round, "leases")),
            self._spawn(self._every(self.config.roster_s, self.roster_round, "roster")),
            self._spawn(self._every(self.config.schedule_s, self.schedule_round, "schedule")),
            self._spawn(self._every(self.config.flush_s, self.flush, "samples")),
            self._spawn(self._transitions_loop()),
            self._spawn(self._alerts_loop()),
            self._spawn(self._leader_loop()),
        ]
        log.info(
            "monitor %s started: %d devices in %d shards",
            self.instance,
            len(self.poller.slots),
            len(self.leases.owned),
        )

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self.poller.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._dropped.extend(self.poller.update([], {}, self.now()))  # polls nothing now
        with contextlib.suppress(Exception):
            await self.store_transitions()
            await self.flush()
        with contextlib.suppress(Exception):
            await self.leases.leave()
        await self.alerts.aclose()
        await self.clients.aclose()

    async def run_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(self.stop())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return asyncio.create_task(coroutine)

    async def _every(
        self, seconds: float, action: Callable[[], Coroutine[Any, Any, Any]], what: str
    ) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("monitor %s round failed", what)

    # --- shards and roster ---------------------------------------------------------------------
    async def lease_round(self) -> None:
        """Heartbeat, renew, rebalance the shards; the poller follows what we hold."""
        before = self.leases.owned
        try:
            await self.leases.round(self._drop_shards)
        except Exception:
            log.exception("monitor %s: lease round failed", self.instance)
        if self.leases.owned != before:
            self._apply_roster(list(self.roster.values()), await self._stored_states())
        if self.metrics is not None:
            self.metrics.shards.set(len(self.leases.owned))

    def _drop_shards(self, shards: frozenset[int]) -> None:
        """Stop polling these shards' devices (before their leases are given back)."""
        keep = [
            r
            for key, r in self.roster.items()
            if key in self.poller.slots and shard_of(key, self.config.shards) not in shards
        ]
        self._dropped.extend(self.poller.update(keep, {}, self.now()))

    async def _stored_states(self) -> dict[DeviceKey, StateRow]:
        return await asyncio.to_thread(self.store.states)

    async def roster_round(self) -> None:
        """Re-read the devices: new ones are polled, gone ones become unknown."""
        records = await asyncio.to_thread(self.store.roster)
        fresh = {r.key: r for r in records}
        now = self.now()
        for key, slot in list(self.poller.slots.items()):
            if key not in fresh:  # deactivated or removed: nobody watches it any more
                self.poller.force(slot, HealthState.UNKNOWN, NOT_MONITORED, now)
        self.roster = fresh
        self._apply_roster(records, await self._stored_states())

    def _apply_roster(self, records: list[DeviceRecord], stored: dict[DeviceKey, StateRow]) -> None:
        owned = self.leases.owned
        shards = self.config.shards
        mine = [r for r in records if shard_of(r.key, shards) in owned]
        self._dropped.extend(self.poller.update(mine, stored, self.now()))

    async def schedule_round(self) -> None:
        """Tell the poller which lessons are on around now (the call each terminal should
        be in)."""
        now = self.now()
        margin = self.config.call_margin + timedelta(seconds=self.config.schedule_s)
        rows = await asyncio.to_thread(self.store.sessions, now - margin, now + margin)
        sessions: dict[str, list[Booked]] = {}
        for row in rows:
            booked = Booked(row.setup_start, row.start, row.end, row.title)
            for terminal_id in row.terminal_ids:
                sessions.setdefault(terminal_id, []).append(booked)
        self.poller.sessions = sessions

    # --- transitions, samples ------------------------------------------------------------------
    async def _transitions_loop(self) -> None:
        while True:
            await self.poller.wait_transitions(1.0)
            await asyncio.sleep(self.config.transitions_s)  # gather what else flips now
            try:
                await self.store_transitions()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("storing transitions failed")

    async def store_transitions(self) -> None:
        """Store the transitions since the last round, then alert on them; if the store
        fails they are kept for the next round."""
        writes = self.poller.take_transitions()
        if not writes:
            return
        try:
            await asyncio.to_thread(self.store.record, writes)
        except Exception:
            self.poller.requeue(writes)  # keep them for the next round
            raise
        if self._alert_queue is not None:
            self._alert_queue.put_nowait(writes)
        if self._risk_soon is not None:
            self._risk_soon.set()
        back = [w.device_id for w in writes if w.back_in_a_call]
        if back and self.back_in_a_call is not None:
            try:
                await asyncio.to_thread(self.back_in_a_call, back)
            except Exception:  # the automation's business; the monitor goes on
                log.exception("handing terminals back in a call to the automation failed")

    async def _alerts_loop(self) -> None:
        assert self._alert_queue is not None
        while True:
            writes = await self._alert_queue.get()
            await self.alerts.on_transitions(writes, self.roster)

    async def flush(self) -> None:
        """Write the aggregated samples (last polls, uptime per day) in one batch."""
        dropped, self._dropped = self._dropped, []
        seen, uptime = self.poller.take_samples(self.now(), dropped)
        await asyncio.to_thread(self.store.flush, seen, uptime)
        if self.metrics is not None:
            self.metrics.set_polled(self.poller.state_counts())

    # --- the leader's rounds ------------------------------------------------------------------
    async def _leader_loop(self) -> None:
        assert self._risk_soon is not None
        event = self._risk_soon
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.risk_s):
                    await event.wait()
            event.clear()
            await asyncio.sleep(self.config.transitions_s)
            if not self.leases.leader:
                continue
            try:
                if self._polled_everything_once():
                    self.last_risk = await asyncio.to_thread(self.risk.run)
                await self.alerts.escalate_due(self.roster)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leader round failed")
            await asyncio.sleep(self.config.risk_gap_s)

    def _polled_everything_once(self) -> bool:
        return all(self.poller.cycles[k] > 0 for k in DeviceKind)

    async def assess_risk(self) -> RiskReport:
        """Recompute lessons at risk now (tests, operators)."""
        self.last_risk = await asyncio.to_thread(self.risk.run)
        return self.last_risk

    # --- push feedback ----------------------------------------------------------------------------
    def push(self, terminal_id: str, news: Push) -> bool:
        """A terminal told us something: note its call state and poll it now. False if
        this monitor does not poll that terminal."""
        key = (DeviceKind.TERMINAL, terminal_id)
        slot = self.poller.slots.get(key)
        if slot is None:
            return False
        if news.in_call is not None:
            slot.in_call = news.in_call
        return self.poller.nudge(key)
