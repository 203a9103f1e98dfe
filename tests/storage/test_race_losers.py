"""A request that loses a race at the database itself — PostgreSQL's exclusion constraint
refuses its reservation because a concurrent request committed the same terminal between
the service's check and its write — is answered like any other conflict (the winner's
occurrence, alternatives), and inside a timetable upsert it fails alone: the other items
are written. Savepoints undo a failed step and keep the rest, on both databases."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.access import Principal, Role
from booking.bookings import Occurrence, Participant, Reservation, SessionKind
from booking.errors import BookingConflict, Conflict
from booking.services.bookings import (
    BookingRequest,
    ItemStatus,
    create_booking,
    upsert_timetable,
)
from tests.storage.region import Region, weekly_lesson

UowFactory = Callable[[], SqlUnitOfWork]
NOW = datetime(2026, 8, 25, 2, 0, tzinfo=UTC)
CONTESTED = "term-kem20-1"

network_admin = Principal(
    user_id="u-ivanova",
    role=Role.NETWORK_ADMIN,
    org_id="kem-net-1",
    org_path="kuzbass/kemerovo/kem-net-1",
)


def lesson(title: str, terminal: str, external_ref: str | None = None) -> BookingRequest:
    """The 3rd lesson of 8 September at СОШ №20 (hall terminal or another)."""
    return BookingRequest(
        title=title,
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-20",
        teacher="Иванова Мария Петровна",
        participants=[Participant("kem-school-20", terminal, "teacher")],
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
    """A unit of work in which a concurrent request books the contested terminal after
    the service has checked it and before the service writes (the interleaving that only
    the exclusion constraint can catch)."""

    def __init__(self, engine: Engine, rival: Callable[[], None]) -> None:
        super().__init__(engine)
        self.rival: Callable[[], None] | None = rival

    def __enter__(self) -> RacedUnitOfWork:
        super().__enter__()
        self.occurrences = _RivalWritesFirst(self.connection, self)
        return self


def postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: a second writer waits, it cannot race")


def test_a_race_lost_at_the_database_is_answered_with_the_winner_and_alternatives(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    postgres_only(engine)
    winner: list[str] = []

    def rival() -> None:
        won = create_booking(uow_factory(), network_admin, lesson("Химия", CONTESTED), now=NOW)
        winner.append(won.booking.id)

    with pytest.raises(BookingConflict) as refused:
        create_booking(
            RacedUnitOfWork(engine, rival), network_admin, lesson("Физика", CONTESTED), now=NOW
        )

    details = refused.value.details
    assert details["race"] is True
    assert [(c.terminal_id, c.other_booking_id) for c in details["conflicts"]] == [
        (CONTESTED, winner[0])
    ]
    assert any(a.terminal_id == "term-kem20-2" for a in details["alternatives"])
    with uow_factory() as uow:
        assert [b.title for b in uow.bookings.list()] == ["Химия"]


def test_a_timetable_item_that_loses_a_race_fails_alone(
    engine: Engine, uow_factory: UowFactory, region: Region
) -> None:
    postgres_only(engine)

    def rival() -> None:
        create_booking(uow_factory(), network_admin, lesson("Химия", CONTESTED), now=NOW)

    results = upsert_timetable(
        RacedUnitOfWork(engine, rival),
        network_admin,
        [
            lesson("Физика", CONTESTED, external_ref="tt-physics"),
            lesson("Биология", "term-kem20-2", external_ref="tt-biology"),
        ],
        now=NOW,
    )

    assert [r.status for r in results] == [ItemStatus.FAILED, ItemStatus.CREATED]
    assert results[0].code == "booking_conflict"
    with uow_factory() as uow:
        assert sorted(b.title for b in uow.bookings.list()) == ["Биология", "Химия"]
        assert len(uow.occurrences.overlapping_reservations(
            [CONTESTED], datetime(2026, 9, 8, 0, 0, tzinfo=UTC), datetime(2026, 9, 9, tzinfo=UTC)
        )) == 1  # fmt: skip


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
