"""Steps of the request workflow the specifications share: the Kemerovo network's offers,
its published timetable, and its schools' requests (the region of `tests.booking.kuzbass`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from typing import cast

from booking.access import Principal, Role
from booking.bookings import Recurrence, SessionKind
from booking.repository import UnitOfWork
from booking.resources import PlatformKind
from booking.services.workflow.offers import OfferInput, create_offer
from booking.services.workflow.publishing import publish_timetable
from booking.services.workflow.school_requests import (
    ItemInput,
    RequestInput,
    create_request,
    submit_request,
)
from booking.workflow.offers import Offer
from booking.workflow.requests import SchoolRequest
from booking.workflow.store import WorkflowUnitOfWork
from tests.booking.kuzbass import BEFORE_YEAR, Region
from tests.builders import TEACHER

Uow = Callable[[], WorkflowUnitOfWork]
Q1 = (date(2026, 9, 1), date(2026, 10, 24))
TUESDAY, THURSDAY = 1, 3
NOW = BEFORE_YEAR

KEM_NET_PATH = "kuzbass/kemerovo/kem-net-1"
TEACHER_20 = Principal("ivanova", Role.TEACHER, "kem-school-20", f"{KEM_NET_PATH}/kem-school-20")


def coordinator_of(school_id: str, network_path: str = KEM_NET_PATH) -> Principal:
    return Principal(
        f"coord-{school_id}", Role.LOCAL_COORDINATOR, school_id, f"{network_path}/{school_id}"
    )


def workflow(uow_factory: Callable[[], UnitOfWork]) -> Uow:
    return cast(Uow, uow_factory)


def an_offer(
    uow: Uow,
    *,
    subject: str = "Физика",
    grade: int = 9,
    weekday: int = TUESDAY,
    lesson_number: int | None = 6,
    places: int = 2,
    host_school_id: str = "kem-school-20",
    host_terminal_id: str = "term-kem-20-hall",
    teacher: str = TEACHER,
    by: Principal = TEACHER_20,
    start_time: str | None = None,
    end_time: str | None = None,
) -> Offer:
    return create_offer(
        uow(),
        by,
        OfferInput(
            teacher=teacher,
            subject=subject,
            grade=grade,
            kind=SessionKind.FULL_BROADCAST,
            host_school_id=host_school_id,
            host_terminal_id=host_terminal_id,
            recurrence=Recurrence(
                weekdays=[weekday],
                starts_on=Q1[0],
                ends_on=Q1[1],
                lesson_number=lesson_number,
                start_time=time.fromisoformat(start_time) if start_time else None,
                end_time=time.fromisoformat(end_time) if end_time else None,
            ),
            places=places,
            camera_preset="teacher",
            platform=PlatformKind.BBB,
        ),
    )


def published(uow: Uow, region: Region, *offers: Offer) -> str:
    timetable = publish_timetable(
        uow(),
        region.network_admin if offers[0].network_id == "kem-net-1" else region.other_network_admin,
        offers[0].network_id,
        [o.id for o in offers],
        starts_on=Q1[0],
        ends_on=Q1[1],
        now=NOW,
    )
    return timetable.id


def a_submitted_request(
    uow: Uow, school_id: str, *items: tuple[Offer, str, int, str | None]
) -> SchoolRequest:
    """A school's coordinator asks for (offer, class, pupils, terminal or None) and submits."""
    coordinator = coordinator_of(school_id)
    request = create_request(
        uow(),
        coordinator,
        RequestInput(
            school_id,
            [
                ItemInput(offer.id, class_name, pupils, terminal)
                for offer, class_name, pupils, terminal in items
            ],
        ),
    )
    return submit_request(uow(), coordinator, request.id, now=NOW)
