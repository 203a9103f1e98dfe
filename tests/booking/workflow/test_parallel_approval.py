"""Specification: two RCC operators approving overlapping combined requests at the same
moment cannot double-book a terminal — on PostgreSQL the exclusion constraint decides the
race the checks could not see (SQLite serialises the writers); the loser's approval writes
nothing and its requests stay undecided."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from booking.access import Principal, Role
from booking.errors import Conflict
from booking.messagebus import MessageBus
from booking.services.workflow.approval import approve_combined
from booking.services.workflow.combining import assemble, submit_combined
from booking.workflow.requests import RequestState
from tests.booking.conftest import SqlDatabases, UowFactory
from tests.booking.kuzbass import Region
from tests.booking.workflow.flows import NOW, a_submitted_request, an_offer, published, workflow


@pytest.fixture(
    params=[pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("sqlite")]
)
def uow_factory(
    request: pytest.FixtureRequest, sql_databases: SqlDatabases, bus: MessageBus
) -> Iterator[UowFactory]:
    yield sql_databases.fresh(request.param, bus)


def test_two_operators_approving_overlapping_requests_book_the_terminal_once(
    uow_factory: UowFactory, region: Region
) -> None:
    uow = workflow(uow_factory)
    # СОШ №12 asks, in two requests combined separately, for two lessons at the same time
    physics = an_offer(uow)
    informatics = an_offer(
        uow, subject="Информатика", host_terminal_id="term-kem-20-it", teacher="Петров П. П."
    )
    published(uow, region, physics, informatics)
    first = a_submitted_request(uow, "kem-school-12", (physics, "9А", 20, "term-kem-12"))
    second = a_submitted_request(uow, "kem-school-12", (informatics, "9Б", 20, "term-kem-12"))
    combined = []
    for request in (first, second):
        made = assemble(uow(), region.network_admin, "kem-net-1", [request.id], now=NOW)
        combined.append(submit_combined(uow(), region.network_admin, made.id, now=NOW).id)
    operators = [Principal(f"rcc-{n}", Role.RCC_OPERATOR, "kuzbass", "kuzbass") for n in (1, 2)]
    start = threading.Barrier(2)

    def approve(n: int) -> str:
        start.wait()
        try:
            approve_combined(uow(), operators[n], combined[n], now=NOW)
        except Conflict as lost:
            return lost.code
        return "approved"

    # act
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(approve, range(2)))

    # assert: one approval, one refusal; the terminal holds one lesson per Tuesday
    assert outcomes == ["approved", "booking_conflict"]
    with uow() as reading:
        states = sorted(str(reading.workflow.requests.get(r.id).state) for r in (first, second))  # type: ignore[union-attr]
        busy = reading.occurrences.reservations_overlapping(
            ["term-kem-12"], [(NOW, NOW.replace(year=2027))]
        )
    assert states == sorted([str(RequestState.APPROVED), str(RequestState.INCLUDED)])
    assert len({r.booking_id for r in busy}) == 1
