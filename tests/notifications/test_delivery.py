"""Notifications leave the process: the outbox is sent to an SMTP server and a webhook
receiver started by the test, a failure is recorded and retried (never lost), a person's
flood arrives as one digest, a monitor alert reaches the school's inbox, and the
automation's lesson facts (a lesson degraded, a class sent to a backup terminal in another
room) reach the schools' inboxes, urgently. On memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.notify.channel import Notice as AlertNotice
from adapters.notify.smtp import EmailChannel
from adapters.notify.webhook import WebhookChannel, verify
from booking.access import Role
from booking.automation_memory import MemoryAutomationStore
from booking.automation_store import STATE_CHANGED, TERMINAL_SWITCHED, NewEvent
from booking.messagebus import MessageBus
from booking.notices import Notice
from booking.notifications import Channel, DigestRule
from booking.repository import UnitOfWork
from booking.services import notifying
from booking.services.bookings import cancel_booking, create_booking
from booking.users import User
from tests.booking.kuzbass import BEFORE_YEAR, Region
from tests.booking.test_invitations import across_networks
from tests.monitor.receivers import Mailbox, WebhookReceiver
from vks.notifications.delivery import OutboxDelivery
from vks.notifications.inbox_channel import InboxChannel
from vks.notifications.lessons import LessonFacts

UowFactory = Callable[[], UnitOfWork]
NOW = BEFORE_YEAR
SECRET = "webhook-secret-of-the-rcc"
CONFIG = notifying.NotifyConfig(
    digest=DigestRule(after=2, window=timedelta(minutes=10)),
    base_url="https://vks.kuzbass.example.ru",
)
BY_EMAIL = replace(CONFIG, channels=frozenset({Channel.EMAIL}))


@pytest.fixture
def people(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow:
        uow.users.add(
            User(
                "coord-nvk-5",
                "coord-nvk-5",
                "-",
                Role.LOCAL_COORDINATOR,
                "nvk-school-5",
                email="coord@nvk5.example.ru",
            )
        )
        uow.users.add(
            User(
                "coord-kem-20",
                "coord-kem-20",
                "-",
                Role.LOCAL_COORDINATOR,
                "kem-school-20",
                email="coord@kem20.example.ru",
            )
        )
        uow.commit()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.usefixtures("people")
async def test_a_cancelled_lesson_reaches_the_inbox_an_smtp_server_and_a_webhook(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    notifying.subscribe(bus, uow_factory, lambda: NOW, CONFIG)
    created = create_booking(uow_factory(), region.network_admin, across_networks(), now=NOW)
    cancel_booking(uow_factory(), region.rcc, created.booking.id, now=NOW)

    async with Mailbox() as mailbox, WebhookReceiver() as receiver:
        delivery = OutboxDelivery(
            uow_factory,
            email=EmailChannel("127.0.0.1", mailbox.port, sender="vks@rcc.kuzbass.example.ru"),
            webhook=WebhookChannel(receiver.url, SECRET),
        )
        sent = await delivery.deliver_due(NOW)

    title = "Отменено: «Астрономия, 11 класс» (учитель Иванова Анна Петровна)"
    with uow_factory() as uow:
        [item] = [
            i for i in uow.notifications.of_user("coord-nvk-5") if i.kind != "booking.invited"
        ]
    assert item.title_ru == title
    mails = {(to[0], m["Subject"]): m for to, m in mailbox.messages}
    assert set(mails) == {
        ("coord@nvk5.example.ru", f"[ВКС] {title}"),
        ("coord@kem20.example.ru", f"[ВКС] {title}"),
        ("coord@nvk5.example.ru", "[ВКС] Приглашение: МБОУ «СОШ №5» — «Астрономия, 11 класс»"
         " (МБОУ «СОШ №20»)"),
    }  # fmt: skip
    message = mails[("coord@nvk5.example.ru", f"[ВКС] {title}")]
    assert message["X-VKS-Event"] == "notification.booking.cancelled"
    body = message.get_content()
    assert title in body and "Cancelled: “Астрономия, 11 класс”" in body
    assert f"https://vks.kuzbass.example.ru/api/v1/bookings/{created.booking.id}" in body
    calls = [json.loads(r.body) for r in receiver.received]
    assert sorted(c["data"]["user"]["id"] for c in calls if c["event"].endswith("cancelled")) == [
        "coord-kem-20",
        "coord-nvk-5",
    ]
    signed = receiver.received[0]
    assert verify(SECRET, signed.headers, signed.body)
    # the invitation (to СОШ №5's coordinator) went out too: 3 e-mails, 3 webhook calls
    assert sent == len(mailbox.messages) + len(receiver.received) == 6
    with uow_factory() as uow:
        assert {d.status for d in uow.notifications.deliveries()} == {"sent"}


@pytest.mark.usefixtures("people")
async def test_a_failed_delivery_is_recorded_and_retried_until_it_goes_out(
    uow_factory: UowFactory,
) -> None:
    with uow_factory() as uow:
        notifying.tell(uow, [a_notice(1)], now=NOW, config=BY_EMAIL)
        uow.commit()
    down = OutboxDelivery(
        uow_factory, email=EmailChannel("127.0.0.1", free_port(), timeout_s=2), webhook=None,
        retry_first=timedelta(seconds=30),
    )  # fmt: skip

    assert await down.deliver_due(NOW) == 0

    with uow_factory() as uow:
        [failed] = uow.notifications.deliveries("coord-nvk-5")
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in failed.last_error
    assert failed.due_at == NOW + timedelta(seconds=30)
    async with Mailbox() as mailbox:
        up = OutboxDelivery(
            uow_factory, email=EmailChannel("127.0.0.1", mailbox.port), webhook=None
        )
        assert await up.deliver_due(NOW + timedelta(seconds=10)) == 0  # not due yet
        assert await up.deliver_due(NOW + timedelta(seconds=30)) == 1
    assert [to for to, _ in mailbox.messages] == [["coord@nvk5.example.ru"]]


def a_notice(number: int) -> Notice:
    return Notice(
        kind="booking.dates_changed",
        key=f"dates:{number}",
        org_id="nvk-school-5",
        roles=frozenset({Role.LOCAL_COORDINATOR}),
        title_ru=f"Изменения в расписании №{number}",
        title_en=f"Timetable change #{number}",
    )


@pytest.mark.usefixtures("people")
async def test_many_notices_at_once_arrive_as_one_digest(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        for number in range(1, 7):
            notifying.tell(uow, [a_notice(number)], now=NOW, config=BY_EMAIL)
        uow.commit()

    async with Mailbox() as mailbox:
        delivery = OutboxDelivery(
            uow_factory, email=EmailChannel("127.0.0.1", mailbox.port), webhook=None
        )
        assert await delivery.deliver_due(NOW) == 2  # the first two, one by one
        assert await delivery.deliver_due(NOW + timedelta(minutes=10)) == 4

    subjects = [message["Subject"] for _, message in mailbox.messages]
    assert sorted(subjects[:2]) == [
        "[ВКС] Изменения в расписании №1",
        "[ВКС] Изменения в расписании №2",
    ]
    assert subjects[2:] == ["[ВКС] Сводка: 4 уведомления / 4 notifications"]
    digest = mailbox.messages[2][1].get_content()
    assert all(f"Изменения в расписании №{n}" in digest for n in (3, 4, 5, 6))


@pytest.mark.usefixtures("people")
def test_a_degraded_lesson_and_a_class_sent_to_another_room_are_told_urgently(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    notifying.subscribe(bus, uow_factory, lambda: NOW, CONFIG)
    created = create_booking(uow_factory(), region.network_admin, across_networks(), now=NOW)
    with uow_factory() as uow:
        [occurrence] = uow.occurrences.of_booking(created.booking.id)
    automation = MemoryAutomationStore()
    ids = {"occurrence_id": occurrence.id, "booking_id": created.booking.id}
    automation.add_events(
        [
            NewEvent(TERMINAL_SWITCHED, occurrence.id, {
                **ids, "site_id": "kem-school-20", "school": "МБОУ «СОШ №20»",
                "from": "term-kem-20-hall", "to": "term-kem-20-it", "problem": "не отвечает",
                "from_room": "Актовый зал", "to_room": "Кабинет информатики",
            }),
            NewEvent(STATE_CHANGED, occurrence.id, {
                **ids, "from": "live", "to": "degraded",
                "reason": "health: terminal term-nvk-5 is down (connection refused)",
            }),
            NewEvent(STATE_CHANGED, occurrence.id, {**ids, "from": "degraded", "to": "live"}),
        ],
        NOW,
    )  # fmt: skip
    facts = LessonFacts(automation, bus)

    assert facts.pull(NOW) == 2
    assert facts.pull(NOW) == 0  # read once

    with uow_factory() as uow:
        host = {i.kind: i for i in uow.notifications.of_user("coord-kem-20")}
        partner = {i.kind: i for i in uow.notifications.of_user("coord-nvk-5")}
    moved = host["lesson.terminal_switched"]
    assert moved.urgent
    assert moved.title_ru.startswith(
        "Класс МБОУ «СОШ №20» идёт в «Кабинет информатики» вместо «Актовый зал»:"
        " «Астрономия, 11 класс» 08.09.2026"
    )
    assert "lesson.terminal_switched" not in partner  # only the school whose class moves
    for told in (host, partner):
        degraded = told["lesson.degraded"]
        assert degraded.urgent
        assert degraded.body_ru.startswith(
            "Причина: мониторинг: терминал term-nvk-5 — не работает (соединение отклонено)\n"
            "Что делать:"
        )  # the automation's English reason, said in Russian
        assert "Why: health: terminal term-nvk-5 is down (connection refused)" in degraded.body_en
    with uow_factory() as uow:  # urgent: e-mailed at once, never held for a digest
        emails = [d for d in uow.notifications.deliveries("coord-kem-20") if d.channel == "email"]
    assert all(not d.digest and d.due_at == NOW for d in emails if d.urgent)
    assert {d.channel for d in emails} == {Channel.EMAIL}


@pytest.mark.usefixtures("people")
async def test_a_monitor_alert_reaches_the_schools_inbox_with_what_to_do(
    uow_factory: UowFactory,
) -> None:
    alert = AlertNotice(
        event="opened",
        subject="[ВКС] Терминал ВКС term-kem-20-hall «Актовый зал» (МБОУ «СОШ №20») не работает",
        text="Причина: connection refused\nЧто делать: проверьте питание и сетевой кабель\n",
        data={"alert_id": "a-17", "device": {"kind": "terminal", "id": "term-kem-20-hall",
                                             "site_id": "kem-school-20"}},
    )  # fmt: skip
    channel = InboxChannel(uow_factory, BY_EMAIL, lambda: NOW)

    sent = await channel.send(alert, [])
    await asyncio.to_thread(channel.drain)

    assert [(d.channel, d.ok) for d in sent] == [("inbox", True)]  # handed over at once
    with uow_factory() as uow:
        [item] = uow.notifications.of_user("coord-kem-20")
        assert uow.notifications.of_user("coord-nvk-5") == []
    assert (item.kind, item.urgent) == ("device.alert.opened", True)
    assert "«Актовый зал» (МБОУ «СОШ №20»)" in item.title_ru
    assert "Что делать:" in item.body_ru
    assert item.link == "/api/v1/monitor/alerts/a-17"
