"""Scheduled delivery: on the first working day of December the Kemerovo coordinator gets
November's report by e-mail (an SMTP server on loopback), as an XLSX attachment — once."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, time

import openpyxl

from adapters.notify.smtp import EmailChannel
from booking.schoolyear import AcademicYear
from booking.services.reports.delivery import first_working_day
from tests.builders import local
from tests.monitor.receivers import Mailbox
from tests.reports.world import build_world, live_november
from tests.storage.region import year_2026
from vks.reports.delivery import ReportDelivery


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def test_the_first_working_day_skips_weekends_and_public_holidays() -> None:
    year: AcademicYear = replace(year_2026(), public_holidays=[date(2027, 3, 1)])

    assert first_working_day(date(2026, 11, 1), year) == date(2026, 11, 2)  # a Sunday first
    assert first_working_day(date(2026, 12, 1), year) == date(2026, 12, 1)
    assert first_working_day(date(2027, 3, 1), year) == date(2027, 3, 2)  # a holiday Monday


async def test_the_coordinator_gets_last_months_report_once_on_the_first_working_day() -> None:
    world = build_world(None)
    live_november(world)
    with world.uow() as uow:
        kemerovo = uow.organisations.get("kemerovo")
        assert kemerovo is not None
        kemerovo.contacts = {"email": "vks@kemerovo-edu.example.ru"}
        uow.organisations.update(kemerovo)
        uow.commit()
    clock = Clock(local(date(2026, 11, 30), time(9, 0)).astimezone(UTC))
    async with Mailbox() as mailbox:
        delivery = ReportDelivery(
            lambda: world.sources,
            EmailChannel("127.0.0.1", mailbox.port, sender="vks@rcc.kuzbass.example.ru"),
            clock,
            every_s=0,
        )
        assert await delivery.run() == []  # the last day of November: nothing due

        clock.at = local(date(2026, 12, 1), time(8, 0)).astimezone(UTC)
        sent = await delivery.run()
        again = await delivery.run()

    assert sent == ["monthly:kemerovo:2026-11"] and again == []
    [(to, message)] = mailbox.messages
    assert to == ["vks@kemerovo-edu.example.ru"]
    assert message["Subject"] == "Ежемесячный отчёт ВКС за 2026-11: Кемеровский городской округ"
    assert message["X-VKS-Event"] == "reports.monthly"
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "monthly-kemerovo-2026-11.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(attached.get_content()))
    title = book["Школы"]["A1"].value
    assert title == "Ежемесячный отчёт: Кемеровский городской округ, ноябрь 2026"
