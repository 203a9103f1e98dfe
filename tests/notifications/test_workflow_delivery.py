"""Specification: every step of the request workflow tells the people whose turn it is, and
each notification reaches the inbox, an SMTP server and a webhook receiver started by the
test — a published timetable, a request submitted, returned, submitted again and included,
the combined request submitted, the RCC's decisions (approved, partly approved, rejected),
and an invitation "from need" and its answer. On memory, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import cast

import pytest

from adapters.notify.smtp import EmailChannel
from adapters.notify.webhook import WebhookChannel, verify
from booking.access import Role
from booking.messagebus import MessageBus
from booking.notifications import Channel, DigestRule
from booking.repository import UnitOfWork
from booking.services import notifying
from booking.services.workflow.approval import Verdict, approve_combined, reject_combined
from booking.services.workflow.combining import assemble, submit_combined
from booking.services.workflow.need_search import answer_invitation, invite
from booking.services.workflow.school_requests import return_request, submit_request
from booking.users import User
from booking.workflow.needs import Need
from booking.workflow.store import WorkflowUnitOfWork
from tests.booking.kuzbass import Region
from tests.booking.workflow.flows import (
    NOW,
    THURSDAY,
    a_submitted_request,
    an_offer,
    coordinator_of,
    published,
)
from tests.monitor.receivers import Mailbox, WebhookReceiver
from vks.notifications.delivery import OutboxDelivery

UowFactory = Callable[[], UnitOfWork]
SECRET = "webhook-secret-of-the-rcc"
CONFIG = notifying.NotifyConfig(  # no digest here: each step's e-mail is its own
    digest=DigestRule(after=100, window=timedelta(minutes=10)),
    channels=frozenset({Channel.EMAIL, Channel.WEBHOOK}),
    base_url="https://vks.kuzbass.example.ru",
)
PEOPLE = [  # (id, role, organisation, e-mail)
    ("rcc-ivanov", Role.RCC_OPERATOR, "kuzbass", "rcc@kuzbass.example.ru"),
    ("admin-kem-net-1", Role.NETWORK_ADMIN, "kem-net-1", "net@kem.example.ru"),
    ("admin-nvk-net-1", Role.NETWORK_ADMIN, "nvk-net-1", "net@nvk.example.ru"),
    ("coord-kem-12", Role.LOCAL_COORDINATOR, "kem-school-12", "coord@kem12.example.ru"),
    ("coord-insar-1", Role.LOCAL_COORDINATOR, "insar-school-1", "coord@insar1.example.ru"),
]
EMAIL = {user_id: email for user_id, _, _, email in PEOPLE}


@pytest.fixture
def people(uow_factory: UowFactory, region: Region) -> None:
    with uow_factory() as uow:
        for user_id, role, org_id, email in PEOPLE:
            uow.users.add(User(user_id, user_id, "-", role, org_id, email=email))
        uow.commit()


@pytest.mark.usefixtures("people")
async def test_each_steps_notification_reaches_the_inbox_an_smtp_server_and_a_webhook(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    notifying.subscribe(bus, uow_factory, lambda: NOW, CONFIG)
    uow = cast(Callable[[], WorkflowUnitOfWork], uow_factory)
    # flow 1: the Kemerovo network publishes physics and chemistry; two schools ask
    physics = an_offer(uow)
    chemistry = an_offer(uow, subject="Химия", weekday=THURSDAY, lesson_number=2)
    published(uow, region, physics, chemistry)
    school12 = a_submitted_request(
        uow, "kem-school-12", (physics, "9А", 24, None), (chemistry, "9А", 24, None)
    )
    return_request(uow(), region.network_admin, school12.id, "Уточните число учеников", now=NOW)
    submit_request(uow(), coordinator_of("kem-school-12"), school12.id, now=NOW)
    insar = a_submitted_request(uow, "insar-school-1", (physics, "9Б", 18, "term-insar-1"))
    combined = assemble(uow(), region.network_admin, "kem-net-1", [school12.id, insar.id], now=NOW)
    submit_combined(uow(), region.network_admin, combined.id, now=NOW)
    chem_item = next(i for i in school12.items if i.offer_id == chemistry.id)
    approve_combined(
        uow(), region.rcc, combined.id, [Verdict(chem_item.id, False, "Нет учителя химии")],
        now=NOW,
    )  # fmt: skip
    # "from need": Insar asks the Novokuznetsk network; its request is rejected later
    offer = an_offer(
        uow, grade=10, weekday=2, lesson_number=None, start_time="12:50", end_time="13:30",
        host_school_id="nvk-school-5", host_terminal_id="term-nvk-5",
        by=region.other_network_admin,
    )  # fmt: skip
    need = Need("физика", 10, hours_per_week=1)
    invitation = invite(
        uow(), region.rcc, offer.id, "insar-school-1", need, class_name="10А", pupils=12, now=NOW
    )
    _, request = answer_invitation(
        uow(), region.other_network_admin, invitation.id, accept=True, now=NOW
    )
    assert request is not None
    other = assemble(uow(), region.other_network_admin, "nvk-net-1", [request.id], now=NOW)
    submit_combined(uow(), region.other_network_admin, other.id, now=NOW)
    reject_combined(uow(), region.rcc, other.id, "Сервер занят в эти часы", now=NOW)

    # act: the outbox goes out to a real SMTP server and a webhook receiver
    async with Mailbox() as mailbox, WebhookReceiver() as receiver:
        delivery = OutboxDelivery(
            uow_factory,
            email=EmailChannel("127.0.0.1", mailbox.port, sender="vks@rcc.kuzbass.example.ru"),
            webhook=WebhookChannel(receiver.url, SECRET),
        )
        sent = await delivery.deliver_due(NOW)

    # assert: each step told its people — in the inbox, by e-mail and by webhook alike
    expected = {
        ("coord-kem-12", "timetable.published"),
        ("coord-insar-1", "timetable.published"),
        ("admin-kem-net-1", "request.submitted"),  # twice: submitted, then again
        ("coord-kem-12", "request.returned"),
        ("coord-kem-12", "request.included"),
        ("coord-insar-1", "request.included"),
        ("rcc-ivanov", "combined.submitted"),
        ("coord-kem-12", "request.decided"),  # partly approved
        ("coord-insar-1", "request.decided"),  # approved, then rejected (from need)
        ("admin-kem-net-1", "request.decided"),
        ("admin-kem-net-1", "combined.decided"),
        ("admin-nvk-net-1", "need.invited"),  # the offering network's administrator
        ("coord-insar-1", "need.answered"),
        ("admin-nvk-net-1", "request.submitted"),
        ("admin-nvk-net-1", "request.decided"),
        ("admin-nvk-net-1", "combined.decided"),
    }
    with uow_factory() as reading:
        inbox = [
            (user_id, item.kind, item.title_ru)
            for user_id in EMAIL
            for item in reading.notifications.of_user(user_id)
        ]
    assert {(user, kind) for user, kind, _ in inbox} == expected
    mails = [(to[0], m["X-VKS-Event"], m["Subject"]) for to, m in mailbox.messages]
    assert {(to, event) for to, event, _ in mails} == {
        (EMAIL[user], f"notification.{kind}") for user, kind in expected
    }
    calls = [json.loads(r.body) for r in receiver.received]
    assert {(c["data"]["user"]["id"], c["event"]) for c in calls} == {
        (user, f"notification.{kind}") for user, kind in expected
    }
    assert all(verify(SECRET, r.headers, r.body) for r in receiver.received)
    assert sent == len(inbox) * 2 == len(mails) + len(calls)  # every notice, both channels
    # the decisions say what was decided, in the school's words
    decided = sorted(title for user, kind, title in inbox if kind == "request.decided")
    assert decided == [  # each to the school's coordinator and to its network
        "Заявка школы «МБОУ «Инсарская СОШ №1»» одобрена",
        "Заявка школы «МБОУ «Инсарская СОШ №1»» одобрена",
        "Заявка школы «МБОУ «Инсарская СОШ №1»» отклонена",
        "Заявка школы «МБОУ «Инсарская СОШ №1»» отклонена",
        "Заявка школы «МБОУ «СОШ №12»» одобрена частично",
        "Заявка школы «МБОУ «СОШ №12»» одобрена частично",
    ]
