"""A school's and a teacher's calendars, and the conference-capacity ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from adapters.storage.timetable_load import load_timetable, timetable_usage
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.bookings import Participant
from booking.capacity import merged, usage_of
from booking.conflicts import Capacity
from tests.storage.region import Region, occurrence_of, store, weekly_lesson, weekly_timetable

UowFactory = Callable[[], SqlUnitOfWork]
SEPTEMBER = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))


def test_a_school_sees_the_lessons_it_hosts_or_joins(
    uow_factory: UowFactory, region: Region
) -> None:
    physics = weekly_lesson("b-physics")  # hosted by СОШ №20, joined by СОШ №41
    store(uow_factory, physics, occurrence_of(physics, date(2026, 9, 1), time(9, 45), time(10, 25)))
    insar = weekly_lesson("b-insar")
    insar.host_school_id, insar.owner_org_id = "insar-school-1", "insar"
    insar.participants = [Participant("insar-school-1", "term-insar1-1")]
    store(uow_factory, insar, occurrence_of(insar, date(2026, 9, 2), time(9, 45), time(10, 25)))

    with uow_factory() as uow:
        joined = [o.booking_id for o in uow.occurrences.of_schools(["kem-school-41"], *SEPTEMBER)]
        hosts = ["kem-school-20", "insar-school-1"]
        both = [o.booking_id for o in uow.occurrences.of_schools(hosts, *SEPTEMBER)]
        october = uow.occurrences.of_schools(
            ["kem-school-41"], datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
        )

    assert joined == ["b-physics"]
    assert both == ["b-physics", "b-insar"]
    assert october == []


def test_a_teacher_sees_own_lessons_except_those_given_by_a_substitute(
    uow_factory: UowFactory, region: Region
) -> None:
    physics = weekly_lesson("b-physics")  # Иванова Мария Петровна
    tuesday = occurrence_of(physics, date(2026, 9, 1), time(9, 45), time(10, 25))
    thursday = occurrence_of(physics, date(2026, 9, 3), time(9, 45), time(10, 25))
    thursday.teacher = "Сидоров Алексей Андреевич"
    store(uow_factory, physics, tuesday, thursday)

    with uow_factory() as uow:
        ivanova = uow.occurrences.of_teacher("Иванова Мария Петровна", *SEPTEMBER)
        sidorov = uow.occurrences.of_teacher("Сидоров Алексей Андреевич", *SEPTEMBER)

    assert [o.id for o in ivanova] == [tuesday.id]
    assert [o.id for o in sidorov] == [thursday.id]


def test_the_usage_ledger_adds_subtracts_and_forgets_zero_rows(
    uow_factory: UowFactory, region: Region
) -> None:
    bucket = datetime(2026, 9, 1, 2, 35, tzinfo=UTC)
    later = bucket + timedelta(minutes=5)
    with uow_factory() as uow:
        uow.occurrences.change_server_usage(
            {("bbb", bucket): Capacity(1, 45, 2), ("any", later): Capacity(1, 30, 1)}
        )
        uow.occurrences.change_server_usage({("bbb", bucket): Capacity(1, 30, 1)})
        uow.commit()
    with uow_factory() as uow:
        summed = uow.occurrences.server_usage([bucket, later, later + timedelta(minutes=5)])
        uow.occurrences.change_server_usage({("any", later): Capacity(-1, -30, -1)})
        uow.commit()
    with uow_factory() as uow:
        left = uow.occurrences.server_usage([bucket, later])

    assert summed == {("bbb", bucket): Capacity(2, 75, 3), ("any", later): Capacity(1, 30, 1)}
    assert left == {("bbb", bucket): Capacity(2, 75, 3)}


def test_a_loaded_timetable_is_in_the_ledger_as_if_booked_one_by_one(
    uow_factory: UowFactory, region: Region
) -> None:
    planned = weekly_timetable(region, ["term-kem20-1", "term-insar1-1"], range(1, 3))
    expected = merged(
        *(usage_of(b, [o for o in planned[1] if o.booking_id == b.id]) for b in planned[0])
    )
    assert timetable_usage(planned[0], planned[1]) == expected

    with uow_factory() as uow:
        load_timetable(uow, *planned)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.occurrences.server_usage({bucket for _, bucket in expected})

    assert stored == expected
