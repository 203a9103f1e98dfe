"""Bulk writes: a timetable of weekly lessons loaded at once (COPY on PostgreSQL, the
driver's executemany on SQLite) comes back whole, and any double booking in it refuses
the whole load."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import Engine, func, select

from adapters.storage.bulk import BULK_THRESHOLD
from adapters.storage.tables import bookings, occurrences
from adapters.storage.timetable_load import load_timetable
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import Booking, Occurrence, Reservation
from booking.errors import BookingConflict
from tests.storage.region import Region, weekly_timetable

UowFactory = Callable[[], SqlUnitOfWork]
Timetable = tuple[list[Booking], list[Occurrence], list[Reservation]]


def counts(engine: Engine) -> tuple[int, int, int]:
    """Bookings, occurrences, and the occurrences holding their terminals."""
    count = select(func.count())
    with engine.connect() as connection:
        return (
            connection.execute(count.select_from(bookings)).scalar_one(),
            connection.execute(count.select_from(occurrences)).scalar_one(),
            connection.execute(count.where(occurrences.c.reserved.is_(True))).scalar_one(),
        )


def holding(planned: Timetable) -> int:
    return len({r.occurrence_id for r in planned[2]})


def test_a_year_of_weekly_lessons_loads_in_bulk_and_comes_back(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    planned = weekly_timetable(region, ["term-kem20-1", "term-kem41-1"], range(1, 5))
    assert len(planned[1]) > BULK_THRESHOLD  # the COPY / executemany path

    with uow_factory() as uow:
        load_timetable(uow, *planned)
        uow.commit()

    assert counts(engine) == (len(planned[0]), len(planned[1]), holding(planned))
    sample = planned[1][len(planned[1]) // 2]
    with uow_factory() as uow:
        assert uow.occurrences.get(sample.id) == sample
        assert uow.bookings.get(planned[0][3].id) == planned[0][3]
        busy = uow.occurrences.busy_terminal_ids(sample.start, sample.end)
    assert busy == {"term-kem20-1", "term-kem41-1"}  # both have that lesson


def test_a_double_booking_inside_the_timetable_refuses_the_whole_load(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    planned = weekly_timetable(region, ["term-kem20-1", "term-kem41-1"], range(1, 5))
    twin = weekly_timetable(region, ["term-kem41-1"], range(3, 4))  # lesson 3 booked twice
    for booking in twin[0]:
        booking.id += "-twin"
        booking.external_ref = None
    for occurrence in twin[1]:
        occurrence.booking_id += "-twin"
        occurrence.id += "-twin"
    for reservation in twin[2]:
        reservation.booking_id += "-twin"
        reservation.occurrence_id += "-twin"

    with uow_factory() as uow, pytest.raises(BookingConflict) as refused:
        load_timetable(uow, *(a + b for a, b in zip(planned, twin, strict=True)))  # type: ignore[arg-type]

    assert refused.value.details["terminal_id"] == "term-kem41-1"
    assert counts(engine) == (0, 0, 0)


def stored_and_clashing(region: Region, uow_factory: UowFactory) -> tuple[Timetable, Timetable]:
    """A stored weekly lesson, and a big timetable whose first lesson (1 September, lesson 3
    of term-kem92-1) is put at the time of the stored one."""
    stored = weekly_timetable(region, ["term-kem92-1"], range(2, 3))
    for booking in stored[0]:
        booking.external_ref = None
    with uow_factory() as uow:
        load_timetable(uow, *stored)
        uow.commit()
    incoming = weekly_timetable(region, ["term-kem92-1", "term-kem20-2"], range(3, 6))
    incoming[1][0].start, incoming[1][0].end = stored[1][0].start, stored[1][0].end
    incoming[1][0].setup_start = stored[1][0].setup_start
    incoming[2][0].start, incoming[2][0].end = stored[2][0].start, stored[2][0].end
    return stored, incoming


def test_a_timetable_clashing_with_a_stored_booking_is_refused(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    stored, incoming = stored_and_clashing(region, uow_factory)

    with uow_factory() as uow, pytest.raises(BookingConflict) as refused:
        load_timetable(uow, *incoming)

    assert refused.value.details["terminal_id"] == "term-kem92-1"
    assert counts(engine) == (len(stored[0]), len(stored[1]), holding(stored))


def test_many_occurrences_added_later_merge_into_the_bookings_reservations(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    terminals = ["term-kem20-1", "term-kem41-1"]
    bookings_, occurrences_, reservations_ = weekly_timetable(region, terminals, range(1, 5))
    early = {o.id for o in occurrences_ if o.local_date.month == 9 and o.local_date.day < 8}
    with uow_factory() as uow:  # a few first: the bookings' reservation rows exist then
        uow.bookings.add_all(bookings_)
        uow.occurrences.add_all(
            [o for o in occurrences_ if o.id in early],
            [r for r in reservations_ if r.occurrence_id in early],
        )
        uow.commit()
    rest = [o for o in occurrences_ if o.id not in early]
    assert len(rest) >= BULK_THRESHOLD  # the COPY path, merged into the existing rows
    with uow_factory() as uow:
        uow.occurrences.add_all(rest, [r for r in reservations_ if r.occurrence_id not in early])
        uow.commit()
    late = rest[-1]
    terminal = late.terminal_ids[0]

    with uow_factory() as uow:
        held = uow.occurrences.overlapping_reservations([terminal], late.start, late.end)

    assert [r.occurrence_id for r in held] == [late.id]
    if engine.dialect.name != "postgresql":
        return  # SQLite has no exclusion constraint: the service refuses such a clash
    rival = replace(bookings_[0], id="rival", external_ref=None)
    clash = replace(late, id="rival-1", booking_id="rival")
    with uow_factory() as uow, pytest.raises(BookingConflict):  # the merged busy ranges
        uow.bookings.add(rival)
        uow.occurrences.add_all(
            [clash], [Reservation("rival-1", "rival", terminal, late.setup_start, late.end)]
        )
        uow.commit()


def background_case(
    region: Region, uow_factory: UowFactory, engine: Engine
) -> tuple[Timetable, Timetable]:
    if engine.dialect.name != "postgresql":
        pytest.skip("COPY runs in the background on PostgreSQL only")
    return stored_and_clashing(region, uow_factory)


def write(uow: SqlUnitOfWork, timetable: Timetable) -> None:
    uow.bookings.add_all(timetable[0])
    uow.occurrences.add_all(timetable[1], timetable[2])


@pytest.mark.postgres
def test_a_big_copy_is_refused_at_commit_when_it_runs_in_the_background(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    stored, incoming = background_case(region, uow_factory, engine)

    with uow_factory() as uow:
        write(uow, incoming)  # returns: the COPY goes on
        with pytest.raises(BookingConflict) as refused:
            uow.commit()

    assert refused.value.details["terminal_id"] == "term-kem92-1"
    assert counts(engine) == (len(stored[0]), len(stored[1]), holding(stored))


@pytest.mark.postgres
def test_a_rollback_drops_a_refused_background_copy_and_the_unit_of_work_goes_on(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    stored, incoming = background_case(region, uow_factory, engine)

    with uow_factory() as uow:
        write(uow, incoming)  # refused in the background
        uow.rollback()  # nothing of it is kept, and its refusal is over
        after_rollback = uow.occurrences.get(incoming[1][0].id)
        uow.bookings.add_all(incoming[0][:1])
        uow.commit()

    assert after_rollback is None
    assert counts(engine) == (len(stored[0]) + 1, len(stored[1]), holding(stored))
