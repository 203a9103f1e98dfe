"""The monitor's alerts in people's inboxes: a notification channel of the alert desk
(`vks.monitor.alerting`) that turns each alert message into a `DeviceAlerted` event told
by the notification service — to the coordinator of the device's school and the
administrator of its network, with the alert's words (device name, school, what to do),
through the channels each of them chose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from adapters.notify.channel import Delivery, Notice, Recipient
from booking.events import DeviceAlerted
from booking.repository import UnitOfWork
from booking.services.notifying import NotifyConfig, notify_event


class InboxChannel:
    name = "inbox"

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        config: NotifyConfig,
        now: Callable[[], datetime],
    ) -> None:
        self.uow_factory = uow_factory
        self.config = config
        self.now = now

    async def send(self, notice: Notice, recipients: Sequence[Recipient]) -> list[Delivery]:
        device = notice.data.get("device") or {}
        at = self.now()
        event = DeviceAlerted(
            alert_id=str(notice.data.get("alert_id", "")),
            event=notice.event,
            site_id=str(device.get("site_id") or ""),
            subject=notice.subject,
            text=notice.text,
            at=at.isoformat(),
        )
        told = await asyncio.to_thread(
            notify_event, self.uow_factory(), event, now=at, config=self.config
        )
        return [Delivery(self.name, item.user_id, True) for item in told]

    async def aclose(self) -> None:
        return None
