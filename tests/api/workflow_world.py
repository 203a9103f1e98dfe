"""The request workflow's things for the authorization matrix, made on first use per
test (through the services, as the RCC): for each subtree's network and school an offer,
a published timetable, requests in the states the actions start from, combined requests
and invitations. `thing(world, subtree, name)` gives the id."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, cast

from booking.access import Principal, Role
from booking.bookings import Recurrence, SessionKind
from booking.services.workflow.combining import assemble, submit_combined
from booking.services.workflow.need_search import invite
from booking.services.workflow.offers import OfferInput, create_offer
from booking.services.workflow.publishing import publish_timetable
from booking.services.workflow.school_requests import (
    ItemInput,
    RequestInput,
    create_request,
    submit_request,
)
from booking.workflow.needs import Need
from booking.workflow.store import WorkflowUnitOfWork

RCC = Principal("rcc-workflow", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
WEDNESDAY = 2
PHYSICS = Need("Физика", 10)


class Side(Protocol):
    school: str
    network: str
    terminal: str


class World(Protocol):
    container: Any
    extras: dict[str, str]

    def side(self, subtree: Any) -> Any: ...


def offer_body(side: Side) -> dict[str, Any]:
    return {
        "teacher": "Иванова Мария Петровна",
        "subject": "Физика",
        "grade": 10,
        "host_school_id": side.school,
        "host_terminal_id": side.terminal,
        "weekly": {
            "weekdays": [WEDNESDAY],
            "starts_on": "2026-09-01",
            "ends_on": "2026-10-24",
            "lesson_number": 5,
        },
        "places": 5,
    }


def thing(world: World, subtree: Any, name: str) -> str:
    key = f"{subtree}:{name}"
    if key not in world.extras:
        _make(world, subtree)
    return world.extras[key]


def _make(world: World, subtree: Any) -> None:
    side: Side = world.side(subtree)
    factory = world.container.uow_factory

    def uow() -> WorkflowUnitOfWork:
        return cast(WorkflowUnitOfWork, factory())

    now = world.container.clock.now()
    offer = create_offer(
        uow(),
        RCC,
        OfferInput(
            teacher="Иванова Мария Петровна",
            subject="Физика",
            grade=10,
            kind=SessionKind.FULL_BROADCAST,
            host_school_id=side.school,
            host_terminal_id=side.terminal,
            recurrence=Recurrence([WEDNESDAY], date(2026, 9, 1), date(2026, 10, 24), 5),
            places=10,
        ),
    )
    publish_timetable(
        uow(), RCC, side.network, [offer.id], starts_on=offer.starts_on, ends_on=offer.ends_on,
        now=now,
    )  # fmt: skip

    def request(submitted: bool) -> str:
        made = create_request(
            uow(), RCC, RequestInput(side.school, [ItemInput(offer.id, "10А", 20, side.terminal)])
        )
        if submitted:
            submit_request(uow(), RCC, made.id, now=now)
        return made.id

    names = {"offer": offer.id, "draft": request(False), "submitted": request(True)}
    names["assembled"] = assemble(uow(), RCC, side.network, [request(True)], now=now).id
    sent = assemble(uow(), RCC, side.network, [request(True)], now=now)
    names["sent"] = submit_combined(uow(), RCC, sent.id, now=now).id
    for name in ("invitation", "invitation-2"):
        names[name] = invite(
            uow(), RCC, offer.id, side.school, PHYSICS, class_name="10Б", pupils=10, now=now
        ).id
    for name, value in names.items():
        world.extras[f"{subtree}:{name}"] = value
