"""End to end: an alert reaches the people responsible for a device — through a signed
webhook and by e-mail — when a simulated terminal goes offline, and again when it is back.
What alerting decides (dedupe, flapping, escalation, failed deliveries) is specified on the
in-memory store in test_alerting.py."""

from __future__ import annotations

import pytest

from adapters.notify.smtp import EmailChannel
from adapters.notify.webhook import WebhookChannel, verify
from adapters.storage.health import SqlHealthStore
from booking.health import DeviceKind, HealthState
from tests.monitor.conftest import eventually, fast_config
from tests.monitor.receivers import Mailbox, WebhookReceiver
from tests.monitor.region import EMAILS, SimRegion
from vks.monitor.service import Monitor

HALL = "term-kem-20-hall"
SECRET = "kuzbass-alerts-signing-secret"


def sent_by_webhook(store: SqlHealthStore) -> list[str]:
    return [
        n.event
        for alert in store.alerts(kind=DeviceKind.TERMINAL, device_id=HALL)
        for n in store.notifications(alert.id)
        if n.channel == "webhook" and n.status == "sent"
    ]


def state_of(store: SqlHealthStore, device_id: str) -> HealthState | None:
    row = store.states().get((DeviceKind.TERMINAL, device_id))
    return None if row is None else row.state


@pytest.mark.slow
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
            # the receivers answer before the monitor records the delivery: wait for both
            await eventually(lambda: len(sent_by_webhook(store)) == 2)
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
    assert "Причина: соединение отклонено" in mail.get_content()  # the data keeps English
    assert "снова работает" in resolved_mail["Subject"]
    [alert] = store.alerts(kind=DeviceKind.TERMINAL, device_id=HALL)
    assert alert.status == "resolved"
    sent = store.notifications(alert.id)
    assert [(n.event, n.channel, n.status) for n in sent if n.channel == "webhook"] == [
        ("opened", "webhook", "sent"),
        ("resolved", "webhook", "sent"),
    ]
