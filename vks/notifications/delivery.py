"""Sending the notification outbox: e-mail through the SMTP channel, calls to the webhook.

Each round claims the due deliveries (a claim holds them for `HOLD`, so two processes never
send one twice at once), sends them, and records the outcome: sent, or failed with the
error and the next try after a growing pause (`booking.lifecycle.backoff`) — never dropped.
A person's e-mails that wait for their digest go out together as one message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from adapters.notify.channel import Channel, Notice, Recipient
from booking.lifecycle import backoff
from booking.notifications import Channel as Via
from booking.notifications import Delivery, digest_message
from booking.repository import UnitOfWork

log = logging.getLogger(__name__)

HOLD = timedelta(minutes=2)
RETRY_MAX = timedelta(hours=1)


class OutboxDelivery:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        email: Channel | None,
        webhook: Channel | None,
        retry_first: timedelta = timedelta(seconds=30),
    ) -> None:
        self.uow_factory = uow_factory
        self.channels: dict[Via, Channel | None] = {Via.EMAIL: email, Via.WEBHOOK: webhook}
        self.retry_first = retry_first

    def _claim(self, now: datetime, limit: int) -> list[Delivery]:
        with self.uow_factory() as uow:
            claimed = uow.notifications.claim_due(now, HOLD, limit)
            uow.commit()
            return claimed

    def _record(self, now: datetime, sent: list[str], failed: dict[str, tuple[int, str]]) -> None:
        with self.uow_factory() as uow:
            uow.notifications.sent(sent, now)
            for id, (attempts, error) in failed.items():
                retry = now + backoff(attempts + 1, self.retry_first, RETRY_MAX)
                uow.notifications.failed(id, retry, error)
            uow.commit()

    async def deliver_due(self, now: datetime, limit: int = 200) -> int:
        """Send what is due; how many deliveries went out."""
        claimed = await asyncio.to_thread(self._claim, now, limit)
        if not claimed:
            return 0
        batches: list[list[Delivery]] = []
        digests: dict[str, list[Delivery]] = {}
        for delivery in claimed:
            if delivery.digest and delivery.attempts == 0:
                digests.setdefault(delivery.user_id, []).append(delivery)
            else:
                batches.append([delivery])
        batches += digests.values()
        outcomes = await asyncio.gather(*(self._send(batch) for batch in batches))
        sent: list[str] = []
        failed: dict[str, tuple[int, str]] = {}
        for batch, error in zip(batches, outcomes, strict=True):
            for delivery in batch:
                if error is None:
                    sent.append(delivery.id)
                else:
                    failed[delivery.id] = (delivery.attempts, error)
                    log.warning("notification %s by %s failed: %s", delivery.id,
                                delivery.channel, error)  # fmt: skip
        await asyncio.to_thread(self._record, now, sent, failed)
        return len(sent)

    async def _send(self, batch: Sequence[Delivery]) -> str | None:
        """Send one message (a single delivery or a digest); the error, or None."""
        first = batch[0]
        channel = self.channels.get(first.channel)
        if channel is None:
            return f"the {first.channel} channel is not configured"
        if len(batch) > 1 or first.digest:
            subject, text = digest_message(batch)
            data = {"digest": [d.data for d in batch]}
        else:
            subject, text, data = first.subject, first.text, first.data
        event = "notification.digest" if len(batch) > 1 else f"notification.{first.kind}"
        notice = Notice(event=event, subject=subject, text=text, data=data)
        user = first.data.get("user", {})
        recipient = Recipient(
            org_id=str(first.data.get("org_id", "")),
            role=str(user.get("role", "")),
            email=first.address,
            name=str(user.get("username", "")),
        )
        try:
            results = await channel.send(notice, [recipient])
        except Exception as exc:  # a channel must not raise; if one does, retry later
            return f"{type(exc).__name__}: {exc}"
        if not results:
            return "no address to deliver to"
        errors = [r.error or "refused" for r in results if not r.ok]
        return "; ".join(errors) if errors else None
