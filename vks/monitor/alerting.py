"""Alerts: one per problem episode of a device, told to the people responsible for it,
escalated until somebody acknowledges it.

- A device going `down` (or `degraded`, if configured) opens an alert and notifies level 0
  (its school, network, the RCC). While it stays unresolved, further transitions update it:
  getting worse (degraded → down) notifies again, anything else does not.
- The device back `ok` resolves the alert and says so once.
- Deduplication against flapping: a device failing again within `reopen_window` of its
  last recovery reopens that alert *silently* (its `flaps` count grows), and resolving a
  reopened alert is silent too. Together with the state hysteresis, a flapping device
  gives one alert and at most two messages per window, however often it flips.
- Escalation: an alert nobody acknowledged `escalate_after` its last notification goes one
  level up (compare-and-set in the database, so of several monitors exactly one sends),
  and everyone up to that level is told — but never as a device's third message within
  `reopen_window` (`MESSAGES_PER_WINDOW`): a flapping device's escalation waits until its
  earlier messages are that old.
- Acknowledging (API) stops escalation; the alert still resolves with the device.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from adapters.notify.channel import Channel, Delivery, Notice, Recipient
from booking.health import DeviceKey, HealthState
from booking.health_records import AlertRow, DeviceRecord, NotificationRow, TransitionWrite
from booking.health_store import AlertStore
from vks.monitor.config import AlertConfig
from vks.monitor.metrics import PollMetrics
from vks.monitor.recipients import RecipientBook
from vks.monitor.wording import KIND_WORDS, STATE_WORDS, WHAT_TO_DO, display_name
from vks.web.i18n import reason as said_as

log = logging.getLogger(__name__)

OPENED = "opened"
WORSE = "worse"
ESCALATED = "escalated"
RESOLVED = "resolved"

MESSAGES_PER_WINDOW = 2
"""At most this many messages about one alert within `AlertConfig.reopen_window`."""


def messages_since(rows: Sequence[NotificationRow], since: datetime) -> int:
    """How many messages these notification rows record from `since` on (one message
    reaches several channels and recipients at one instant)."""
    return len({row.at for row in rows if row.at >= since})


_EVENT_WORDS = {
    OPENED: "",
    WORSE: "стало хуже: ",
    ESCALATED: "не подтверждено, эскалация: ",
    RESOLVED: "",
}


class AlertDesk:
    def __init__(
        self,
        store: AlertStore,
        channels: Sequence[Channel],
        config: AlertConfig,
        *,
        recipients: RecipientBook,
        metrics: PollMetrics | None = None,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.channels = list(channels)
        self.config = config
        self.recipients = recipients
        self.metrics = metrics
        self.now = now
        self._sending = asyncio.Semaphore(8)

    # --- transitions ---------------------------------------------------------------------------
    async def on_transitions(
        self, writes: Sequence[TransitionWrite], records: Mapping[DeviceKey, DeviceRecord]
    ) -> None:
        for write in writes:
            record = records.get((write.kind, write.device_id))
            try:
                await self._on_transition(write, record)
            except Exception:
                log.exception("alerting on %s %s failed", write.kind, write.device_id)

    async def _on_transition(self, write: TransitionWrite, record: DeviceRecord | None) -> None:
        t = write.transition
        kind, device_id = write.kind, write.device_id
        alarming = t.to_state is HealthState.DOWN or (
            t.to_state is HealthState.DEGRADED and self.config.alert_on_degraded
        )
        current = await asyncio.to_thread(self.store.open_alert, kind, device_id)
        if alarming:
            if current is not None:
                await asyncio.to_thread(
                    self.store.update_alert, current.id, t.to_state, t.cause, t.at
                )
                if t.to_state.severity > current.severity.severity and current.flaps == 0:
                    updated = await asyncio.to_thread(self.store.alert, current.id)
                    if updated is not None:
                        await self._notify(updated, WORSE, record)
                return
            recent = await asyncio.to_thread(
                self.store.last_resolved, kind, device_id, t.at - self.config.reopen_window
            )
            if recent is not None and await asyncio.to_thread(
                self.store.reopen, recent.id, t.to_state, t.cause, t.at
            ):
                log.info("%s %s failing again: alert %s reopened", kind, device_id, recent.id)
                return
            org_path = record.org_path if record is not None else ""
            alert = await asyncio.to_thread(
                self.store.open_new_alert, kind, device_id, t.to_state, t.cause, org_path, t.at
            )
            await self._notify(alert, OPENED, record)
            return
        if current is None:
            return
        cause = t.cause if t.to_state is HealthState.OK else f"{t.to_state}: {t.cause}"
        if not await asyncio.to_thread(self.store.resolve, current.id, t.at, cause):
            return
        if t.to_state is HealthState.OK and current.flaps == 0 and current.notified_at:
            resolved = await asyncio.to_thread(self.store.alert, current.id)
            if resolved is not None:
                await self._notify(resolved, RESOLVED, record)

    # --- escalation -----------------------------------------------------------------------------
    async def escalate_due(self, records: Mapping[DeviceKey, DeviceRecord]) -> int:
        """Escalate every unacknowledged alert whose last notice is old enough."""
        now = self.now()
        due = await asyncio.to_thread(
            self.store.due_escalations,
            now - self.config.escalate_after,
            self.recipients.max_level,
        )
        sent = 0
        for alert in due:
            told = await asyncio.to_thread(self.store.notifications, alert.id)
            if messages_since(told, now - self.config.reopen_window) >= MESSAGES_PER_WINDOW:
                continue  # a flapping device: opened and resolved lately; escalate later
            if await asyncio.to_thread(self.store.escalate, alert.id, alert.level, now):
                escalated = await asyncio.to_thread(self.store.alert, alert.id)
                if escalated is not None:
                    await self._notify(
                        escalated, ESCALATED, records.get((alert.kind, alert.device_id))
                    )
                    sent += 1
        return sent

    # --- notifying --------------------------------------------------------------------------------
    async def _notify(self, alert: AlertRow, event: str, record: DeviceRecord | None) -> None:
        if not self.channels:
            return
        recipients = await asyncio.to_thread(self.recipients.for_path, alert.org_path, alert.level)
        notice = notice_for(alert, event, record, recipients)
        async with self._sending:
            results = await asyncio.gather(
                *(self._send(channel, notice, recipients) for channel in self.channels)
            )
        at = self.now()
        rows = [
            NotificationRow(
                alert.id,
                at,
                event,
                alert.level,
                d.channel,
                d.recipient,
                "sent" if d.ok else "failed",
                d.error,
            )
            for deliveries in results
            for d in deliveries
        ]
        await asyncio.to_thread(self.store.log_notifications, rows)
        await asyncio.to_thread(self.store.mark_notified, alert.id, at)
        if self.metrics is not None:
            for row in rows:
                self.metrics.notifications.labels(row.channel, row.status).inc()

    async def _send(
        self, channel: Channel, notice: Notice, recipients: Sequence[Recipient]
    ) -> list[Delivery]:
        try:
            async with asyncio.timeout(self.config.delivery_timeout_s):
                return await channel.send(notice, recipients)
        except TimeoutError:
            return [Delivery(channel.name, "", False, "timed out")]
        except Exception as exc:  # a channel must not break alerting
            log.exception("channel %s failed", channel.name)
            return [Delivery(channel.name, "", False, f"{type(exc).__name__}: {exc}")]

    async def aclose(self) -> None:
        for channel in self.channels:
            await channel.aclose()


def notice_for(
    alert: AlertRow, event: str, record: DeviceRecord | None, recipients: Sequence[Recipient]
) -> Notice:
    what = KIND_WORDS[alert.kind]
    shown = display_name(record) if record is not None else ""
    name = f" «{shown}»" if shown else ""
    where = f" ({record.site_name})" if record is not None and record.site_name else ""
    state = HealthState.OK if event == RESOLVED else alert.severity
    headline = f"{_EVENT_WORDS[event]}{what} {alert.device_id}{name}{where} {STATE_WORDS[state]}"
    lines = [
        headline,
        "",
        f"Причина: {said_as(alert.cause, 'ru')}",
        f"Открыто: {alert.opened_at:%Y-%m-%d %H:%M:%S} UTC",
    ]
    if alert.flaps:
        lines.append(f"Повторных сбоев: {alert.flaps}")
    if event == ESCALATED:
        lines.append(f"Уровень эскалации: {alert.level}")
    if event != RESOLVED:
        todo = WHAT_TO_DO[alert.kind].replace("{id}", alert.device_id)
        lines.append(f"Что делать: {todo}")
        lines.append(f"Подтвердите получение: POST /api/v1/monitor/alerts/{alert.id}/ack")
    return Notice(
        event=event,
        subject=f"[ВКС] {headline}",
        text="\n".join(lines) + "\n",
        data={
            "alert_id": alert.id,
            "device": {
                "kind": alert.kind.value,
                "id": alert.device_id,
                "name": shown,
                "site_id": record.site_id if record is not None else None,
                "site_name": record.site_name if record is not None else "",
            },
            "what_to_do": WHAT_TO_DO[alert.kind].replace("{id}", alert.device_id)
            if event != RESOLVED
            else "",
            "severity": alert.severity.value,
            "state": state.value,
            "cause": alert.cause,
            "opened_at": alert.opened_at.isoformat(),
            "level": alert.level,
            "flaps": alert.flaps,
            "recipients": len(recipients),
        },
    )
