"""Idempotency keys: the first request claims a key, repeats see it in flight or answered,
another caller's key of the same name is theirs, expired keys can be claimed afresh."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.storage.idempotency import IdempotencyRecord
from adapters.storage.unit_of_work import SqlUnitOfWork

UowFactory = Callable[[], SqlUnitOfWork]
NOON = datetime(2026, 9, 1, 5, 0, tzinfo=UTC)  # 12:00 in Кемерово


def record(principal: str = "scheduler-kem", key: str = "upsert-2026-09-01", *, at: datetime = NOON,
           body_hash: str = "sha256:aa") -> IdempotencyRecord:  # fmt: skip
    return IdempotencyRecord(
        principal=principal,
        key=key,
        method="POST",
        path="/api/v1/timetable",
        request_hash=body_hash,
        created_at=at,
        expires_at=at + timedelta(hours=24),
    )


def claim(uow_factory: UowFactory, item: IdempotencyRecord) -> IdempotencyRecord | None:
    with uow_factory() as uow:
        found = uow.idempotency.claim(item)
        uow.commit()
        return found


def test_a_new_key_is_claimed_and_a_repeat_sees_it_in_flight(uow_factory: UowFactory) -> None:
    first = claim(uow_factory, record())
    repeat = claim(uow_factory, record(at=NOON + timedelta(seconds=2)))

    assert first is None
    assert repeat is not None and repeat.in_flight
    assert repeat.matches("POST", "/api/v1/timetable", "sha256:aa")
    assert not repeat.matches("POST", "/api/v1/timetable", "sha256:bb")


def test_an_answered_key_replays_the_stored_response(uow_factory: UowFactory) -> None:
    claim(uow_factory, record())
    with uow_factory() as uow:
        uow.idempotency.complete(
            "scheduler-kem",
            "upsert-2026-09-01",
            status=201,
            body='{"created": 42, "школа": "СОШ №20"}',
            headers={"content-type": "application/json", "location": "/api/v1/bookings/b-1"},
        )
        uow.commit()

    replay = claim(uow_factory, record(at=NOON + timedelta(minutes=5)))

    assert replay is not None and not replay.in_flight
    assert replay.status == 201
    assert replay.response_body == '{"created": 42, "школа": "СОШ №20"}'
    assert replay.response_headers["location"] == "/api/v1/bookings/b-1"
    assert replay.created_at == NOON and replay.created_at.tzinfo is UTC


def test_keys_belong_to_their_caller(uow_factory: UowFactory) -> None:
    claim(uow_factory, record(principal="scheduler-kem"))
    assert claim(uow_factory, record(principal="scheduler-nvk")) is None


def test_an_expired_key_is_claimed_afresh_and_purged(uow_factory: UowFactory) -> None:
    claim(uow_factory, record(key="old"))
    claim(uow_factory, record(key="stale"))
    tomorrow = NOON + timedelta(hours=25)

    fresh = claim(uow_factory, record(key="old", at=tomorrow, body_hash="sha256:cc"))
    with uow_factory() as uow:
        purged = uow.idempotency.purge_expired(tomorrow)
        kept = uow.idempotency.get("scheduler-kem", "old", now=tomorrow)
        uow.commit()

    assert fresh is None
    assert purged == 1  # "stale"; "old" was renewed
    assert kept is not None and kept.request_hash == "sha256:cc" and kept.in_flight


def test_a_forgotten_key_may_run_again(uow_factory: UowFactory) -> None:
    claim(uow_factory, record())
    with uow_factory() as uow:
        uow.idempotency.forget("scheduler-kem", "upsert-2026-09-01")
        uow.commit()
    assert claim(uow_factory, record(at=NOON + timedelta(seconds=30))) is None


def test_only_the_claim_commits_without_waiting_for_the_disk(uow_factory: UowFactory) -> None:
    """ADR 0021: a claim lost in a crash only frees its key, so its transaction need not
    wait for the WAL flush; the stored answer and the work itself still do."""
    with uow_factory() as uow:
        uow.idempotency.claim(record())
        during_claim = _synchronous_commit(uow)
        uow.commit()
    with uow_factory() as uow:
        uow.idempotency.complete(
            "scheduler-kem", "upsert-2026-09-01", status=201, body="{}", headers={}
        )
        during_answer = _synchronous_commit(uow)
        uow.commit()

    if uow_factory().engine.dialect.name == "postgresql":
        assert (during_claim, during_answer) == ("off", "on")
    else:  # SQLite has no such setting: every commit is the same
        assert (during_claim, during_answer) == (None, None)


def _synchronous_commit(uow: SqlUnitOfWork) -> str | None:
    if uow.connection.dialect.name != "postgresql":
        return None
    return str(uow.connection.exec_driver_sql("SHOW synchronous_commit").scalar_one())


def test_a_claim_at_once_commits_by_itself_in_one_round_trip_fewer(
    uow_factory: UowFactory, tmp_path: Path
) -> None:
    """ADR 0025: the API's claim is its own transaction; `at_once` sends its COMMIT with
    its upsert (PostgreSQL) — the key is taken before the caller's `commit()`, which then
    has nothing left to send."""
    with uow_factory() as uow, _round_trips(uow, tmp_path / "plain") as plain:
        uow.idempotency.claim(record(key="plain"))
        uow.commit()
    with uow_factory() as uow, _round_trips(uow, tmp_path / "at-once") as at_once:
        first = uow.idempotency.claim(record(), at_once=True)
        repeat = claim(uow_factory, record(at=NOON + timedelta(seconds=1)))  # from elsewhere
        uow.commit()

    assert first is None
    assert repeat is not None and repeat.in_flight
    if uow_factory().engine.dialect.name == "postgresql":
        assert at_once[0] == plain[0] - 1  # the COMMIT went with the upsert


@contextmanager
def _round_trips(uow: SqlUnitOfWork, trace: Path) -> Iterator[list[int]]:
    """The round trips this unit of work's connection makes (PostgreSQL: libpq's trace of
    the protocol, each Sync or simple Query the client sends waits for the server)."""
    counted = [0]
    if uow.connection.dialect.name != "postgresql":
        yield counted
        return
    driver: Any = uow.connection.connection.driver_connection
    with trace.open("w") as out:
        driver.pgconn.trace(out.fileno())
        try:
            yield counted
        finally:
            driver.pgconn.untrace()
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    counted[0] = sum(1 for part in sent if len(part) > 3 and part[1] == "F"
                     and part[3] in ("Sync", "Query"))  # fmt: skip
