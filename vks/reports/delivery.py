"""The scheduled delivery of the reports, a periodic job of the automation's runners (the
embedded runner's round and the RQ worker's background loop call `tick`): at most every
`every_s` seconds it asks which reports are due (`booking.services.reports.delivery`),
renders each as XLSX and mails it through the SMTP channel of the settings.

A report is noted as sent before it is mailed, so two workers never both send it; a mail
server that refuses it is logged (the report stays on the API to download)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from adapters.export.xlsx import workbook
from adapters.notify.channel import Attachment, Notice, Recipient
from adapters.notify.smtp import EmailChannel
from booking.services.reports.delivery import DueReport, due_reports
from booking.services.reports.monthly import Sources
from booking.services.reports.tables import tables_of
from vks.automation.clock import Clock
from vks.settings import Settings

log = logging.getLogger(__name__)
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class ReportDelivery:
    def __init__(
        self,
        sources: Callable[[], Sources],
        channel: EmailChannel,
        clock: Clock,
        every_s: float = 600.0,
    ) -> None:
        self.sources = sources
        self.channel = channel
        self.clock = clock
        self.every_s = every_s
        self._last = float("-inf")

    async def tick(self) -> list[str]:
        """Send what is due (if the last look was `every_s` ago); the keys sent."""
        if time.monotonic() - self._last < self.every_s:
            return []
        self._last = time.monotonic()
        try:
            return await self.run()
        except Exception:
            log.exception("the scheduled delivery of the reports failed")
            return []

    async def run(self) -> list[str]:
        now = self.clock.now()
        sources = self.sources()
        due = await asyncio.to_thread(due_reports, sources, now)
        sent = []
        for report in due:
            if not await asyncio.to_thread(sources.store.mark_delivered, report.key, now):
                continue  # another worker took it
            if await self._mail(report):
                sent.append(report.key)
        return sent

    async def _mail(self, due: DueReport) -> bool:
        name = due.key.replace(":", "-") + ".xlsx"
        content = await asyncio.to_thread(workbook, tables_of(due.report))
        notice = Notice(
            "reports." + due.report["report"],
            due.subject,
            due.text,
            attachments=(Attachment(name, content, *XLSX),),
        )
        recipients = [Recipient(due.org.id, str(due.org.kind), e, due.org.name) for e in due.emails]
        deliveries = await self.channel.send(notice, recipients)
        failed = [d for d in deliveries if not d.ok]
        for d in failed:
            log.error("report %s not delivered to %s: %s", due.key, d.recipient, d.error)
        return not failed


def report_delivery(engine: Engine, settings: Settings, clock: Clock) -> ReportDelivery | None:
    """The delivery over `engine`, or None when no SMTP server is configured."""
    if not settings.smtp_host:
        return None
    from adapters.storage.automation import SqlAutomationStore
    from adapters.storage.reports import SqlAvailability, SqlReportStore
    from adapters.storage.unit_of_work import SqlUnitOfWork

    def sources() -> Sources:
        return Sources(
            SqlUnitOfWork(engine, read_only=True),
            SqlAutomationStore(engine),
            SqlReportStore(engine),
            SqlAvailability(engine),
        )

    channel = EmailChannel(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        use_ssl=settings.smtp_ssl,
    )
    return ReportDelivery(sources, channel, clock)


def start_delivery(
    engine: Engine, settings: Settings, clock: Clock, *, every_s: float = 60.0
) -> Callable[[], None]:
    """Run the delivery in a daemon thread of its own (a look every `every_s`, the due
    reports every ten minutes at most); returns how to stop it. Nothing runs without
    an SMTP server in the settings."""
    delivery = report_delivery(engine, settings, clock)
    if delivery is None:
        return lambda: None
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            asyncio.run(delivery.tick())
            stopping.wait(every_s)

    threading.Thread(target=loop, name="vks-report-delivery", daemon=True).start()
    return stopping.set
