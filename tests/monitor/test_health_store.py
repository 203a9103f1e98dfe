"""The health tables and their batch queries, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

import adapters.storage.health  # noqa: F401  (registers the health tables for emptying)
from adapters.storage.health import SqlHealthStore
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.access import Principal, Role
from booking.bookings import Participant, SessionKind
from booking.errors import Conflict
from booking.health import DeviceKind, HealthState, Transition, Uptime
from booking.health_records import SeenWrite, TransitionWrite, UptimeWrite
from booking.lifecycle import online_window
from booking.organisations import Organisation, OrgKind
from booking.resources import Terminal, TerminalVendor
from booking.services.bookings import BookingRequest, create_booking, move_occurrence
from tests.booking.kuzbass import YEAR_2026_27

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
HALL = "term-kem-20-hall"
MINUTE = timedelta(minutes=1)
TERMINAL = DeviceKind.TERMINAL


@pytest.fixture
def store(engine: Engine, uow_factory: Callable[[], SqlUnitOfWork]) -> SqlHealthStore:
    orgs = [
        Organisation("kuzbass", OrgKind.REGION, "Кузбасс", None, "kuzbass", "Asia/Novokuznetsk"),
        Organisation(
            "kemerovo",
            OrgKind.MUNICIPALITY,
            "Кемерово",
            "kuzbass",
            "kuzbass/kemerovo",
            "Asia/Novokuznetsk",
        ),
        Organisation(
            "kem-school-20",
            OrgKind.SCHOOL,
            "МБОУ «СОШ №20»",
            "kemerovo",
            "kuzbass/kemerovo/kem-school-20",
            "Asia/Novokuznetsk",
            contacts={"email": "school20@example.ru"},
        ),
    ]
    with uow_factory() as uow:
        for org in orgs:
            uow.organisations.add(org)
        uow.terminals.add(
            Terminal(
                HALL,
                "kem-school-20",
                "Актовый зал",
                TerminalVendor.CISCO_XAPI,
                "sip:term-kem-20-hall@vks.example.ru",
                "http://127.0.0.1:18001",
                credentials_ref="inline:secret",
            )
        )
        uow.commit()
    return SqlHealthStore(engine)


def transition(
    from_state: HealthState, to_state: HealthState, at: datetime, cause: str
) -> TransitionWrite:
    return TransitionWrite(TERMINAL, HALL, Transition(from_state, to_state, at, cause))


def test_transitions_are_stored_with_their_cause_and_the_latest_is_the_state(
    store: SqlHealthStore,
) -> None:
    store.record([transition(HealthState.UNKNOWN, HealthState.OK, T0, "ok")])
    store.record(
        [
            transition(
                HealthState.OK, HealthState.DOWN, T0 + timedelta(hours=1), "connection refused"
            ),
            transition(HealthState.DOWN, HealthState.OK, T0 + timedelta(hours=2), "ok"),
        ]
    )

    history = store.history(TERMINAL, HALL)
    window = store.history(
        TERMINAL, HALL, start=T0 + timedelta(minutes=30), end=T0 + timedelta(minutes=90)
    )
    state = store.states()[(TERMINAL, HALL)]

    assert [(t.from_state, t.to_state, t.cause) for t in history] == [
        (HealthState.DOWN, HealthState.OK, "ok"),
        (HealthState.OK, HealthState.DOWN, "connection refused"),
        (HealthState.UNKNOWN, HealthState.OK, "ok"),
    ]
    assert [t.cause for t in window] == ["connection refused"]
    assert (state.state, state.since) == (HealthState.OK, T0 + timedelta(hours=2))


def test_samples_add_up_per_day_and_keep_the_latest_poll(store: SqlHealthStore) -> None:
    day = date(2026, 11, 24)
    store.record([transition(HealthState.UNKNOWN, HealthState.OK, T0, "ok")])
    for rtt, down in ((30.0, 0.0), (80.0, 60.0)):
        store.flush(
            [
                SeenWrite(
                    TERMINAL, HALL, HealthState.OK, T0, "ok", T0 + timedelta(minutes=5), rtt, False
                )
            ],
            [
                UptimeWrite(
                    TERMINAL,
                    HALL,
                    day,
                    Uptime(
                        ok_s=240.0,
                        down_s=down,
                        polls=10,
                        failures=1,
                        rtt_sum_ms=rtt * 9,
                        rtt_max_ms=rtt,
                    ),
                )
            ],
        )

    [row] = store.uptime(TERMINAL, HALL, day, day)
    view = store.device(TERMINAL, HALL)

    assert (row.uptime.ok_s, row.uptime.down_s, row.uptime.polls) == (480.0, 60.0, 20)
    assert row.uptime.rtt_max_ms == 80.0
    assert row.uptime.availability == pytest.approx(480 / 540)
    assert view is not None
    assert (view.state.rtt_ms, view.state.in_call, view.device.site_name) == (
        80.0,
        False,
        "МБОУ «СОШ №20»",
    )


def test_one_unresolved_alert_per_device_and_escalation_is_compare_and_set(
    store: SqlHealthStore,
) -> None:
    alert = store.open_new_alert(
        TERMINAL, HALL, HealthState.DOWN, "connection refused", "kuzbass/kemerovo/kem-school-20", T0
    )
    with pytest.raises(Conflict):
        store.open_new_alert(TERMINAL, HALL, HealthState.DOWN, "again", "", T0)
    store.mark_notified(alert.id, T0)

    due = store.due_escalations(T0 + timedelta(minutes=1), max_level=1)
    first = store.escalate(alert.id, 0, T0 + timedelta(minutes=15))
    second = store.escalate(alert.id, 0, T0 + timedelta(minutes=15))
    store.resolve(alert.id, T0 + timedelta(hours=1), "ok")
    reopened = store.reopen(
        alert.id, HealthState.DOWN, "connection refused", T0 + timedelta(hours=1, minutes=5)
    )

    assert [a.id for a in due] == [alert.id]
    assert (first, second) == (True, False)
    assert reopened
    current = store.open_alert(TERMINAL, HALL)
    assert current is not None and (current.level, current.flaps) == (1, 1)
    assert [a.id for a in store.alerts(path="kuzbass/kemerovo")] == [alert.id]
    assert store.alerts(path="kuzbass/novokuznetsk") == []


def test_an_organisation_filter_takes_underscores_literally(store: SqlHealthStore) -> None:
    """`nvkz_1` (an imported id) is not `nvkz-1`: a LIKE wildcard must not show one
    organisation's alerts or devices under another's filter."""
    store.open_new_alert(
        TERMINAL, HALL, HealthState.DOWN, "connection refused", "kuzbass/nvkz-1/nvkz-school-7", T0
    )

    assert store.alerts(path="kuzbass/nvkz_1") == []
    assert store.devices(path="kuzbass/kemerov_") == []
    assert [a.device_id for a in store.alerts(path="kuzbass/nvkz-1")] == [HALL]
    assert [v.device.id for v in store.devices(path="kuzbass/kemerovo")] == [HALL]


def test_a_shard_is_held_by_one_monitor_until_its_lease_expires(store: SqlHealthStore) -> None:
    store.ensure_shards(4)
    until = T0 + timedelta(seconds=30)

    a_takes = store.claim("monitor-a", 2, T0, until)
    b_takes = store.claim("monitor-b", 2, T0 + timedelta(seconds=10), until)
    b_after_expiry = store.claim(
        "monitor-b", 2, T0 + timedelta(seconds=31), T0 + timedelta(minutes=1)
    )
    a_renews = store.renew("monitor-a", [2], T0 + timedelta(minutes=2))

    assert (a_takes, b_takes, b_after_expiry) == (True, False, True)
    assert a_renews == set()
    assert store.shard_owners()[2][0] == "monitor-b"


def test_a_partial_broadcast_moved_shorter_than_its_offset_is_watched_over_its_online_window(
    store: SqlHealthStore, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    """The sub-slot (35 min in, 5 min long) fitted the 40-minute lesson; the lesson was then
    moved into a 30-minute slot, so the offset is past its end. The window the at-risk rule
    watches is the lifecycle's online window (the whole lesson), never an inverted one."""
    start = T0 + timedelta(days=1)  # Wednesday 08:00 in Kemerovo
    with uow_factory() as uow:
        uow.academic_years.add(YEAR_2026_27)
        uow.commit()
    rcc = Principal("rcc-operator", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    booked = create_booking(
        uow_factory(),
        rcc,
        BookingRequest(
            title="Химия 11Б — опыт в прямом эфире",
            kind=SessionKind.PARTIAL_BROADCAST,
            host_school_id="kem-school-20",
            teacher="Петрова Анна Сергеевна",
            participants=[Participant("kem-school-20", HALL, "board", "11Б")],
            broadcast_offset_minutes=35,
            broadcast_minutes=5,
            start=start,
            end=start + timedelta(minutes=40),
        ),
        now=T0,
    )
    occurrence_id = booked.occurrences[0].id
    move_occurrence(
        uow_factory(), rcc, occurrence_id, now=T0, start=start, end=start + timedelta(minutes=30)
    )
    store.set_at_risk({occurrence_id: "health: terminal term-kem-20-hall is down"}, T0)

    [session] = store.sessions(start - timedelta(hours=1), start + timedelta(hours=1))
    [at_risk] = store.at_risk(start - timedelta(hours=1), start + timedelta(hours=1))

    expected = online_window(
        SessionKind.PARTIAL_BROADCAST, start, start + timedelta(minutes=30), 35, 5
    )
    assert expected == (start, start + timedelta(minutes=30))
    assert (session.start, session.end) == expected
    assert (at_risk.occurrence_id, at_risk.start, at_risk.end) == (occurrence_id, *expected)


def test_a_flag_says_since_when_it_is_raised_through_rewordings_until_cleared(
    store: SqlHealthStore, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    start = T0 + timedelta(hours=3)  # Tuesday 11:00 in Kemerovo
    with uow_factory() as uow:
        uow.academic_years.add(YEAR_2026_27)
        uow.commit()
    rcc = Principal("rcc-operator", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    booked = create_booking(
        uow_factory(),
        rcc,
        BookingRequest(
            title="Физика 9А — законы Ньютона",
            kind=SessionKind.FULL_BROADCAST,
            host_school_id="kem-school-20",
            teacher="Иванова Мария Петровна",
            participants=[Participant("kem-school-20", HALL, "board", "9А")],
            start=start,
            end=start + timedelta(minutes=40),
        ),
        now=T0,
    )
    lesson = booked.occurrences[0].id
    window = (start - timedelta(hours=1), start + timedelta(hours=1))

    def since() -> datetime | None:
        return store.sessions(*window)[0].at_risk_since

    store.set_at_risk({lesson: "health: terminal term-kem-20-hall is down"}, T0)
    raised = since()
    store.set_at_risk({lesson: "health: terminal term-kem-20-hall is degraded"}, T0 + MINUTE)
    reworded = since()
    store.set_at_risk({lesson: ""}, T0 + 2 * MINUTE)
    cleared = since()

    assert raised == T0
    assert reworded == T0
    assert cleared is None
