"""Racing requests for one terminal: exactly one booking, the others refused, nothing
half-written. On PostgreSQL the exclusion constraint decides races the service's own
check cannot see; on SQLite writing units of work run one after another."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from adapters.storage.tables import bookings, occurrences, reservations
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.access import Principal, Role
from booking.bookings import Booking, Occurrence, Participant, Reservation, SessionKind
from booking.errors import BookingConflict
from booking.services.bookings import BookingRequest, BookingResult, create_booking
from tests.storage.region import Region

UowFactory = Callable[[], SqlUnitOfWork]
RACERS = 20
NOW = datetime(2026, 8, 25, 2, 0, tzinfo=UTC)

network_admin = Principal(
    user_id="u-ivanova",
    role=Role.NETWORK_ADMIN,
    org_id="kem-net-1",
    org_path="kuzbass/kemerovo/kem-net-1",
)


def lesson_request(n: int) -> BookingRequest:
    """Racer `n` wants the hall terminal of СОШ №20 for the 3rd lesson on 8 September."""
    return BookingRequest(
        title=f"Онлайн-урок №{n}",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher=f"Учитель {n}",
        participants=[Participant("kem-school-20", "term-kem20-1", "teacher")],
        on_date=date(2026, 9, 8),
        lesson_number=3,
    )


def race(uow_factory: UowFactory) -> list[BookingResult | Exception]:
    barrier = threading.Barrier(RACERS)

    def attempt(n: int) -> BookingResult | Exception:
        barrier.wait()
        try:
            return create_booking(uow_factory(), network_admin, lesson_request(n), now=NOW)
        except Exception as exc:  # collected and judged below
            return exc

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(attempt, range(RACERS)))


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (bookings, occurrences, reservations)
        )


@pytest.mark.timeout(60)
def test_twenty_racing_requests_yield_one_booking(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    outcomes = race(uow_factory)

    won = [o for o in outcomes if isinstance(o, BookingResult)]
    refused = [o for o in outcomes if isinstance(o, BookingConflict)]
    assert len(won) == 1 and won[0].written
    assert len(refused) == RACERS - 1, [o for o in outcomes if not isinstance(o, BookingResult)]
    assert counts(engine) == (1, 1, 1)  # the losers left no booking row behind
    with uow_factory() as uow:
        stored = uow.bookings.get(won[0].booking.id)
    assert stored is not None and stored.teacher == won[0].booking.teacher


def _held_booking(booking_id: str) -> tuple[Booking, Occurrence, Reservation]:
    start = datetime(2026, 9, 8, 2, 45, tzinfo=UTC)
    booking = Booking(
        id=booking_id,
        title="Урок",
        kind=SessionKind.FULL_BROADCAST,
        organiser_id="u-1",
        owner_org_id="kem-net-1",
        host_school_id="kem-school-20",
        teacher="Учитель",
        participants=[Participant("kem-school-20", "term-kem20-1")],
        start=start,
        end=start + timedelta(minutes=40),
    )
    occurrence = Occurrence(
        id=f"{booking_id}-o",
        booking_id=booking_id,
        start=start,
        end=start + timedelta(minutes=40),
        setup_start=start - timedelta(minutes=10),
        local_date=date(2026, 9, 8),
        terminal_ids=["term-kem20-1"],
    )
    return (
        booking,
        occurrence,
        Reservation(
            occurrence.id, booking_id, "term-kem20-1", occurrence.setup_start, occurrence.end
        ),
    )


@pytest.mark.timeout(60)
def test_the_database_refuses_a_race_the_check_could_not_see(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    """Both writers checked before either committed; the second insert must fail."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite cannot interleave two writers: the second waits for the first")
    first_written = threading.Event()
    first_may_commit = threading.Event()

    def first() -> None:
        booking, occurrence, reservation = _held_booking("b-first")
        with uow_factory() as uow:
            uow.bookings.add(booking)
            uow.occurrences.add_all([occurrence], [reservation])
            first_written.set()
            first_may_commit.wait(10)
            uow.commit()

    def second() -> Exception | None:
        booking, occurrence, reservation = _held_booking("b-second")
        first_written.wait(10)
        try:
            with uow_factory() as uow:
                assert (
                    uow.occurrences.overlapping_reservations(
                        ["term-kem20-1"], reservation.start, reservation.end
                    )
                    == []
                )  # the first writer's row is not visible yet
                uow.bookings.add(booking)
                threading.Timer(0.3, first_may_commit.set).start()
                uow.occurrences.add_all([occurrence], [reservation])  # waits, then fails
                uow.commit()
        except Exception as exc:
            return exc
        return None

    with ThreadPoolExecutor(2) as pool:
        done = pool.submit(first)
        refused = pool.submit(second).result(30)
        done.result(30)

    assert isinstance(refused, BookingConflict)
    assert refused.details["terminal_id"] == "term-kem20-1"
    assert counts(engine) == (1, 1, 1)
