"""An unanswered idempotency claim is a lease: once it is older than the lease, the next
request with the key takes it over — of several racing for it exactly one — and the
request that lost it can neither overwrite nor drop its successor's claim."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from adapters.storage.idempotency import IdempotencyRecord
from adapters.storage.unit_of_work import SqlUnitOfWork
from tests.storage.test_idempotency import NOON, claim, record

UowFactory = Callable[[], SqlUnitOfWork]
LEASE = timedelta(seconds=60)


def claim_after(uow_factory: UowFactory, item: IdempotencyRecord) -> IdempotencyRecord | None:
    with uow_factory() as uow:
        found = uow.idempotency.claim(item, stale_before=item.created_at - LEASE)
        uow.commit()
        return found


def test_an_unanswered_claim_is_held_for_its_lease_then_taken_over(
    uow_factory: UowFactory,
) -> None:
    claim(uow_factory, record())

    within = claim_after(uow_factory, record(at=NOON + timedelta(seconds=59)))
    after = claim_after(uow_factory, record(at=NOON + timedelta(seconds=60)))

    assert within is not None and within.in_flight
    assert after is None  # taken over: this request runs


def test_an_answered_key_is_never_taken_over(uow_factory: UowFactory) -> None:
    claim(uow_factory, record())
    with uow_factory() as uow:
        uow.idempotency.complete("scheduler-kem", "upsert-2026-09-01", status=201, body="{}")
        uow.commit()

    later = claim_after(uow_factory, record(at=NOON + timedelta(hours=1)))

    assert later is not None and later.status == 201


def test_a_renewed_claim_keeps_its_lease(uow_factory: UowFactory) -> None:
    claim(uow_factory, record())
    with uow_factory() as uow:
        renewed = uow.idempotency.renew(
            "scheduler-kem", "upsert-2026-09-01", claimed_at=NOON, now=NOON + timedelta(seconds=40)
        )
        uow.commit()

    retry = claim_after(uow_factory, record(at=NOON + timedelta(seconds=70)))

    assert renewed
    assert retry is not None and retry.in_flight


def test_the_request_that_lost_its_lease_cannot_touch_its_successors_claim(
    uow_factory: UowFactory,
) -> None:
    claim(uow_factory, record())
    successor_at = NOON + timedelta(minutes=2)
    claim_after(uow_factory, record(at=successor_at))

    with uow_factory() as uow:  # the slow first request finally ends
        renewed = uow.idempotency.renew(
            "scheduler-kem", "upsert-2026-09-01", claimed_at=NOON, now=successor_at
        )
        uow.idempotency.complete(
            "scheduler-kem", "upsert-2026-09-01", status=422, body="{}", claimed_at=NOON
        )
        uow.idempotency.forget("scheduler-kem", "upsert-2026-09-01", claimed_at=NOON)
        uow.commit()
    held = claim_after(uow_factory, record(at=successor_at + timedelta(seconds=1)))

    assert not renewed
    assert held is not None
    assert held.in_flight
    assert held.created_at == successor_at


def test_of_retries_racing_for_a_dead_claim_exactly_one_takes_it(
    uow_factory: UowFactory,
) -> None:
    claim(uow_factory, record())
    retry_at = NOON + timedelta(minutes=5)
    start = threading.Barrier(6)
    taken: list[bool] = []

    def retry() -> None:
        start.wait()
        taken.append(claim_after(uow_factory, record(at=retry_at)) is None)

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(taken) == [False] * 5 + [True]
