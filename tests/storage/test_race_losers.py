"""Races at the database. A request that loses at PostgreSQL's exclusion constraint — a
concurrent writer committed the same terminal between the service's check and its write —
is answered like any other conflict (the winner, alternatives), and inside a timetable
upsert it fails alone: the other items are written; a timetable import that loses one
writes nothing and reports the winner. Two creates racing for a server's
last room cannot both pass the capacity check (the ledger's lock). Savepoints undo a
failed step and keep the rest, on both databases."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import Engine

from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.access import Principal, Role
from booking.bookings import Occurrence, Participant, Reservation, SessionKind
from booking.errors import BookingConflict, Conflict
from booking.resources import PlatformKind
from booking.services.bookings import (
    BookingRequest,
    ItemStatus,
    create_booking,
    upsert_timetable,
)
from booking.services.timetable_import import import_timetable
from tests.storage.region import Region, occurrence_of, store, weekly_lesson

UowFactory = Callable[[], SqlUnitOfWork]
NOW = datetime(2026, 8, 25, 2, 0, tzinfo=UTC)
CONTESTED = "term-kem20-1"

network_admin = Principal(
    user_id="u-ivanova",
    role=Role.NETWORK_ADMIN,
    org_id="kem-net-1",
    org_path="kuzbass/kemerovo/kem-net-1",
)


def lesson(
    title: str, terminal: str, external_ref: str | None = None, school: str = "kem-school-20"
) -> BookingRequest:
    """The 3rd lesson of 8 September at a school of the network (СОШ №20 by default)."""
    return BookingRequest(
        title=title,
        kind=SessionKind.FULL_BROADCAST,
        host_school_id=school,
        teacher="Иванова Мария Петровна",
        participants=[Participant(school, terminal, "teacher")],
        on_date=date(2026, 9, 8),
        lesson_number=3,
        external_ref=external_ref,
    )


class _RivalWritesFirst(SqlOccurrences):
    """Occurrences whose first write on the contested terminal lets a rival commit first."""

    def __init__(self, connection: object, uow: RacedUnitOfWork) -> None:
        super().__init__(connection)  # type: ignore[arg-type]
        self._uow = uow

    def add_all(
        self, occurrences: Sequence[Occurrence], reservations: Sequence[Reservation]
    ) -> None:
        if self._uow.rival is not None and any(r.terminal_id == CONTESTED for r in reservations):
            rival, self._uow.rival = self._uow.rival, None
            rival()  # on its own connection: commits before our insert reaches the database
        super().add_all(occurrences, reservations)


class RacedUnitOfWork(SqlUnitOfWork):
    """A unit of work in which a concurrent writer books the contested terminal after the
    service has checked it and before the service writes (the interleaving that only the
    exclusion constraint can catch)."""

    def __init__(self, engine: Engine, rival: Callable[[], None]) -> None:
        super().__init__(engine)
        self.rival: Callable[[], None] | None = rival

    def __enter__(self) -> RacedUnitOfWork:
        super().__enter__()
        self.occurrences = _RivalWritesFirst(self.connection, self)
        return self


def rival_writer(uow_factory: UowFactory) -> Callable[[], None]:
    """A concurrent writer that stores a lesson on the contested terminal straight away,
    without the service's checks (as a bulk load does): the 3rd lesson of 8 September."""

    def write() -> None:
        rival = weekly_lesson("b-rival")
        store(uow_factory, rival, occurrence_of(rival, date(2026, 9, 8), time(9, 45), time(10, 25)))

    return write


def physics_on_the_contested_terminal_and_biology() -> list[BookingRequest]:
    return [
        lesson("Физика", CONTESTED, external_ref="tt-physics"),
        lesson("Биология", "term-kem20-2", external_ref="tt-biology"),
    ]


def postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: a second writer waits, it cannot race")


def test_a_race_lost_at_the_database_is_answered_with_the_winner_and_alternatives(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    postgres_only(engine)
    raced = RacedUnitOfWork(engine, rival_writer(uow_factory))

    with pytest.raises(BookingConflict) as refused:
        create_booking(raced, network_admin, lesson("Физика", CONTESTED), now=NOW)

    details = refused.value.details
    assert details["race"] is True
    assert [(c.terminal_id, c.other_booking_id) for c in details["conflicts"]] == [
        (CONTESTED, "b-rival")
    ]
    assert any(a.terminal_id == "term-kem20-2" for a in details["alternatives"])
    with uow_factory() as uow:
        assert [b.id for b in uow.bookings.list()] == ["b-rival"]


def test_a_timetable_item_that_loses_a_race_fails_alone(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    postgres_only(engine)

    results = upsert_timetable(
        RacedUnitOfWork(engine, rival_writer(uow_factory)),
        network_admin,
        physics_on_the_contested_terminal_and_biology(),
        now=NOW,
    )

    assert [r.status for r in results] == [ItemStatus.FAILED, ItemStatus.CREATED]
    assert results[0].code == "booking_conflict"
    assert [c.other_booking_id for c in results[0].conflicts] == ["b-rival"]  # re-planned
    assert any(a.terminal_id == "term-kem20-2" for a in results[0].alternatives)
    with uow_factory() as uow:
        assert sorted(b.title for b in uow.bookings.list()) == [
            "Биология",
            "Физика, 7А — дистанционный урок",  # the rival's
        ]
        assert len(uow.occurrences.overlapping_reservations(
            [CONTESTED], datetime(2026, 9, 8, 0, 0, tzinfo=UTC), datetime(2026, 9, 9, tzinfo=UTC)
        )) == 1  # fmt: skip


def test_a_timetable_import_that_loses_a_race_writes_nothing_and_names_the_winner(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    postgres_only(engine)

    results = import_timetable(
        RacedUnitOfWork(engine, rival_writer(uow_factory)),
        network_admin,
        physics_on_the_contested_terminal_and_biology(),
        now=NOW,
    )

    assert [r.status for r in results] == [ItemStatus.FAILED, ItemStatus.UNCHANGED]
    assert [c.other_booking_id for c in results[0].conflicts] == ["b-rival"]  # re-checked
    with uow_factory() as uow:
        assert [b.id for b in uow.bookings.list()] == ["b-rival"]


def test_a_savepoint_undoes_its_own_writes_and_keeps_the_earlier_ones(
    uow_factory: UowFactory, region: Region
) -> None:
    with uow_factory() as uow:
        uow.bookings.add(weekly_lesson("b-kept"))
        with pytest.raises(Conflict), uow.savepoint():
            uow.bookings.add(weekly_lesson("b-undone"))
            raise Conflict("the step fails after writing")
        uow.commit()

    with uow_factory() as uow:
        assert uow.bookings.get("b-kept") is not None
        assert uow.bookings.get("b-undone") is None


class _PausesBeforeWriting(SqlOccurrences):
    def __init__(self, connection: object, checked: threading.Event) -> None:
        super().__init__(connection)  # type: ignore[arg-type]
        self._checked = checked

    def add_all(
        self, occurrences: Sequence[Occurrence], reservations: Sequence[Reservation]
    ) -> None:
        self._checked.set()  # the capacity check is done: let the rival try now
        threading.Event().wait(0.5)  # …and give it time to pass its own check and commit
        super().add_all(occurrences, reservations)


class SlowWriter(SqlUnitOfWork):
    def __init__(self, engine: Engine, checked: threading.Event) -> None:
        super().__init__(engine)
        self.checked = checked

    def __enter__(self) -> SlowWriter:
        super().__enter__()
        self.occurrences = _PausesBeforeWriting(self.connection, self.checked)
        return self


def test_two_creates_racing_for_the_last_room_of_a_server_get_it_once(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    postgres_only(engine)
    with uow_factory() as uow:  # the region's only BBB server takes one room at a time
        server = uow.servers.get("bbb-1")
        assert server is not None
        uow.servers.update(dataclasses.replace(server, max_rooms=1))
        uow.commit()
    on_bbb = dataclasses.replace(lesson("Физика", CONTESTED), platform=PlatformKind.BBB)
    rival = dataclasses.replace(
        lesson("Химия", "term-kem41-1", school="kem-school-41"), platform=PlatformKind.BBB
    )
    checked = threading.Event()

    def first() -> object:
        return create_booking(SlowWriter(engine, checked), network_admin, on_bbb, now=NOW)

    def second() -> object:
        checked.wait(10)
        try:
            return create_booking(uow_factory(), network_admin, rival, now=NOW)
        except BookingConflict as refused:
            return refused

    with ThreadPoolExecutor(2) as pool:
        done = pool.submit(first)
        late = pool.submit(second).result(30)
        done.result(30)

    assert isinstance(late, BookingConflict)
    assert [c.kind.value for c in late.details["conflicts"]] == ["server_capacity"]
    with uow_factory() as uow:
        assert [b.title for b in uow.bookings.list()] == ["Физика"]
