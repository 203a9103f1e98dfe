"""The domain events of a change reach the message bus's handlers only once it is
committed — never for a rolled-back change or a refused item — on memory, SQLite and
PostgreSQL; a failing handler never fails the committed change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from booking import events
from booking.bookings import BookingStatus, Participant, Recurrence
from booking.errors import BookingConflict
from booking.messagebus import MessageBus
from booking.repository import UnitOfWork
from booking.services import bookings as svc
from booking.services.timetable_import import import_timetable
from tests.booking.kuzbass import BEFORE_YEAR, Region
from tests.booking.test_booking_service import one_lesson, physics

UowFactory = Callable[[], UnitOfWork]


class Heard:
    """A handler that notes every event and whether its change was already stored."""

    def __init__(self, bus: MessageBus, uow_factory: UowFactory) -> None:
        self.events: list[events.Event] = []
        self.stored_when_heard: list[bool] = []
        self._uow_factory = uow_factory
        bus.subscribe(events.Event, self)

    def __call__(self, event: events.Event) -> None:
        self.events.append(event)
        if isinstance(event, events.BookingEvent):
            with self._uow_factory() as uow:  # a unit of work of its own, like the automation
                self.stored_when_heard.append(uow.bookings.get(event.booking_id) is not None)

    def kinds(self) -> list[type[events.Event]]:
        return [type(e) for e in self.events]


def test_a_created_booking_is_announced_after_it_is_stored(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    heard = Heard(bus, uow_factory)

    result = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)

    first, last = result.occurrences[0], result.occurrences[-1]
    assert heard.events == [events.BookingCreated(result.booking.id, (first.start, last.end))]
    assert heard.stored_when_heard == [True]


def test_a_refused_or_dry_run_booking_announces_nothing(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    heard = Heard(bus, uow_factory)

    with pytest.raises(BookingConflict):
        svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    svc.create_booking(
        uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR, dry_run=True
    )

    assert heard.events == []


def test_a_change_left_without_commit_is_never_announced(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    booking_id = svc.create_booking(
        uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR
    ).booking.id
    heard = Heard(bus, uow_factory)

    with uow_factory() as uow:
        booking = uow.bookings.get(booking_id)
        assert booking is not None
        booking.cancel()
        uow.bookings.update(booking)  # and no commit: rolled back on leaving
    with uow_factory() as uow:
        uow.commit()  # a later commit publishes nothing left over

    assert heard.events == []
    with uow_factory() as uow:
        assert uow.bookings.get(booking_id).status == BookingStatus.CONFIRMED  # type: ignore[union-attr]


def test_cancelling_a_series_announces_the_booking_and_its_dates_once(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    heard = Heard(bus, uow_factory)

    svc.cancel_booking(uow_factory(), region.network_admin, created.booking.id, now=BEFORE_YEAR)

    cancelled, dates, *noted = heard.events
    assert cancelled == events.BookingCancelled(created.booking.id)
    assert isinstance(dates, events.OccurrencesChanged)
    assert sorted(dates.occurrence_ids) == sorted(o.id for o in created.occurrences)
    # and who cancelled each date, for the reports
    assert all(isinstance(e, events.OccurrenceCancelled) for e in noted)
    assert sorted(e.occurrence_id for e in noted) == sorted(o.id for o in created.occurrences)  # type: ignore[attr-defined]
    assert {e.by for e in noted} == {region.network_admin.user_id}  # type: ignore[attr-defined]


def test_single_date_changes_and_an_edit_are_announced(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    created = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)
    first, second = (o.id for o in created.occurrences[:2])
    booking_id = created.booking.id
    heard = Heard(bus, uow_factory)

    svc.substitute_teacher(
        uow_factory(), region.network_admin, first, "Петров П.П.", now=BEFORE_YEAR
    )
    svc.cancel_occurrence(uow_factory(), region.network_admin, second, now=BEFORE_YEAR)
    svc.move_occurrence(
        uow_factory(), region.network_admin, first, now=BEFORE_YEAR, lesson_number=7
    )
    svc.update_booking(
        uow_factory(), region.network_admin, booking_id, physics(title="Физика (профиль)"),
        now=BEFORE_YEAR, expected_version=None,
    )  # fmt: skip

    noted = [e for e in heard.events if isinstance(e, events.OccurrenceCancelled)]
    assert [e for e in heard.events if e not in noted][:3] == [
        events.OccurrencesChanged(booking_id, (first,)),
        events.OccurrencesChanged(booking_id, (second,)),
        events.OccurrencesChanged(booking_id, (first,)),
    ]
    assert [(e.occurrence_id, e.by) for e in noted] == [(second, region.network_admin.user_id)]
    assert events.BookingChanged(booking_id) in heard.events[3:]  # with its re-planned dates


def test_holds_announce_their_confirmation_or_their_expiry(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    kept, lapsed = (
        svc.create_booking(
            uow_factory(), region.network_admin, one_lesson(date(2026, 9, 8), lesson),
            now=BEFORE_YEAR, hold=True,
        ).booking.id
        for lesson in (2, 3)
    )  # fmt: skip
    heard = Heard(bus, uow_factory)

    svc.confirm_hold(uow_factory(), region.network_admin, kept, now=BEFORE_YEAR)
    svc.expire_holds(uow_factory(), now=BEFORE_YEAR + timedelta(hours=1))

    assert [e for e in heard.events if isinstance(e, events.BookingEvent)] == [
        events.BookingChanged(kept),
        events.HoldExpired(lapsed),
    ]


def test_a_refused_item_of_a_timetable_upsert_announces_nothing_of_its_own(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    heard = Heard(bus, uow_factory)
    items = [
        physics(external_ref="rasp-1"),
        physics(external_ref="rasp-2"),  # the same terminals at the same time: refused
    ]

    results = svc.upsert_timetable(uow_factory(), region.scheduler, items, now=BEFORE_YEAR)

    assert [r.status for r in results] == [svc.ItemStatus.CREATED, svc.ItemStatus.FAILED]
    (created,) = heard.events
    assert isinstance(created, events.BookingCreated)
    assert created.booking_id == results[0].booking_id


def test_a_bulk_timetable_is_announced_by_one_event(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    heard = Heard(bus, uow_factory)
    items = [
        physics(
            external_ref=f"rasp-{weekday}",
            participants=[Participant("kem-school-20", "term-kem-20-hall", "teacher")],
            recurrence=Recurrence([weekday], date(2026, 9, 1), date(2026, 10, 24), lesson_number=6),
        )
        for weekday in range(5)
    ]

    results = import_timetable(uow_factory(), region.scheduler, items, now=BEFORE_YEAR)

    assert heard.events == [events.TimetableImported(tuple(r.booking_id or "" for r in results))]


def test_a_failing_handler_neither_fails_the_change_nor_silences_the_others(
    uow_factory: UowFactory, region: Region, bus: MessageBus, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: events.BookingCreated) -> None:
        raise RuntimeError("the automation's database is down")

    bus.subscribe(events.BookingCreated, broken)
    heard = Heard(bus, uow_factory)

    result = svc.create_booking(uow_factory(), region.network_admin, physics(), now=BEFORE_YEAR)

    assert result.written
    assert heard.kinds() == [events.BookingCreated]
    assert "a handler of BookingCreated failed" in caplog.text
