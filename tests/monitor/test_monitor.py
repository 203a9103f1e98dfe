"""The monitor against the simulated region: states with hysteresis, transitions stored
with their cause, lessons at risk, the call a terminal should be in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.storage.health import SqlHealthStore
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.health import AT_RISK_PREFIX, DeviceKind, HealthState
from tests.monitor.conftest import eventually, fast_config
from tests.monitor.region import SimRegion
from vks.monitor.service import Monitor

pytestmark = pytest.mark.slow  # simulators on real ports, real storage

HALL = "term-kem-20-hall"
TERMINAL = DeviceKind.TERMINAL


def state_of(store: SqlHealthStore, kind: DeviceKind, device_id: str) -> HealthState | None:
    row = store.states().get((kind, device_id))
    return None if row is None else row.state


async def test_every_device_of_the_region_is_polled_and_found_ok(
    store: SqlHealthStore, region: SimRegion
) -> None:
    monitor = Monitor(store, fast_config())
    await monitor.start()
    try:
        await eventually(lambda: len(store.states()) == 5)
        await monitor.flush()
        views = {(v.device.kind, v.device.id): v.state for v in store.devices()}
    finally:
        await monitor.stop()

    assert {k: s.state for k, s in views.items()} == {
        (DeviceKind.TERMINAL, "term-kem-20-hall"): HealthState.OK,
        (DeviceKind.TERMINAL, "term-kem-20-it"): HealthState.OK,
        (DeviceKind.TERMINAL, "term-nvkz-7"): HealthState.OK,
        (DeviceKind.CAMERA, "cam-kem-20-hall"): HealthState.OK,
        (DeviceKind.SERVER, "bbb-1"): HealthState.OK,
    }
    assert all(s.last_poll_at is not None and s.rtt_ms is not None for s in views.values())


async def test_a_terminal_taken_offline_goes_down_after_the_hysteresis_and_comes_back(
    store: SqlHealthStore, region: SimRegion
) -> None:
    monitor = Monitor(store, fast_config())
    await monitor.start()
    try:
        await eventually(lambda: state_of(store, TERMINAL, HALL) is HealthState.OK)
        slot = monitor.poller.slots[(TERMINAL, HALL)]

        region.terminals[HALL].faults.update({"offline": True})
        first_failure = await eventually(lambda: slot.health.failures >= 1)
        assert first_failure and slot.health.state is HealthState.OK  # one failure is not down
        await eventually(lambda: state_of(store, TERMINAL, HALL) is HealthState.DOWN)
        failures_when_down = slot.health.failures

        region.terminals[HALL].faults.update({"offline": False})
        await eventually(lambda: state_of(store, TERMINAL, HALL) is HealthState.OK)
        await monitor.flush()
    finally:
        await monitor.stop()

    assert failures_when_down >= 3
    history = list(reversed(store.history(TERMINAL, HALL)))
    assert [(t.from_state, t.to_state) for t in history] == [
        (HealthState.UNKNOWN, HealthState.OK),
        (HealthState.OK, HealthState.DOWN),
        (HealthState.DOWN, HealthState.OK),
    ]
    assert history[1].cause == "connection refused"
    today = datetime.now(ZoneInfo("Asia/Novokuznetsk")).date()
    [day] = store.uptime(TERMINAL, HALL, today - timedelta(days=1), today + timedelta(days=1))
    assert day.uptime.down_s > 0 and day.uptime.ok_s > 0
    assert day.uptime.failures >= 3


async def test_a_device_that_answers_with_problems_is_degraded_with_the_reasons(
    store: SqlHealthStore, region: SimRegion
) -> None:
    monitor = Monitor(store, fast_config())
    await monitor.start()
    try:
        await eventually(lambda: state_of(store, TERMINAL, "term-nvkz-7") is HealthState.OK)
        region.terminals["term-nvkz-7"].faults.update(
            {"extra": {"sip_registration": "Failed", "temperature": 86.0, "camera": "Unplugged"}}
        )
        region.terminals["term-kem-20-it"].faults.update({"auth_failure": True})
        await eventually(
            lambda: (
                state_of(store, TERMINAL, "term-nvkz-7") is HealthState.DEGRADED
                and state_of(store, TERMINAL, "term-kem-20-it") is HealthState.DOWN
            )
        )
    finally:
        await monitor.stop()

    [degraded] = store.history(TERMINAL, "term-nvkz-7", limit=1)
    assert degraded.cause == ("SIP registration Failed; temperature 86.0 °C; camera not connected")
    [refused] = store.history(TERMINAL, "term-kem-20-it", limit=1)
    assert refused.cause == "credentials refused"


async def test_a_lesson_tomorrow_on_a_down_terminal_is_at_risk_with_the_reason(
    store: SqlHealthStore, region: SimRegion, sql_uow: Callable[[], SqlUnitOfWork]
) -> None:
    in_23_hours = datetime.now(UTC) + timedelta(hours=23)  # tomorrow, within the 24 h horizon
    start = in_23_hours.replace(minute=in_23_hours.minute // 10 * 10, second=0, microsecond=0)
    occurrence_id = region.book(sql_uow, title="Физика 9А — СОШ №20", start=start)
    elsewhere_id = region.book(
        sql_uow,
        title="Физика 10А — СОШ №7",
        start=start + timedelta(minutes=50),
        terminals=("term-nvkz-7",),
    )
    monitor = Monitor(store, fast_config())
    await monitor.start()

    def reason(oid: str) -> str:
        return {
            r.occurrence_id: r.at_risk for r in store.sessions(start, start + timedelta(hours=2))
        }[oid]

    try:
        await eventually(lambda: state_of(store, TERMINAL, HALL) is HealthState.OK)
        region.terminals[HALL].faults.update({"offline": True})
        flagged = await eventually(lambda: reason(occurrence_id), timeout=10)
        at_risk_ids = [
            r.occurrence_id for r in store.at_risk(datetime.now(UTC), start + timedelta(hours=1))
        ]

        region.terminals[HALL].faults.update({"offline": False})
        await eventually(lambda: reason(occurrence_id) == "", timeout=10)
    finally:
        await monitor.stop()

    assert flagged.startswith(AT_RISK_PREFIX)
    assert "terminal term-kem-20-hall «Актовый зал», МБОУ «СОШ №20» is down" in flagged
    assert "connection refused" in flagged
    assert at_risk_ids == [occurrence_id]
    assert reason(elsewhere_id) == ""


async def test_a_terminal_not_in_the_lesson_it_should_be_in_is_degraded(
    store: SqlHealthStore, region: SimRegion, sql_uow: Callable[[], SqlUnitOfWork]
) -> None:
    start = datetime.now(UTC) + timedelta(seconds=1)
    region.book(
        sql_uow, title="Алгебра 8Б", start=start, terminals=("term-nvkz-7",), setup_minutes=0
    )
    monitor = Monitor(store, fast_config())
    await monitor.start()
    try:
        await eventually(
            lambda: state_of(store, TERMINAL, "term-nvkz-7") is HealthState.DEGRADED, timeout=8
        )
    finally:
        await monitor.stop()

    [transition] = store.history(TERMINAL, "term-nvkz-7", limit=1)
    assert transition.cause == "not in the call it should be in (Алгебра 8Б)"
