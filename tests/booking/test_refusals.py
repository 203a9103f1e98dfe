"""A refused create (ADR 0024): what it tells — every conflict in words, the alternatives,
the per-date report — is what the rules and the alternatives read one by one tell, on
memory, SQLite and PostgreSQL; on PostgreSQL it waits for the database three times (BEGIN
with the change counters, the rules' reads, the refusal's reads with its ROLLBACK)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from booking.access import Principal
from booking.bookings import Participant, Recurrence, SessionKind
from booking.errors import BookingConflict
from booking.repository import UnitOfWork
from booking.resources import PlatformKind
from booking.services import bookings as svc
from booking.services.alternatives import propose_alternatives
from booking.services.bookings import BookingRequest
from booking.services.lookups import Lookups
from booking.services.planning import Plan, draft_booking
from booking.services.policy import Policy
from booking.services.rules import check_rules
from tests.booking.kuzbass import BEFORE_YEAR, Region

UowFactory = Callable[[], UnitOfWork]
REFUSED = "b-refused"


def physics(**changes: Any) -> BookingRequest:
    """Weekly physics for 9А of the Insar school, taught from СОШ №20 (6th lesson, Tuesdays)."""
    request = BookingRequest(
        title="Физика, 9 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Иванова Анна Петровна",
        participants=[
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            Participant("insar-school-1", "term-insar-1", "class", "9А"),
        ],
        platform=PlatformKind.JITSI,
        subject="Физика",
        recurrence=Recurrence([1], date(2026, 9, 1), date(2026, 10, 24), lesson_number=6),
    )
    return replace(request, **changes)


def chemistry_on_the_same_hall(**changes: Any) -> BookingRequest:
    """A single lesson on the hall's terminal at physics' hour, with the same class."""
    request = BookingRequest(
        title="Химия, 9 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Петров П.П.",
        participants=[
            Participant("kem-school-20", "term-kem-20-hall", "teacher"),
            Participant("insar-school-1", "term-insar-1", "class", "9А"),
        ],
        on_date=date(2026, 9, 15),
        lesson_number=6,
    )
    return replace(request, **changes)


def refused(
    uow_factory: UowFactory,
    principal: Principal,
    request: BookingRequest,
    booking_id: str | None = REFUSED,
) -> Any:
    with pytest.raises(BookingConflict) as refusal:
        svc.create_booking(
            uow_factory(), principal, request, now=BEFORE_YEAR, booking_id=booking_id
        )
    return refusal.value.details


def read_one_by_one(uow_factory: UowFactory, principal: Principal, request: BookingRequest) -> Plan:
    """The refusal's plan the way it was made before ADR 0024: the rules' conflicts told in
    words by their own read, then the alternatives' own read."""
    policy = Policy()
    with uow_factory() as uow:
        lookups = Lookups(uow)
        draft = draft_booking(
            lookups, principal, request, booking_id=REFUSED, now=BEFORE_YEAR, policy=policy
        )
        plan = Plan(
            booking=draft.booking,
            zone=draft.host.zone,
            slots={s.local_date: s for s in draft.slots},
            planned=draft.planned,
            skipped=draft.skipped,
        )
        plan.conflicts = check_rules(
            lookups, draft.booking, draft.planned, ignore_booking_id=REFUSED
        )
        plan.alternatives = propose_alternatives(
            lookups, plan, draft.host, now=BEFORE_YEAR, policy=policy, ignore_booking_id=REFUSED
        )
        return plan


@pytest.mark.parametrize(
    "request_of",
    [chemistry_on_the_same_hall, lambda: physics(title="Физика, другой учитель")],
    ids=["single", "weekly"],
)
def test_a_refusal_tells_what_the_reads_one_by_one_tell(
    uow_factory: UowFactory, region: Region, request_of: Callable[[], BookingRequest]
) -> None:
    svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    request = request_of()

    details = refused(uow_factory, region.network_admin, request)

    before = read_one_by_one(uow_factory, region.network_admin, request)
    assert details["conflicts"] == before.conflicts
    assert [c.message for c in details["conflicts"]] == [c.message for c in before.conflicts]
    assert "Физика, 9 класс" in details["conflicts"][0].message
    assert details["alternatives"] == before.alternatives and before.alternatives
    assert details["report"] == before.report(written=False)
    assert "race" not in details


def test_a_refusal_leaves_nothing_and_the_next_create_goes_on(
    uow_factory: UowFactory, region: Region
) -> None:
    svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    uow = uow_factory()

    refused(lambda: uow, region.network_admin, chemistry_on_the_same_hall())
    written = svc.create_booking(
        uow, region.network_admin, chemistry_on_the_same_hall(lesson_number=3), now=BEFORE_YEAR
    )

    assert written.written
    with uow_factory() as reading:
        assert {b.title for b in reading.bookings.list()} == {"Физика, 9 класс", "Химия, 9 класс"}


@contextmanager
def libpq_traced(uow_factory: UowFactory) -> Iterator[list[str]]:
    """The messages libpq exchanges with the server while inside (PostgreSQL)."""
    engine = getattr(uow_factory(), "engine", None)
    if engine is None or engine.dialect.name != "postgresql":
        pytest.skip("round trips to PostgreSQL")
    lines: list[str] = []
    with tempfile.NamedTemporaryFile("r") as trace:
        fd = os.open(trace.name, os.O_WRONLY | os.O_APPEND)

        def on(dbapi: Any, *_: Any) -> None:
            dbapi.pgconn.trace(fd)

        def off(dbapi: Any, *_: Any) -> None:
            dbapi.pgconn.untrace()

        event.listen(engine, "checkout", on)
        event.listen(engine, "checkin", off)
        try:
            yield lines
        finally:
            event.remove(engine, "checkout", on)
            event.remove(engine, "checkin", off)
            os.close(fd)
            lines += trace.read().splitlines()


def test_a_refusal_waits_for_postgres_three_times_and_ends_its_transaction_with_its_reads(
    uow_factory: UowFactory, region: Region
) -> None:
    svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    request = chemistry_on_the_same_hall()
    refused(uow_factory, region.network_admin, request, None)  # the process's copies filled

    with libpq_traced(uow_factory) as trace:
        details = refused(uow_factory, region.network_admin, request, None)

    answered = [line.split("\t") for line in trace if "\tReadyForQuery\t" in line]
    assert len(answered) == 3  # BEGIN + counters, the rules' reads, the refusal's reads
    assert answered[-1][-1].strip() == "I"  # the last one left no transaction open
    sent = "\n".join(line for line in trace if "\tF\t" in line)
    assert "hold_expires_at" in sent and "ROLLBACK" in sent
    assert details["conflicts"] and details["alternatives"]


def test_a_hold_found_due_by_the_refusals_read_no_longer_blocks(
    uow_factory: UowFactory, region: Region
) -> None:
    held = svc.create_booking(
        uow_factory(), region.scheduler, physics(), now=BEFORE_YEAR, hold=True
    )
    later = BEFORE_YEAR + timedelta(minutes=Policy().hold_ttl_minutes + 1)

    written = svc.create_booking(
        uow_factory(), region.network_admin, chemistry_on_the_same_hall(), now=later
    )

    assert written.written
    with uow_factory() as uow:
        expired = uow.bookings.get(held.booking.id)
        assert expired is not None and expired.hold_expires_at is not None
        assert str(expired.status) == "cancelled"
