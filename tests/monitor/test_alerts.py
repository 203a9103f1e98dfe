"""Alerts reach the people responsible for a device — through a signed webhook and by
e-mail — once per episode, and go up a level when nobody acknowledges them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from adapters.notify.smtp import EmailChannel
from adapters.notify.webhook import WebhookChannel, verify
from adapters.storage.health import SqlHealthStore
from booking.health import DeviceKind, HealthState
from tests.monitor.conftest import eventually, fast_config
from tests.monitor.receivers import Mailbox, WebhookReceiver
from tests.monitor.region import EMAILS, SimRegion
from vks.monitor.config import AlertConfig
from vks.monitor.service import Monitor

HALL = "term-kem-20-hall"
SECRET = "kuzbass-alerts-signing-secret"
DUTY = "duty@vks.kuzbass.example.ru"


def state_of(store: SqlHealthStore, device_id: str) -> HealthState | None:
    row = store.states().get((DeviceKind.TERMINAL, device_id))
    return None if row is None else row.state


async def test_an_alert_reaches_the_webhook_and_the_mailbox_of_those_responsible(
    store: SqlHealthStore, region: SimRegion
) -> None:
    async with WebhookReceiver() as hook, Mailbox() as mailbox:
        channels = [
            WebhookChannel(hook.url, SECRET),
            EmailChannel("127.0.0.1", mailbox.port, sender="vks@rcc.kuzbass.example.ru"),
        ]
        monitor = Monitor(store, fast_config(), channels=channels)
        await monitor.start()
        try:
            await eventually(lambda: state_of(store, HALL) is HealthState.OK)
            region.terminals[HALL].faults.update({"offline": True})
            await eventually(lambda: len(hook.received) == 1 and len(mailbox.messages) == 1)
            region.terminals[HALL].faults.update({"offline": False})
            await eventually(lambda: len(hook.received) == 2 and len(mailbox.messages) == 2)
        finally:
            await monitor.stop()

    opened, resolved = hook.received
    assert verify(SECRET, opened.headers, opened.body)
    assert opened.headers["x-vks-event"] == "health.alert.opened"
    body = opened.json()
    assert body["data"]["device"] == {
        "kind": "terminal",
        "id": HALL,
        "name": "Актовый зал",
        "site_id": "kem-school-20",
        "site_name": "МБОУ «СОШ №20»",
    }
    assert body["data"]["cause"] == "connection refused"
    assert {(r["role"], r["email"]) for r in body["recipients"]} == {
        ("region", EMAILS["kuzbass"]),
        ("network", EMAILS["kem-net-1"]),
        ("school", EMAILS["kem-school-20"]),
    }
    assert resolved.json()["event"] == "health.alert.resolved"

    (to, mail), (_, resolved_mail) = mailbox.messages
    assert sorted(to) == sorted([EMAILS["kuzbass"], EMAILS["kem-net-1"], EMAILS["kem-school-20"]])
    assert mail["Subject"] == (
        "[ВКС] Терминал ВКС term-kem-20-hall «Актовый зал» (МБОУ «СОШ №20») не работает"
    )
    assert "Причина: connection refused" in mail.get_content()
    assert "снова работает" in resolved_mail["Subject"]
    [alert] = store.alerts(kind=DeviceKind.TERMINAL, device_id=HALL)
    assert alert.status == "resolved"
    sent = store.notifications(alert.id)
    assert [(n.event, n.channel, n.status) for n in sent if n.channel == "webhook"] == [
        ("opened", "webhook", "sent"),
        ("resolved", "webhook", "sent"),
    ]


async def test_an_unacknowledged_alert_is_escalated_until_someone_acknowledges_it(
    store: SqlHealthStore, region: SimRegion
) -> None:
    alerts = AlertConfig(
        duty_emails=(DUTY,),
        levels=(("school",), ("network",), ("municipality", "region", "duty")),
        escalate_after=timedelta(seconds=0.6),
    )
    async with Mailbox() as mailbox:
        channel = EmailChannel("127.0.0.1", mailbox.port)
        monitor = Monitor(store, replace(fast_config(), alerts=alerts), channels=[channel])
        await monitor.start()
        try:
            await eventually(lambda: state_of(store, HALL) is HealthState.OK)
            region.terminals[HALL].faults.update({"offline": True})
            await eventually(lambda: len(mailbox.messages) == 2)  # opened, then escalated once
            [alert] = store.alerts(status="open")
            store.acknowledge(alert.id, "rcc-operator", "Выехал инженер", datetime.now(UTC))
            await eventually(lambda: store.alerts(status="acknowledged"))
            level_when_acked = store.alerts(status="acknowledged")[0].level
            # well past the next escalation: nothing more is sent
            await eventually(lambda: monitor.poller.cycles[DeviceKind.TERMINAL] > 12, timeout=8)
        finally:
            await monitor.stop()

    recipients = [sorted(to) for to, _ in mailbox.messages]
    assert recipients[0] == [EMAILS["kem-school-20"]]
    assert recipients[1] == sorted([EMAILS["kem-school-20"], EMAILS["kem-net-1"]])
    assert "эскалация" in mailbox.messages[1][1]["Subject"]
    assert level_when_acked == 1
    assert len(mailbox.messages) == 2
    [acked] = store.alerts(kind=DeviceKind.TERMINAL, device_id=HALL)
    assert (acked.acked_by, acked.ack_note) == ("rcc-operator", "Выехал инженер")


async def test_a_failed_delivery_is_recorded_and_alerting_goes_on(
    store: SqlHealthStore, region: SimRegion
) -> None:
    async with Mailbox() as mailbox:
        channels = [
            WebhookChannel("http://127.0.0.1:9/nobody-listens", SECRET, timeout_s=1.0),
            EmailChannel("127.0.0.1", mailbox.port),
        ]
        monitor = Monitor(store, fast_config(), channels=channels)
        await monitor.start()
        try:
            await eventually(lambda: state_of(store, HALL) is HealthState.OK)
            region.terminals[HALL].faults.update({"offline": True})
            await eventually(lambda: mailbox.messages)
        finally:
            await monitor.stop()

    [alert] = store.alerts()
    webhook = [n for n in store.notifications(alert.id) if n.channel == "webhook"]
    assert [(n.status, n.recipient) for n in webhook] == [
        ("failed", "http://127.0.0.1:9/nobody-listens")
    ]
    assert "ConnectError" in webhook[0].error
