"""The monitor's alerts in people's inboxes: a notification channel of the alert desk
(`vks.monitor.alerting`) that turns each alert message into a `DeviceAlerted` event told
by the notification service — to the coordinator of the device's school and the
administrator of its network, with the alert's words (device name, school, what to do),
through the channels each of them chose.

The alert desk awaits its channels while it handles a device's transition (and the
monitor's store may hold the database meanwhile), so this channel never writes on the
desk's time: it hands the event to its own worker thread and answers at once; the worker
writes when the database is free. A failure there is logged (the alert itself stays
stored and e-mailed by the desk's other channels)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from adapters.notify.channel import Delivery, Notice, Recipient
from booking.events import DeviceAlerted
from booking.repository import UnitOfWork
from booking.services.notifying import NotifyConfig, notify_event

log = logging.getLogger(__name__)


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
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="inbox-channel")

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
        self._worker.submit(self._tell, event, at)
        return [Delivery(self.name, "queued", True)]

    def _tell(self, event: DeviceAlerted, at: datetime) -> None:
        try:
            notify_event(self.uow_factory(), event, now=at, config=self.config)
        except Exception:
            log.exception("telling people of alert %s failed", event.alert_id)

    def drain(self) -> None:
        """Wait until every alert handed over so far is told (tests, shutdown)."""
        self._worker.submit(lambda: None).result()

    async def aclose(self) -> None:
        self._worker.shutdown(wait=False)
