"""Specification: the flow "from need" (seed 003, §4) — a school in Moscow time needs a
course its network does not offer; the RCC searches every network's offers, finds one in
the Novokuznetsk network at a time that is a lesson in both schools' own bells, invites
that network, whose administrator accepts; then the ordinary flow books it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from booking.errors import Forbidden, IllegalTransition
from booking.services.queries import sessions_between
from booking.services.workflow.approval import approve_combined
from booking.services.workflow.combining import assemble, submit_combined
from booking.services.workflow.need_search import answer_invitation, invite, search_needs
from booking.workflow.needs import Need
from booking.workflow.requests import RequestState
from tests.booking.conftest import UowFactory
from tests.booking.kuzbass import Region
from tests.booking.workflow.flows import NOW, TUESDAY, an_offer, coordinator_of, workflow

WEDNESDAY = 2


def test_a_need_in_moscow_time_is_met_by_another_networks_offer(
    uow_factory: UowFactory, region: Region
) -> None:
    uow = workflow(uow_factory)
    # arrange: the Novokuznetsk network offers 10th-grade physics twice; Kemerovo once
    early = an_offer(
        uow,
        grade=10,
        weekday=TUESDAY,
        lesson_number=3,  # 09:45 in Novokuznetsk is 05:45 in Insar: no lesson there
        host_school_id="nvk-school-5",
        host_terminal_id="term-nvk-5",
        by=region.other_network_admin,
    )
    fitting = an_offer(
        uow,
        grade=10,
        weekday=WEDNESDAY,
        lesson_number=None,
        start_time="12:50",  # 08:50 in Insar: its 2nd lesson
        end_time="13:30",
        host_school_id="nvk-school-5",
        host_terminal_id="term-nvk-5",
        by=region.other_network_admin,
    )
    an_offer(uow, grade=10, lesson_number=6)  # Kemerovo 12:20 = Insar 08:20, across a break
    need = Need("физика", 10, hours_per_week=1)

    # act: the RCC searches for Insar
    found = search_needs(uow(), region.rcc, "insar-school-1", need)

    # assert: only the offer that is a lesson at both ends, explained
    assert [m.offer_id for m in found] == [fitting.id]
    best = found[0]
    assert (best.school_lesson, best.local_start, best.host_start) == (2, "08:50", "12:50")
    assert best.zone_hours == 4 and best.conflicting_dates == 0
    assert "урок 2 в школе (08:50 по местному времени)" in best.reasons_ru
    assert "the school's terminal is free on every date" in best.reasons_en
    assert early.id not in [m.offer_id for m in found]

    # the invitation goes to the offering network, which accepts
    invitation = invite(
        uow(), region.rcc, fitting.id, "insar-school-1", need, class_name="10А", pupils=12, now=NOW
    )
    with pytest.raises(Forbidden):  # not the Kemerovo network's to answer
        answer_invitation(uow(), region.network_admin, invitation.id, accept=True, now=NOW)
    accepted, request = answer_invitation(
        uow(), region.other_network_admin, invitation.id, accept=True, now=NOW
    )
    with pytest.raises(IllegalTransition):
        answer_invitation(uow(), region.other_network_admin, invitation.id, accept=False, now=NOW)
    assert accepted.state == "accepted"
    assert request is not None and request.state == RequestState.SUBMITTED
    assert (request.network_id, request.school_id) == ("nvk-net-1", "insar-school-1")
    assert request.items[0].terminal_id == "term-insar-1"  # proposed: free on every date

    # from there flow 1: the network combines, the RCC approves
    combined = assemble(uow(), region.other_network_admin, "nvk-net-1", [request.id], now=NOW)
    submit_combined(uow(), region.other_network_admin, combined.id, now=NOW)
    approval = approve_combined(uow(), region.rcc, combined.id, now=NOW)

    assert approval.requests[0].state == RequestState.APPROVED
    sessions = sessions_between(
        uow(),
        coordinator_of("insar-school-1"),
        datetime(2026, 9, 1, tzinfo=UTC),
        datetime(2026, 9, 8, tzinfo=UTC),
        school_id="insar-school-1",
    )
    assert [(s.booking.host_school_id, s.occurrence.start.hour) for s in sessions] == [
        ("nvk-school-5", 5)  # 12:50 UTC+7 = 05:50 UTC, on Wednesday 2 September
    ]
