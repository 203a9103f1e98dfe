"""Specification: the regional request flow end to end (seed 003, §3–4), on memory, SQLite
and PostgreSQL — offers → published timetable → two schools request (one in Moscow time)
→ combined request → the RCC reviews and approves with one item refused → bookings linked
to their items → the lessons in the schools' calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from booking.audit import (
    COMBINED_DECIDED,
    COMBINED_SUBMITTED,
    REQUEST_DECIDED,
    REQUEST_SUBMITTED,
    AuditFilter,
)
from booking.bookings import Participant
from booking.errors import BookingConflict, Forbidden, IllegalTransition, InvalidInput
from booking.messagebus import MessageBus
from booking.services.auditing import audit_entries
from booking.services.queries import sessions_between
from booking.services.workflow.approval import Verdict, approve_combined
from booking.services.workflow.combining import assemble, check_requests, submit_combined
from booking.services.workflow.review import review_combined
from booking.services.workflow.school_requests import return_request, submit_request
from booking.workflow.events import CombinedRequestSubmitted, RequestDecided, RequestSubmitted
from booking.workflow.requests import ItemDecision, RequestState
from tests.booking.conftest import UowFactory
from tests.booking.kuzbass import Region
from tests.booking.workflow.flows import (
    NOW,
    THURSDAY,
    a_submitted_request,
    an_offer,
    coordinator_of,
    published,
    workflow,
)
from tests.builders import book_lesson, local


def test_two_schools_request_and_the_rcc_approves_all_but_one_refused_item(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    heard: list[object] = []
    bus.subscribe(RequestSubmitted, heard.append)
    bus.subscribe(CombinedRequestSubmitted, heard.append)
    bus.subscribe(RequestDecided, heard.append)
    uow = workflow(uow_factory)
    # arrange: the teacher of СОШ №20 offers physics (Tue, 6th lesson) and chemistry (Thu, 2nd)
    physics = an_offer(uow)
    chemistry = an_offer(uow, subject="Химия", weekday=THURSDAY, lesson_number=2)
    published(uow, region, physics, chemistry)
    # СОШ №12's only terminal is taken on one Thursday of the quarter at the 2nd lesson
    book_lesson(
        uow_factory,
        region.network_admin,
        title="Методическое объединение",
        start=local(date(2026, 9, 17), time(8, 50)),
        end=local(date(2026, 9, 17), time(9, 30)),
        participants=[Participant("kem-school-12", "term-kem-12")],
        host_school_id="kem-school-12",
        now=NOW,
    )
    # two schools ask: СОШ №12 for both (the system proposes its terminal), Insar (UTC+3)
    school12 = a_submitted_request(
        uow, "kem-school-12", (physics, "9А", 24, None), (chemistry, "9А", 24, None)
    )
    insar = a_submitted_request(uow, "insar-school-1", (physics, "9Б", 18, "term-insar-1"))
    proposed = {i.offer_id: i for i in school12.items}
    assert proposed[physics.id].terminal_id == "term-kem-12"
    assert proposed[chemistry.id].busy_dates == ("2026-09-17",)

    # act: the network combines and submits; the RCC reviews
    assert check_requests(uow(), region.network_admin, "kem-net-1", [school12.id, insar.id]) == []
    combined = assemble(uow(), region.network_admin, "kem-net-1", [school12.id, insar.id], now=NOW)
    combined = submit_combined(uow(), region.network_admin, combined.id, now=NOW)
    review = {r.item_id: r for r in review_combined(uow(), region.rcc, combined.id, now=NOW)}
    refused_item = proposed[chemistry.id]
    assert not review[refused_item.id].free_every_date
    assert review[refused_item.id].conflicting_dates == [date(2026, 9, 17)]
    assert review[refused_item.id].alternatives  # another lesson or terminal is proposed
    assert all(r.free_every_date for i, r in review.items() if i != refused_item.id)

    # approving everything would double-book: refused, nothing written
    with pytest.raises(BookingConflict) as refused:
        approve_combined(uow(), region.rcc, combined.id, now=NOW)
    assert refused.value.details["item_ids"] == [refused_item.id]

    approval = approve_combined(
        uow(),
        region.rcc,
        combined.id,
        [Verdict(refused_item.id, approve=False, reason="Терминал занят 17.09 — урок 3?")],
        now=NOW,
    )

    # assert: physics is one lesson for both schools, linked to both items
    states = {r.id: r.state for r in approval.requests}
    assert states == {school12.id: RequestState.PARTLY_APPROVED, insar.id: RequestState.APPROVED}
    assert approval.combined.state == "partly_approved"
    physics_items = [i for r in approval.requests for i in r.items if i.offer_id == physics.id]
    booking_ids = {i.booking_id for i in physics_items}
    assert len(booking_ids) == 1 and None not in booking_ids
    with uow() as reading:
        links = reading.workflow.links.bookings_of(i.id for i in physics_items)
        booking = reading.bookings.get(booking_ids.pop() or "")
        assert booking is not None
        assert sorted(reading.workflow.links.items_of(booking.id)) == sorted(links)
    assert {p.school_id for p in booking.participants} == {
        "kem-school-20",
        "kem-school-12",
        "insar-school-1",
    }
    chem = next(i for r in approval.requests for i in r.items if i.id == refused_item.id)
    assert chem.decision == ItemDecision.REFUSED and "17.09" in chem.reason
    # the lessons are in both schools' calendars (what their iCal feeds are built on)
    for school in ("kem-school-12", "insar-school-1"):
        sessions = sessions_between(
            uow(),
            region.rcc,
            datetime(2026, 9, 1, tzinfo=UTC),
            datetime(2026, 9, 2, tzinfo=UTC),
            school_id=school,
        )
        assert [s.booking.title for s in sessions] == ["Физика, 9 класс (Иванова Мария Петровна)"]
    # every step told someone: two submissions, the combined request, two decisions
    kinds = [type(e).__name__ for e in heard]
    assert kinds.count("RequestSubmitted") == 2
    assert kinds.count("CombinedRequestSubmitted") == 1
    assert kinds.count("RequestDecided") == 2
    # …and the audit trail says who did each step: the RCC sees the whole chain, the
    # municipality's coordinator the steps of its schools
    trail = audit_entries(uow(), region.rcc, AuditFilter(action=None))
    steps = [(e.action, e.actor_id) for e in trail if e.action.startswith("workflow.")]
    assert steps.count((REQUEST_SUBMITTED, region.rcc.user_id)) == 0  # coordinators submitted
    assert [a for a, _ in steps].count(REQUEST_SUBMITTED) == 2
    assert (COMBINED_SUBMITTED, region.network_admin.user_id) in steps
    assert [a for a, _ in steps].count(REQUEST_DECIDED) == 2
    assert (COMBINED_DECIDED, region.rcc.user_id) in steps


def test_skipping_the_listed_dates_approves_the_item_without_them(
    uow_factory: UowFactory, region: Region
) -> None:
    uow = workflow(uow_factory)
    chemistry = an_offer(uow, subject="Химия", weekday=THURSDAY, lesson_number=2)
    published(uow, region, chemistry)
    book_lesson(
        uow_factory,
        region.network_admin,
        title="Методическое объединение",
        start=local(date(2026, 9, 17), time(8, 50)),
        end=local(date(2026, 9, 17), time(9, 30)),
        participants=[Participant("kem-school-12", "term-kem-12")],
        host_school_id="kem-school-12",
        now=NOW,
    )
    request = a_submitted_request(uow, "kem-school-12", (chemistry, "9А", 24, "term-kem-12"))
    combined = assemble(uow(), region.network_admin, "kem-net-1", [request.id], now=NOW)
    submit_combined(uow(), region.network_admin, combined.id, now=NOW)
    item = request.items[0]

    approval = approve_combined(
        uow(), region.rcc, combined.id, [Verdict(item.id, skip_dates=(date(2026, 9, 17),))], now=NOW
    )

    approved = approval.requests[0].items[0]
    assert approval.requests[0].state == RequestState.APPROVED
    assert approved.skipped_dates == ("2026-09-17",)
    with uow() as reading:
        dates = [o.local_date for o in reading.occurrences.of_booking(approved.booking_id or "")]
    assert date(2026, 9, 17) not in dates and date(2026, 9, 10) in dates


def test_a_returned_request_is_resubmitted_and_illegal_moves_are_refused(
    uow_factory: UowFactory, region: Region
) -> None:
    uow = workflow(uow_factory)
    physics = an_offer(uow)
    published(uow, region, physics)
    request = a_submitted_request(uow, "kem-school-12", (physics, "9А", 24, None))
    coordinator = coordinator_of("kem-school-12")

    returned = return_request(
        uow(), region.network_admin, request.id, "Уточните число учеников", now=NOW
    )
    with pytest.raises(IllegalTransition) as illegal:
        return_request(uow(), region.network_admin, request.id, "ещё раз", now=NOW)
    again = submit_request(uow(), coordinator, request.id, now=NOW)

    assert returned.state == RequestState.RETURNED
    assert returned.comment == "Уточните число учеников"
    assert "returned" in illegal.value.message and "submit" in illegal.value.details["allowed"]
    assert again.state == RequestState.RESUBMITTED
    with pytest.raises(Forbidden):  # a school's coordinator cannot combine
        assemble(uow(), coordinator, "kem-net-1", [request.id], now=NOW)


def test_the_cross_check_finds_too_many_schools_and_a_terminal_asked_twice(
    uow_factory: UowFactory, region: Region
) -> None:
    uow = workflow(uow_factory)
    physics = an_offer(uow, places=1)
    # the same Tuesday 6th lesson, offered by another teacher from the IT room
    informatics = an_offer(
        uow, subject="Информатика", host_terminal_id="term-kem-20-it", teacher="Петров П. П."
    )
    published(uow, region, physics, informatics)
    school12 = a_submitted_request(
        uow,
        "kem-school-12",
        (physics, "9А", 20, "term-kem-12"),
        (informatics, "9Б", 20, "term-kem-12"),
    )
    insar = a_submitted_request(uow, "insar-school-1", (physics, "9Б", 18, "term-insar-1"))

    found = check_requests(uow(), region.network_admin, "kem-net-1", [school12.id, insar.id])

    assert sorted(c.kind for c in found) == ["places", "terminal"]
    with pytest.raises(InvalidInput):
        assemble(uow(), region.network_admin, "kem-net-1", [], now=NOW)
