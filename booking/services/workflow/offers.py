"""Offers: a teacher (or the network administrator) enters the online lessons on offer."""

from __future__ import annotations

from dataclasses import dataclass

from booking.access import Action, Principal, authorize
from booking.bookings import Recurrence, SessionKind
from booking.errors import InvalidInput
from booking.organisations import OrgKind
from booking.resources import PlatformKind
from booking.services.changes import new_id
from booking.services.lookups import Lookups
from booking.services.workflow.documents import load, visible_org_ids
from booking.workflow.offers import Offer
from booking.workflow.store import WorkflowUnitOfWork


@dataclass
class OfferInput:
    teacher: str
    subject: str
    grade: int
    kind: SessionKind
    host_school_id: str
    recurrence: Recurrence
    host_terminal_id: str | None = None
    places: int = 1
    camera_preset: str | None = None
    platform: PlatformKind | None = None
    pupils: int = 25
    network_id: str | None = None  # default: the host school's network


def _build(lookups: Lookups, principal: Principal, data: OfferInput, id: str) -> Offer:
    host = lookups.org(data.host_school_id)
    if host.kind != OrgKind.SCHOOL:
        raise InvalidInput(f"{host.name} is not a school", field="host_school_id")
    network_id = data.network_id or host.parent_id
    if network_id is None:
        raise InvalidInput(f"{host.name} belongs to no network", field="network_id")
    network = lookups.org(network_id)
    if not host.is_within(network.path):
        raise InvalidInput(f"{host.name} is not in {network.name}", field="network_id")
    authorize(principal, Action.OFFER, [host])
    if data.host_terminal_id is not None:
        terminal = lookups.terminals([data.host_terminal_id])[data.host_terminal_id]
        if terminal.site_id != host.id:
            raise InvalidInput(
                f"terminal {terminal.id} is not at {host.name}", field="host_terminal_id"
            )
    offer = Offer(
        id=id,
        network_id=network.id,
        teacher=data.teacher,
        subject=data.subject,
        grade=data.grade,
        kind=data.kind,
        host_school_id=host.id,
        host_terminal_id=data.host_terminal_id,
        recurrence=data.recurrence,
        places=data.places,
        camera_preset=data.camera_preset,
        platform=data.platform,
        pupils=data.pupils,
    )
    offer.check()
    if data.recurrence.lesson_number is not None:
        bells = lookups.bells_of(host)
        if bells is None:
            raise InvalidInput(f"{host.name} has no bell schedule", field="lesson_number")
        bells.bells(data.recurrence.lesson_number)
    return offer


def create_offer(uow: WorkflowUnitOfWork, principal: Principal, data: OfferInput) -> Offer:
    with uow:
        offer = _build(Lookups(uow), principal, data, new_id())
        uow.workflow.offers.add(offer)
        uow.commit()
        return offer


def update_offer(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    offer_id: str,
    data: OfferInput,
    *,
    expected_version: int | None = None,
) -> Offer:
    """A changed offer: a version up; republishing the timetable tells those affected."""
    with uow:
        lookups = Lookups(uow)
        before = load(uow.workflow.offers, offer_id, "offer", expected_version)
        authorize(principal, Action.OFFER, [lookups.org(before.host_school_id)])
        offer = _build(lookups, principal, data, offer_id)
        offer.version = before.version + 1
        uow.workflow.offers.update(offer)
        uow.commit()
        return offer


def get_offer(uow: WorkflowUnitOfWork, principal: Principal, offer_id: str) -> Offer:
    with uow:
        offer = load(uow.workflow.offers, offer_id, "offer")
        authorize(principal, Action.READ)
        return offer  # every school may read what the networks offer


def list_offers(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    *,
    network_id: str | None = None,
    mine_only: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[Offer], int]:
    """Offers of one network, or of every network (offers are open to every school: the
    search "from need" looks across networks); `mine_only` keeps the caller's subtree."""
    with uow:
        authorize(principal, Action.READ)
        orgs: list[str] | None = [network_id] if network_id else None
        if mine_only:
            seen = visible_org_ids(uow, principal)
            if seen is not None:
                orgs = [o for o in seen if orgs is None or o in orgs]
        items = uow.workflow.offers.find(org_ids=orgs, offset=offset, limit=limit)
        return list(items), uow.workflow.offers.count(org_ids=orgs)
