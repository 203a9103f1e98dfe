"""The automation's store, one contract for every implementation: the memory store the
decision specifications run on, and the SQL store on SQLite and PostgreSQL. Leases,
compare-and-set transitions, the room registry's generations and the outbox behave the
same on each, so what the fakes prove holds for the database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine

from adapters.storage.automation import SqlAutomationStore
from adapters.storage.engine import create_engine_for
from adapters.storage.schema import upgrade
from adapters.storage.unit_of_work import sql_uow_factory
from booking.automation_memory import MemoryAutomationStore
from booking.automation_store import (
    STATE_CHANGED,
    AutomationStore,
    NewEvent,
    PlanWrite,
    RoomRecord,
    TransitionWrite,
)
from booking.bookings import OccurrenceState
from booking.lifecycle import WAITING, Step
from tests.automation.fakes import lesson
from tests.conftest import empty_database, empty_tables
from tests.storage.region import kuzbass, local, occurrence_of, seed, store, weekly_lesson

S = OccurrenceState
DAY = date(2026, 9, 1)  # a Tuesday of the physics lessons of `weekly_lesson`
NOW = local(DAY, time(8, 55)).astimezone(UTC)
LEASE = timedelta(minutes=2)
PHYSICS, CHEMISTRY = "occ-physics-7a", "occ-physics-7a-repeat"


@pytest.fixture(
    scope="module",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine | None]:
    if request.param == "memory":
        yield None
        return
    with empty_database(request.param, tmp_path_factory.mktemp("db"), request) as url:
        upgrade(url)
        engine = create_engine_for(url)
        yield engine
        engine.dispose()


@pytest.fixture
def kept(backend: Engine | None) -> AutomationStore:
    """The store, holding two scheduled lessons of one booking (9:00 and 10:00 in Kemerovo)."""
    booking = weekly_lesson()
    first = occurrence_of(booking, DAY, time(9, 0), time(9, 40), PHYSICS)
    second = occurrence_of(booking, DAY, time(10, 0), time(10, 40), CHEMISTRY)
    if backend is None:
        memory = MemoryAutomationStore()
        for o in (first, second):
            memory.add_session(
                lesson(o.id, start=o.start, booking_id=booking.id, terminal_ids=o.terminal_ids)
            )
        return memory
    empty_tables(backend)
    factory = sql_uow_factory(backend)
    seed(factory, kuzbass())
    store(factory, booking, first, second)
    return SqlAutomationStore(backend)


def plan(occurrence_id: str, step: Step, due: datetime | None, version: int = 1) -> PlanWrite:
    return PlanWrite(occurrence_id, step, due, occurrence_version=version, booking_version=1)


# --- the plan and its leases --------------------------------------------------------------------
def test_a_due_step_is_claimed_by_one_worker_until_its_lease_runs_out(
    kept: AutomationStore,
) -> None:
    kept.write_plans(
        [plan(PHYSICS, Step.START, NOW), plan(CHEMISTRY, Step.PREFLIGHT, NOW + timedelta(hours=1))],
        NOW,
    )

    first = kept.claim(NOW, "worker-1", LEASE, 10)
    second = kept.claim(NOW + timedelta(seconds=30), "worker-2", LEASE, 10)
    taken_over = kept.claim(NOW + LEASE + timedelta(seconds=1), "worker-2", LEASE, 10)

    assert [(c.occurrence_id, c.step, c.attempts) for c in first] == [(PHYSICS, Step.START, 1)]
    assert second == []
    assert [(c.occurrence_id, c.attempts) for c in taken_over] == [(PHYSICS, 2)]
    assert kept.plans([PHYSICS])[PHYSICS].lease_owner == "worker-2"


def test_a_heartbeat_renews_only_its_own_leases(kept: AutomationStore) -> None:
    kept.write_plans([plan(PHYSICS, Step.START, NOW), plan(CHEMISTRY, Step.START, NOW)], NOW)
    kept.claim(NOW, "worker-1", LEASE, 1)
    kept.claim(NOW, "worker-2", LEASE, 1)
    mine = next(
        o for o, p in kept.plans([PHYSICS, CHEMISTRY]).items() if p.lease_owner == "worker-1"
    )
    theirs = CHEMISTRY if mine == PHYSICS else PHYSICS
    later = NOW + LEASE + timedelta(seconds=30)

    renewed = kept.renew([PHYSICS, CHEMISTRY], "worker-1", later)

    plans = kept.plans([PHYSICS, CHEMISTRY])
    assert renewed == 1
    assert plans[mine].lease_until == later
    assert plans[theirs].lease_until == NOW + LEASE


def test_a_plan_leased_by_another_worker_is_left_alone_and_the_owner_releases_it(
    kept: AutomationStore,
) -> None:
    kept.write_plans([plan(PHYSICS, Step.START, NOW)], NOW)
    kept.claim(NOW, "worker-1", LEASE, 10)

    by_other = kept.write_plans([plan(PHYSICS, Step.END, NOW)], NOW, owner="worker-2")
    made_due = kept.make_due([PHYSICS], Step.END, NOW)
    by_owner = kept.write_plans(
        [plan(PHYSICS, Step.END, NOW + timedelta(minutes=45))], NOW, owner="worker-1"
    )

    row = kept.plans([PHYSICS])[PHYSICS]
    assert (by_other, made_due, by_owner) == (set(), set(), {PHYSICS})
    assert (row.step, row.status, row.lease_owner) == (Step.END, "pending", None)


def test_due_instants_count_pending_steps_and_expiring_leases(kept: AutomationStore) -> None:
    kept.write_plans(
        [
            plan(PHYSICS, Step.START, NOW + timedelta(seconds=1, microseconds=250)),
            plan(CHEMISTRY, Step.NONE, None),
        ],
        NOW,
    )

    assert kept.due_instants(NOW + timedelta(hours=2)) == [NOW + timedelta(seconds=1)]
    assert kept.next_due() == NOW + timedelta(seconds=1, microseconds=250)
    assert (kept.count_due(NOW), kept.count_due(NOW + timedelta(seconds=2))) == (0, 1)
    kept.claim(NOW + timedelta(seconds=2), "worker-1", LEASE, 10)
    assert kept.next_due() == NOW + timedelta(seconds=2) + LEASE


def test_a_released_step_keeps_its_step_and_says_what_went_wrong(kept: AutomationStore) -> None:
    kept.write_plans([plan(PHYSICS, Step.START, NOW)], NOW)
    kept.claim(NOW, "worker-1", LEASE, 10)

    kept.release([PHYSICS], "worker-1", NOW, "RuntimeError: the loop was closed")

    row = kept.plans([PHYSICS])[PHYSICS]
    assert (row.step, row.status, row.last_error) == (
        Step.START,
        "pending",
        "RuntimeError: the loop was closed",
    )


def test_a_dead_workers_steps_are_claimable_at_once_and_a_live_workers_stay_its(
    kept: AutomationStore,
) -> None:
    kept.write_plans([plan(PHYSICS, Step.START, NOW), plan(CHEMISTRY, Step.START, NOW)], NOW)
    (killed,) = kept.claim(NOW, "worker-killed", LEASE, 1)
    (alive,) = kept.claim(NOW, "worker-alive", LEASE, 1)
    a_second_later = NOW + timedelta(seconds=1)

    released = kept.release_workers({"worker-killed", "worker-gone-idle"}, a_second_later)
    taken_over = kept.claim(a_second_later, "worker-survivor", LEASE, 10)

    assert released == 1
    assert [(c.occurrence_id, c.step, c.due_at, c.attempts) for c in taken_over] == [
        (killed.occurrence_id, Step.START, NOW, 2)
    ]
    assert kept.plans([alive.occurrence_id])[alive.occurrence_id].lease_owner == "worker-alive"


def test_unplanned_and_outdated_occurrences_are_plan_candidates(kept: AutomationStore) -> None:
    window = {"ends_after": NOW - timedelta(hours=1), "starts_before": NOW + timedelta(hours=3)}
    before = {c.occurrence_id: c.has_plan for c in kept.plan_candidates(**window)}
    versions = {i: s.occurrence_version for i, s in kept.sessions([PHYSICS, CHEMISTRY]).items()}
    kept.write_plans([plan(i, Step.START, NOW, versions[i]) for i in versions], NOW)
    planned = kept.plan_candidates(**window)
    kept.transition([TransitionWrite(PHYSICS, S.CHECKING, WAITING, cause="preflight")], NOW)

    after = [(c.occurrence_id, c.has_plan) for c in kept.plan_candidates(**window)]

    assert before == {PHYSICS: False, CHEMISTRY: False}
    assert planned == []
    assert after == [(PHYSICS, True)]  # its version moved on


# --- transitions, history, outbox ---------------------------------------------------------------
def test_a_transition_applies_only_from_its_allowed_states_with_history_and_an_event(
    kept: AutomationStore,
) -> None:
    version = kept.sessions([PHYSICS])[PHYSICS].occurrence_version
    to_preparing = TransitionWrite(
        PHYSICS, S.PREPARING, WAITING, cause="start", at=NOW, details={"late_s": 0.4}
    )

    applied = kept.transition([to_preparing], NOW)
    again = kept.transition([to_preparing], NOW)

    session = kept.sessions([PHYSICS])[PHYSICS]
    (history,) = kept.history(PHYSICS)
    (event,) = kept.events(PHYSICS)
    assert [(a.from_state, a.to_state, a.booking_id) for a in applied] == [
        (S.SCHEDULED, S.PREPARING, "b-physics-7a")
    ]
    assert again == []
    assert (session.state, session.occurrence_version) == (S.PREPARING, version + 1)
    assert (history.from_state, history.to_state, history.details) == (
        "scheduled",
        "preparing",
        {"late_s": 0.4},
    )
    assert (event.type, event.payload["from"], event.payload["to"]) == (
        STATE_CHANGED,
        "scheduled",
        "preparing",
    )
    assert event.payload["at"] == NOW.isoformat()


def test_transitions_of_one_occurrence_in_one_write_apply_in_order(
    kept: AutomationStore,
) -> None:
    checked = TransitionWrite(PHYSICS, S.CHECKING, WAITING, cause="preflight")
    started = TransitionWrite(
        PHYSICS, S.PREPARING, frozenset({S.CHECKING}), cause="start", at_risk=""
    )
    risky = TransitionWrite(
        CHEMISTRY, S.CHECKING, WAITING, cause="preflight", at_risk="terminal term-kem41-1: busy"
    )

    applied = kept.transition([checked, started, risky], NOW)

    sessions = kept.sessions([PHYSICS, CHEMISTRY])
    assert [a.to_state for a in applied] == [S.CHECKING, S.PREPARING, S.CHECKING]
    assert sessions[PHYSICS].state is S.PREPARING  # the last of its transitions
    assert [h.to_state for h in kept.history(PHYSICS)] == ["checking", "preparing"]
    assert (sessions[CHEMISTRY].state, sessions[CHEMISTRY].at_risk) == (
        S.CHECKING,
        "terminal term-kem41-1: busy",
    )


def test_a_transition_without_a_flag_keeps_the_at_risk_flag(kept: AutomationStore) -> None:
    flagged = "camera cam-kem20-1: unreachable"
    kept.transition(
        [TransitionWrite(PHYSICS, S.CHECKING, WAITING, cause="preflight", at_risk=flagged)], NOW
    )

    kept.transition([TransitionWrite(PHYSICS, S.PREPARING, WAITING, cause="start")], NOW)

    session = kept.sessions([PHYSICS])[PHYSICS]
    assert (session.state, session.at_risk) == (S.PREPARING, flagged)


def test_a_note_sets_the_at_risk_flag_without_a_state_change(kept: AutomationStore) -> None:
    kept.note(
        PHYSICS,
        "preflight",
        "at risk: camera cam-kem20-1: unreachable",
        NOW,
        at_risk="camera cam-kem20-1: unreachable",
        event=NewEvent("occurrence.at_risk", PHYSICS, {"at": NOW}),
    )

    session = kept.sessions([PHYSICS])[PHYSICS]
    (note,) = kept.history(PHYSICS)
    (event,) = kept.events(PHYSICS)
    assert (session.state, session.at_risk) == (S.SCHEDULED, "camera cam-kem20-1: unreachable")
    assert (note.from_state, note.to_state, note.cause) == ("scheduled", "scheduled", "preflight")
    assert event.payload == {"at": NOW.isoformat()}


def test_an_event_is_held_by_one_deliverer_and_retried_when_its_delivery_failed(
    kept: AutomationStore,
) -> None:
    kept.add_events([NewEvent("occurrence.at_risk", PHYSICS, {"n": 1})], NOW)
    kept.add_events([NewEvent("occurrence.at_risk", CHEMISTRY, {"n": 2})], NOW)

    (first, second) = kept.claim_events(NOW, timedelta(minutes=1))
    held = kept.claim_events(NOW + timedelta(seconds=5), timedelta(minutes=1))
    kept.delivered([first.id], NOW)
    kept.delivery_failed(second.id, NOW + timedelta(seconds=10), "HTTP 503")
    retried = kept.claim_events(NOW + timedelta(seconds=10), timedelta(minutes=1))

    assert [first.payload, second.payload] == [{"n": 1}, {"n": 2}]
    assert held == []
    assert [(e.id, e.attempts) for e in retried] == [(second.id, 2)]


# --- the room registry ------------------------------------------------------------------------
def test_the_first_room_claim_stands_and_an_ended_room_is_claimed_anew(
    kept: AutomationStore,
) -> None:
    first = kept.claim_rooms([(PHYSICS, "bbb-1")], NOW)[PHYSICS]
    racing = kept.claim_rooms([(PHYSICS, "bbb-2")], NOW)[PHYSICS]
    kept.room_ended([PHYSICS], NOW + timedelta(minutes=40))
    anew = kept.claim_rooms([(PHYSICS, "bbb-2")], NOW + timedelta(minutes=41))[PHYSICS]

    assert (first.server_id, first.generation) == ("bbb-1", 1)
    assert (racing.server_id, racing.generation) == ("bbb-1", 1)
    assert (anew.server_id, anew.generation, anew.ended_at) == ("bbb-2", 2, None)


def test_a_room_moves_off_a_dead_server_once_and_keeps_what_the_platform_said(
    kept: AutomationStore,
) -> None:
    claim = kept.claim_rooms([(PHYSICS, "bbb-1")], NOW)[PHYSICS]

    moved = kept.move_room(PHYSICS, claim.generation, "bbb-2", NOW)
    lost_race = kept.move_room(PHYSICS, claim.generation, "bbb-3", NOW)
    assert moved is not None
    recorded: RoomRecord = replace(
        moved,
        room_id="vks-physics-7a",
        platform="bbb",
        sip_address="sip:71234@bbb-2.rcc.example.ru",
        details={"voice_bridge": "71234"},
    )
    kept.record_rooms([recorded])

    room = kept.rooms([PHYSICS])[PHYSICS]
    assert lost_race is None
    assert (room.server_id, room.generation, room.room_id) == ("bbb-2", 2, "vks-physics-7a")
    assert room.details == {"voice_bridge": "71234"}
    assert kept.open_rooms_on("bbb-2") == [room]
    assert kept.open_room_counts() == {"bbb-2": 1}
    assert kept.sessions([PHYSICS], full=False)[PHYSICS].room == room


def test_running_sessions_are_found_by_state_and_their_terminals_by_occurrence(
    kept: AutomationStore,
) -> None:
    kept.transition([TransitionWrite(PHYSICS, S.PREPARING, WAITING, cause="start")], NOW)
    terminals = kept.sessions([PHYSICS])[PHYSICS].terminal_ids

    running = kept.active_occurrences([S.PREPARING, S.LIVE])
    in_call = kept.terminals_in_running_sessions(terminals, CHEMISTRY)
    own = kept.terminals_in_running_sessions(terminals, PHYSICS)

    assert running == [PHYSICS]
    assert in_call == set(terminals)
    assert own == set()
    assert kept.occurrences_of_bookings(
        ["b-physics-7a"], starts_before=NOW + timedelta(hours=1)
    ) == [PHYSICS]


def test_terminals_are_read_by_id_and_unknown_ids_are_left_out(kept: AutomationStore) -> None:
    known = kept.sessions([PHYSICS])[PHYSICS].terminals

    found = kept.terminals([*known, "term-nowhere"])

    assert found == known


def test_a_flag_keeps_since_when_it_was_raised_until_it_is_cleared(kept: AutomationStore) -> None:
    later = NOW + timedelta(minutes=25)
    kept.transition(
        [TransitionWrite(PHYSICS, S.CHECKING, WAITING, cause="preflight", at_risk="camera: gone")],
        NOW,
    )
    raised = kept.sessions([PHYSICS])[PHYSICS].at_risk_since
    kept.transition([TransitionWrite(PHYSICS, S.PREPARING, WAITING, cause="start")], later)
    kept_through = kept.sessions([PHYSICS])[PHYSICS].at_risk_since
    kept.note(PHYSICS, "start", "all in", later, at_risk="")
    cleared = kept.sessions([PHYSICS])[PHYSICS]

    assert raised == NOW
    assert kept_through == NOW
    assert (cleared.at_risk, cleared.at_risk_since) == ("", None)


def test_each_lesson_keeps_the_peak_of_people_seen_in_its_room_by_link(
    kept: AutomationStore,
) -> None:
    kept.note_link_peaks({PHYSICS: 3, CHEMISTRY: 0})  # the first poll: three parents
    kept.note_link_peaks({PHYSICS: 7})  # the class's sick pupils joined too
    kept.note_link_peaks({PHYSICS: 2})  # most left before the end

    assert kept.link_peaks([PHYSICS, CHEMISTRY]) == {PHYSICS: 7}
    assert kept.link_peaks([]) == {}


def test_a_room_moved_off_a_server_is_remembered_as_left_there_until_forgotten(
    kept: AutomationStore,
) -> None:
    claimed = kept.claim_rooms([(PHYSICS, "bbb-1")], NOW)[PHYSICS]
    kept.move_room(PHYSICS, claimed.generation, "bbb-2", NOW + timedelta(seconds=5))

    left = kept.left_rooms(["bbb-1", "bbb-2"])
    kept.forget_left([(PHYSICS, "bbb-1")])

    assert [(r.occurrence_id, r.server_id) for r in left] == [(PHYSICS, "bbb-1")]
    assert left[0].left_at == NOW + timedelta(seconds=5)
    assert kept.left_rooms(["bbb-1"]) == []
