"""The notifications' parts built from the settings, and their periodic round.

`notify_config` says which channels exist (e-mail when `VKS_SMTP_HOST` is set, the webhook
when `VKS_WEBHOOK_URL` is) and the digest rule; `NotificationRound` is what the API
process runs every `notify_delivery_seconds`: send the outbox, remind of deadlines, and
tell the automation's new lesson facts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from adapters.notify.channel import Channel as ChannelAdapter
from adapters.notify.smtp import EmailChannel
from adapters.notify.webhook import WebhookChannel
from booking.notifications import Channel, DigestRule
from booking.repository import UnitOfWork
from booking.services.notifying import NotifyConfig, send_reminders
from vks.notifications.delivery import OutboxDelivery
from vks.notifications.lessons import LessonFacts
from vks.settings import Settings

log = logging.getLogger(__name__)


def notify_config(settings: Settings) -> NotifyConfig:
    channels: set[Channel] = set()
    if settings.smtp_host:
        channels.add(Channel.EMAIL)
    if settings.webhook_url:
        channels.add(Channel.WEBHOOK)
    return NotifyConfig(
        digest=DigestRule(
            after=settings.notify_digest_after,
            window=timedelta(minutes=settings.notify_digest_window_minutes),
        ),
        channels=frozenset(channels),
        base_url=settings.public_url,
    )


def email_channel(settings: Settings) -> EmailChannel | None:
    if not settings.smtp_host:
        return None
    return EmailChannel(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        use_ssl=settings.smtp_ssl,
        timeout_s=settings.device_timeout_s * 2,
    )


def outbox_delivery(
    settings: Settings, uow_factory: Callable[[], UnitOfWork]
) -> tuple[OutboxDelivery, list[ChannelAdapter]]:
    """The outbox's sender and the channels it owns (to close)."""
    email = email_channel(settings)
    webhook = (
        WebhookChannel(settings.webhook_url, settings.webhook_secret)
        if settings.webhook_url
        else None
    )
    delivery = OutboxDelivery(
        uow_factory,
        email=email,
        webhook=webhook,
        retry_first=timedelta(seconds=settings.notify_retry_first_seconds),
    )
    return delivery, [c for c in (email, webhook) if c is not None]


class NotificationRound:
    """One periodic round: lesson facts told, deadlines reminded, outbox sent."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        delivery: OutboxDelivery,
        config: NotifyConfig,
        lessons: LessonFacts | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.delivery = delivery
        self.config = config
        self.lessons = lessons

    async def run(self, now: datetime) -> int:
        """One round; how many messages went out."""
        if self.lessons is not None:
            try:
                await asyncio.to_thread(self.lessons.pull, now)
            except Exception:
                log.exception("reading the automation's lesson facts failed")
        try:
            await asyncio.to_thread(send_reminders, self.uow_factory(), now=now, config=self.config)
        except Exception:
            log.exception("reminding of deadlines failed")
        return await self.delivery.deliver_due(now)


def inbox_channel(engine: Engine, settings: Settings) -> ChannelAdapter:
    """The monitor's alerts told to people through their inboxes (and chosen channels)."""
    from vks.bootstrap import uow_factory_on
    from vks.notifications.inbox_channel import InboxChannel

    return InboxChannel(uow_factory_on(engine), notify_config(settings), lambda: datetime.now(UTC))
