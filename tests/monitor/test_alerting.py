"""Alerting decides, per transition, whether to open, update, reopen or resolve a device's
alert and whom to tell; unacknowledged alerts go up a level. Specified on the in-memory
store with a frozen clock: no device, no database, no waiting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx

from adapters.notify.webhook import WebhookChannel
from booking.health import DeviceKind, HealthState, Transition
from booking.health_memory import MemoryHealthStore
from booking.health_records import DeviceRecord, TransitionWrite
from tests.api.conftest import FrozenClock
from tests.monitor.receivers import RecordingChannel
from tests.monitor.region import EMAILS, memory_region
from vks.monitor.alerting import AlertDesk
from vks.monitor.config import AlertConfig
from vks.monitor.recipients import RecipientBook

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Kemerovo
HALL = "term-kem-20-hall"
TERMINAL = DeviceKind.TERMINAL
OK, DEGRADED, DOWN = HealthState.OK, HealthState.DEGRADED, HealthState.DOWN
DUTY = "duty@vks.kuzbass.example.ru"


class Desk:
    """An alert desk over the memory region, its channel and its clock."""

    def __init__(self, config: AlertConfig | None = None, *channels: RecordingChannel) -> None:
        self.store: MemoryHealthStore = memory_region()
        self.clock = FrozenClock(T0)
        self.channel = channels[0] if channels else RecordingChannel()
        self.config = config or AlertConfig()
        self.desk = AlertDesk(
            self.store,
            channels or [self.channel],
            self.config,
            recipients=RecipientBook(self.store, self.config),
            now=self.clock.now,
        )
        self.records: dict[tuple[DeviceKind, str], DeviceRecord] = {
            r.key: r for r in self.store.roster()
        }
        self.state = OK

    async def goes(self, to: HealthState, cause: str, *, after: timedelta | None = None) -> None:
        """The device's state machine moved (`after` that long since the last move)."""
        self.clock.advance(seconds=(after or timedelta(minutes=1)).total_seconds())
        write = TransitionWrite(TERMINAL, HALL, Transition(self.state, to, self.clock.now(), cause))
        self.state = to
        self.store.record([write])
        await self.desk.on_transitions([write], self.records)

    async def escalate_after(self, delta: timedelta) -> int:
        self.clock.advance(seconds=delta.total_seconds())
        return await self.desk.escalate_due(self.records)


async def test_a_device_going_down_opens_one_alert_told_to_its_school_network_and_the_rcc() -> None:
    desk = Desk()

    await desk.goes(DOWN, "connection refused")
    await desk.goes(OK, "ok", after=timedelta(minutes=40))

    [alert] = desk.store.alerts(kind=TERMINAL, device_id=HALL)
    assert alert.status == "resolved" and alert.flaps == 0
    (opened, told), (resolved, _) = desk.channel.sent
    assert opened.event == "opened" and resolved.event == "resolved"
    assert opened.subject == (
        "[ВКС] Терминал ВКС term-kem-20-hall «Актовый зал» (МБОУ «СОШ №20») не работает"
    )
    assert "Причина: соединение отклонено" in opened.text
    assert "Что делать: проверьте питание и сетевой кабель терминала" in opened.text
    assert "POST /api/v1/terminals/term-kem-20-hall/hang-up" in opened.data["what_to_do"]
    assert "Что делать" not in resolved.text
    assert "снова работает" in resolved.subject
    assert {(r.role, r.email) for r in told} == {
        ("region", EMAILS["kuzbass"]),
        ("network", EMAILS["kem-net-1"]),
        ("school", EMAILS["kem-school-20"]),
    }
    assert opened.data["device"] == {
        "kind": "terminal",
        "id": HALL,
        "name": "Актовый зал",
        "site_id": "kem-school-20",
        "site_name": "МБОУ «СОШ №20»",
    }
    assert [(n.event, n.status) for n in desk.store.notifications(alert.id)] == [
        ("opened", "sent"),
        ("opened", "sent"),
        ("opened", "sent"),
        ("resolved", "sent"),
        ("resolved", "sent"),
        ("resolved", "sent"),
    ]


async def test_a_camera_is_named_after_its_terminal_in_the_notice() -> None:
    desk = Desk()
    camera = TransitionWrite(
        DeviceKind.CAMERA,
        "cam-kem-20-hall",
        Transition(OK, DOWN, T0, "connection refused"),
    )

    await desk.desk.on_transitions([camera], desk.records)

    [(notice, _)] = desk.channel.sent
    assert notice.subject == (
        "[ВКС] Камера cam-kem-20-hall «камера терминала «Актовый зал»» (МБОУ «СОШ №20») не работает"
    )
    assert notice.data["device"]["name"] == "камера терминала «Актовый зал»"


async def test_getting_worse_is_told_again_anything_else_only_updates_the_alert() -> None:
    desk = Desk()

    await desk.goes(DEGRADED, "temperature 86.0 °C")
    await desk.goes(DOWN, "connection refused")
    await desk.goes(DEGRADED, "SIP registration Failed")

    [alert] = desk.store.alerts(status="open")
    assert desk.channel.events == ["opened", "worse"]
    assert (alert.severity, alert.cause) == (DEGRADED, "SIP registration Failed")
    assert "стало хуже" in desk.channel.sent[1][0].subject


async def test_degraded_opens_no_alert_when_only_down_is_alerted() -> None:
    desk = Desk(AlertConfig(alert_on_degraded=False))

    await desk.goes(DEGRADED, "temperature 86.0 °C")

    assert desk.store.alerts() == []
    assert desk.channel.sent == []


async def test_a_flapping_device_is_one_alert_and_two_messages_however_often_it_flips() -> None:
    desk = Desk()

    for _ in range(5):  # down for a minute, up for two, within the reopen window each time
        await desk.goes(DOWN, "connection refused")
        await desk.goes(OK, "ok")
    await desk.goes(DOWN, "connection refused", after=timedelta(hours=1))  # a new episode

    first, second = sorted(
        desk.store.alerts(kind=TERMINAL, device_id=HALL), key=lambda a: a.opened_at
    )
    assert (first.status, first.flaps) == ("resolved", 4)
    assert (second.status, second.flaps) == ("open", 0)
    assert desk.channel.events == ["opened", "resolved", "opened"]


async def test_a_flapping_device_is_escalated_only_once_its_messages_are_half_an_hour_old() -> None:
    desk = Desk()
    await desk.goes(DOWN, "connection refused")  # 00:01 opened
    await desk.goes(OK, "ok")  # 00:02 resolved
    for _ in range(9):  # flapping: reopened silently, never acknowledged
        await desk.goes(DOWN, "connection refused")
        await desk.goes(OK, "ok", after=timedelta(seconds=30))
    await desk.goes(DOWN, "connection refused")  # 00:16:30

    early = await desk.escalate_after(timedelta(minutes=1))  # due: 15 min after 00:02
    later = await desk.escalate_after(timedelta(minutes=15))  # 00:32:30: both are older

    assert (early, later) == (0, 1)
    assert desk.channel.events == ["opened", "resolved", "escalated"]


async def test_an_unacknowledged_alert_goes_up_a_level_until_someone_acknowledges_it() -> None:
    config = AlertConfig(
        duty_emails=(DUTY,),
        levels=(("school",), ("network",), ("municipality", "region", "duty")),
        escalate_after=timedelta(minutes=15),
    )
    desk = Desk(config)
    await desk.goes(DOWN, "connection refused")

    too_soon = await desk.escalate_after(timedelta(minutes=14))
    first = await desk.escalate_after(timedelta(minutes=1))
    [alert] = desk.store.alerts(status="open")
    desk.store.acknowledge(alert.id, "rcc-operator", "Выехал инженер", desk.clock.now())
    after_ack = await desk.escalate_after(timedelta(hours=2))

    assert (too_soon, first, after_ack) == (0, 1, 0)
    assert desk.channel.events == ["opened", "escalated"]
    recipients = [sorted(r.email for r in told) for _, told in desk.channel.sent]
    assert recipients == [
        [EMAILS["kem-school-20"]],
        sorted([EMAILS["kem-school-20"], EMAILS["kem-net-1"]]),
    ]
    assert "эскалация" in desk.channel.sent[1][0].subject
    [acked] = desk.store.alerts(status="acknowledged")
    assert (acked.level, acked.acked_by, acked.ack_note) == (1, "rcc-operator", "Выехал инженер")


async def test_the_last_level_is_not_escalated_further() -> None:
    desk = Desk(AlertConfig(levels=(("school",), ("region",)), escalate_after=timedelta(minutes=5)))
    await desk.goes(DOWN, "connection refused")

    sent = [await desk.escalate_after(timedelta(minutes=5)) for _ in range(3)]

    assert sent == [1, 0, 0]
    assert desk.store.alerts()[0].level == 1


async def test_of_two_monitors_escalating_the_same_alert_exactly_one_sends() -> None:
    desk = Desk(AlertConfig(escalate_after=timedelta(minutes=15)))
    other_channel = RecordingChannel()
    other = AlertDesk(
        desk.store,
        [other_channel],
        desk.config,
        recipients=RecipientBook(desk.store, desk.config),
        now=desk.clock.now,
    )
    await desk.goes(DOWN, "connection refused")
    desk.clock.advance(minutes=15)

    ours = await desk.desk.escalate_due(desk.records)
    theirs = await other.escalate_due(desk.records)

    assert (ours, theirs) == (1, 0)
    assert other_channel.sent == []


async def test_a_failed_delivery_is_recorded_and_the_other_channels_still_deliver() -> None:
    broken = RecordingChannel("webhook", failing=httpx.ConnectError("connection refused"))
    mail = RecordingChannel("email")
    desk = Desk(AlertConfig(), mail, broken)

    await desk.goes(DOWN, "connection refused")

    [alert] = desk.store.alerts()
    failed = [n for n in desk.store.notifications(alert.id) if n.channel == "webhook"]
    assert [(n.status, n.error) for n in failed] == [("failed", "ConnectError: connection refused")]
    assert mail.events == ["opened"]
    assert alert.notified_at == desk.clock.now()


async def test_a_webhook_nobody_listens_to_is_logged_as_failed() -> None:
    """The real webhook channel against a closed port (no region, no polling)."""
    hook = WebhookChannel("http://127.0.0.1:9/nobody-listens", "secret", timeout_s=1.0)
    desk = Desk(replace(AlertConfig(), delivery_timeout_s=2.0))
    desk.desk.channels = [hook]

    await desk.goes(DOWN, "connection refused")
    await desk.desk.aclose()

    [alert] = desk.store.alerts()
    [webhook] = desk.store.notifications(alert.id)
    assert (webhook.status, webhook.recipient) == ("failed", "http://127.0.0.1:9/nobody-listens")
    assert "ConnectError" in webhook.error
