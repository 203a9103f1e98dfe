"""The leader's at-risk round: every live-link lesson of the next 24 h whose terminal, camera
or server is not ok is flagged with the reason, and cleared when they are ok again; a flag
the automation's pre-flight check set is left alone. On the in-memory store, frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.health import AT_RISK_PREFIX, DeviceKind, HealthState, Transition
from booking.health_memory import MemoryHealthStore
from booking.health_records import SessionRow, TransitionWrite
from tests.api.conftest import FrozenClock
from tests.monitor.conftest import fast_config
from tests.monitor.region import memory_region, site_path, watched_lesson
from vks.monitor.risk import RiskAssessor, RiskReport

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Kemerovo
TOMORROW = T0 + timedelta(hours=23)
HALL = "term-kem-20-hall"
OK, DOWN, DEGRADED = HealthState.OK, HealthState.DOWN, HealthState.DEGRADED


def region_with(*lessons: SessionRow) -> tuple[MemoryHealthStore, RiskAssessor]:
    store = memory_region()
    for row in lessons:
        store.add_lesson(row, school_paths=[site_path("kem-school-20")])
    clock = FrozenClock(T0)
    every_device_ok(store)
    return store, RiskAssessor(store, fast_config(), clock.now)


def every_device_ok(store: MemoryHealthStore) -> None:
    store.record(
        [
            TransitionWrite(d.kind, d.id, Transition(HealthState.UNKNOWN, OK, T0, "ok"))
            for d in store.roster()
        ]
    )


def goes(store: MemoryHealthStore, kind: DeviceKind, device_id: str, to: HealthState) -> None:
    cause = "connection refused" if to is DOWN else "ok"
    store.record([TransitionWrite(kind, device_id, Transition(OK, to, T0, cause))])


def flags(store: MemoryHealthStore) -> dict[str, str]:
    return {r.occurrence_id: r.at_risk for r in store.sessions(T0, T0 + timedelta(days=2))}


def test_a_lesson_tomorrow_on_a_down_terminal_is_flagged_with_the_reason_and_cleared_after() -> (
    None
):
    store, risk = region_with(
        watched_lesson("occ-physics", TOMORROW),
        watched_lesson(
            "occ-elsewhere", TOMORROW + timedelta(minutes=50), terminals=("term-nvkz-7",)
        ),
    )
    goes(store, DeviceKind.TERMINAL, HALL, DOWN)

    flagged = risk.run()
    reasons = flags(store)
    goes(store, DeviceKind.TERMINAL, HALL, OK)
    cleared = risk.run()

    assert flagged == RiskReport(checked=2, at_risk=1, flagged=1, cleared=0)
    assert reasons["occ-physics"] == (
        AT_RISK_PREFIX
        + "terminal term-kem-20-hall «Актовый зал», МБОУ «СОШ №20» is down (connection refused)"
    )
    assert reasons["occ-elsewhere"] == ""
    assert cleared == RiskReport(checked=2, at_risk=0, flagged=0, cleared=1)
    assert flags(store) == {"occ-physics": "", "occ-elsewhere": ""}


def test_the_camera_of_a_lesson_terminal_counts_and_is_named_after_the_terminal() -> None:
    store, risk = region_with(watched_lesson("occ-physics", TOMORROW))
    goes(store, DeviceKind.CAMERA, "cam-kem-20-hall", DOWN)

    risk.run()

    assert flags(store)["occ-physics"] == (
        AT_RISK_PREFIX + "camera cam-kem-20-hall of terminal «Актовый зал», МБОУ «СОШ №20» "
        "is down (connection refused)"
    )


def test_a_lesson_without_a_room_is_at_risk_when_no_server_of_its_platform_is_ok() -> None:
    store, risk = region_with(
        watched_lesson("occ-physics", TOMORROW, server_id=None, platform="bbb")
    )
    goes(store, DeviceKind.SERVER, "bbb-1", DOWN)

    risk.run()

    assert flags(store)["occ-physics"] == AT_RISK_PREFIX + "no bbb conference server is ok"


def test_the_pre_flight_checks_flag_is_left_alone() -> None:
    preflight = "terminal did not answer the pre-flight check"
    store, risk = region_with(watched_lesson("occ-physics", TOMORROW, at_risk=preflight))

    report = risk.run()

    assert flags(store)["occ-physics"] == preflight
    assert (report.flagged, report.cleared) == (0, 0)


def test_lessons_beyond_the_horizon_are_not_looked_at() -> None:
    store, risk = region_with(watched_lesson("occ-later", T0 + timedelta(days=1, hours=1)))
    goes(store, DeviceKind.TERMINAL, HALL, DOWN)

    report = risk.run()

    assert report == RiskReport(0, 0, 0, 0)
    assert flags(store)["occ-later"] == ""


def test_a_device_never_polled_puts_its_lessons_at_risk_as_unknown() -> None:
    store = memory_region()
    store.add_lesson(watched_lesson("occ-physics", TOMORROW, terminals=("term-nvkz-7",)))
    risk = RiskAssessor(store, fast_config(), FrozenClock(T0).now)

    risk.run()

    assert (
        "terminal term-nvkz-7 «Кабинет физики», МБОУ «СОШ №7» is unknown (never polled)"
        in (flags(store)["occ-physics"])
    )


def test_a_flag_says_since_when_and_keeps_it_while_the_terminal_stays_unwell() -> None:
    store, risk = region_with(watched_lesson("occ-physics", TOMORROW))
    clock = FrozenClock(T0)
    risk.now = clock.now
    goes(store, DeviceKind.TERMINAL, HALL, DOWN)
    risk.run()
    clock.advance(minutes=3)
    store.record(
        [TransitionWrite(DeviceKind.TERMINAL, HALL, Transition(DOWN, DEGRADED, T0, "slow"))]
    )
    risk.run()  # reworded: degraded, not down — the same worry
    kept = since(store)
    clock.advance(minutes=3)
    goes(store, DeviceKind.TERMINAL, HALL, OK)
    risk.run()

    assert kept == T0
    assert flags(store)["occ-physics"] == ""
    assert since(store) is None


def since(store: MemoryHealthStore) -> datetime | None:
    (row,) = store.sessions(T0, T0 + timedelta(days=2))
    return row.at_risk_since
