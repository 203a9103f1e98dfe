"""A school's request: the local coordinator picks lessons of the network's published
timetable (the system proposes a terminal when none is chosen, with the dates on which it is
busy) or states needs, then submits; the network administrator may return it with a comment;
the school may withdraw it until it is included in a combined request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from booking.access import Action, Principal, authorize, visible
from booking.errors import InvalidInput
from booking.organisations import Organisation, OrgKind
from booking.recurring_slots import recurring_fit
from booking.services.changes import new_id
from booking.services.lookups import Lookups
from booking.services.policy import Policy
from booking.services.workflow.documents import load, visible_org_ids
from booking.services.workflow.offer_dates import offer_slots
from booking.services.workflow.publishing import current_timetable
from booking.services.workflow.trail import told
from booking.words import Words
from booking.workflow.events import RequestReturned, RequestSubmitted, RequestWithdrawn
from booking.workflow.offers import Offer
from booking.workflow.requests import Need, RequestItem, RequestState, SchoolRequest
from booking.workflow.store import WorkflowUnitOfWork


@dataclass
class ItemInput:
    offer_id: str
    class_name: str
    pupils: int
    terminal_id: str | None = None


@dataclass
class RequestInput:
    school_id: str
    items: list[ItemInput] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)


def network_of(lookups: Lookups, school: Organisation) -> Organisation:
    if school.kind != OrgKind.SCHOOL:
        raise InvalidInput(f"{school.name} is not a school", field="school_id")
    if school.parent_id is None:
        raise InvalidInput(f"{school.name} belongs to no network", field="school_id")
    return lookups.org(school.parent_id)


def build_items(
    uow: WorkflowUnitOfWork,
    lookups: Lookups,
    school: Organisation,
    offers: dict[str, Offer],
    inputs: Iterable[ItemInput],
    policy: Policy,
) -> list[RequestItem]:
    """The request's items; a missing terminal is proposed: the school's terminal free on
    the most of the offer's dates (its busy dates noted in the item)."""
    terminals = [t for t in uow.terminals.at_sites([school.id]) if t.active]
    out = []
    for given in inputs:
        if given.pupils < 1:
            raise InvalidInput(Words("an item needs at least one pupil"), field="pupils")
        if not given.class_name.strip():
            raise InvalidInput(Words("an item names the class («7А»)"), field="class_name")
        offer = offers[given.offer_id]
        if given.pupils > offer.pupils:
            raise InvalidInput(
                Words("«%(lesson)s» takes at most %(n)s pupils per school",
                      {"lesson": offer.label(), "n": offer.pupils}),
                field="pupils",
            )  # fmt: skip
        item = RequestItem(new_id(), offer.id, given.class_name, given.pupils, given.terminal_id)
        if given.terminal_id is not None:
            terminal = lookups.terminals([given.terminal_id])[given.terminal_id]
            if terminal.site_id != school.id:
                raise InvalidInput(
                    f"terminal {terminal.id} is not at {school.name}", field="terminal_id"
                )
            candidates = [terminal]
        else:
            candidates = terminals
        if offer.kind.needs_equipment and candidates:
            slots = offer_slots(lookups, offer, policy)
            ranges = [(s.start, s.end) for s in slots]
            busy = (
                uow.occurrences.reservations_overlapping([t.id for t in candidates], ranges)
                if ranges
                else []
            )
            fit = recurring_fit(
                candidates,
                {school.id: slots},
                busy,
                setup_minutes=policy.default_setup_minutes,
                min_share=1e-9,
            )
            ranked = fit.free + fit.mostly_free
            if ranked:
                best = ranked[0]
                item.terminal_id = best.terminal_id
                item.busy_dates = tuple(d.isoformat() for d in best.clashes)
            elif given.terminal_id is not None:
                item.busy_dates = tuple(s.local_date.isoformat() for s in slots)
        out.append(item)
    return out


def _offers_of_timetable(
    uow: WorkflowUnitOfWork, network: Organisation, inputs: list[ItemInput]
) -> tuple[str | None, dict[str, Offer]]:
    if not inputs:
        timetable = current_timetable(uow, network.id)
        return (timetable.id if timetable else None), {}
    timetable = current_timetable(uow, network.id)
    if timetable is None:
        raise InvalidInput(
            Words("%(network)s has published no timetable yet: state a need instead",
                  {"network": network.name}),
            field="items",
        )  # fmt: skip
    wanted = {i.offer_id for i in inputs}
    outside = sorted(wanted - set(timetable.offers))
    if outside:
        raise InvalidInput(
            f"offers {', '.join(outside)} are not in the published timetable of {network.name}",
            field="items",
            offer_ids=outside,
        )
    return timetable.id, uow.workflow.offers.get_many(wanted)


def create_request(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    data: RequestInput,
    *,
    policy: Policy | None = None,
) -> SchoolRequest:
    policy = policy or Policy()
    with uow:
        lookups = Lookups(uow)
        school = lookups.org(data.school_id)
        authorize(principal, Action.REQUEST, [school])
        network = network_of(lookups, school)
        timetable_id, offers = _offers_of_timetable(uow, network, data.items)
        request = SchoolRequest(
            id=new_id(),
            school_id=school.id,
            network_id=network.id,
            timetable_id=timetable_id,
            created_by=principal.user_id,
            items=build_items(uow, lookups, school, offers, data.items, policy),
            needs=list(data.needs),
        )
        uow.workflow.requests.add(request)
        uow.commit()
        return request


def edit_request(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    request_id: str,
    data: RequestInput,
    *,
    expected_version: int | None = None,
    policy: Policy | None = None,
) -> SchoolRequest:
    policy = policy or Policy()
    with uow:
        lookups = Lookups(uow)
        request = load(uow.workflow.requests, request_id, "request", expected_version)
        school = lookups.org(request.school_id)
        authorize(principal, Action.REQUEST, [school])
        network = lookups.org(request.network_id)
        timetable_id, offers = _offers_of_timetable(uow, network, data.items)
        request.edit(build_items(uow, lookups, school, offers, data.items, policy), data.needs)
        request.timetable_id = timetable_id
        uow.workflow.requests.update(request)
        uow.commit()
        return request


def submit_request(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    request_id: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> SchoolRequest:
    with uow:
        request = load(uow.workflow.requests, request_id, "request", expected_version)
        authorize(principal, Action.REQUEST, [Lookups(uow).org(request.school_id)])
        request.submit()
        uow.workflow.requests.update(request)
        told(
            uow,
            principal,
            RequestSubmitted(
                request.id,
                request.school_id,
                request.network_id,
                request.state == RequestState.RESUBMITTED,
            ),
            now=now,
        )
        uow.commit()
        return request


def withdraw_request(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    request_id: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> SchoolRequest:
    with uow:
        request = load(uow.workflow.requests, request_id, "request", expected_version)
        authorize(principal, Action.REQUEST, [Lookups(uow).org(request.school_id)])
        was = request.state
        request.withdraw()
        uow.workflow.requests.update(request)
        if was != RequestState.DRAFT:  # nobody else had seen a draft
            told(
                uow,
                principal,
                RequestWithdrawn(request.id, request.school_id, request.network_id),
                now=now,
            )
        uow.commit()
        return request


def return_request(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    request_id: str,
    comment: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> SchoolRequest:
    """The network administrator sends it back to the school with a comment (also out of
    an assembled combined request, which then forgets it)."""
    with uow:
        request = load(uow.workflow.requests, request_id, "request", expected_version)
        authorize(principal, Action.COMBINE, [Lookups(uow).org(request.network_id)])
        combined_id = request.combined_id
        request.send_back(comment)
        if combined_id is not None:
            combined = uow.workflow.combined.get(combined_id)
            if combined is not None:
                combined.drop(request.id)
                uow.workflow.combined.update(combined)
        uow.workflow.requests.update(request)
        told(
            uow,
            principal,
            RequestReturned(request.id, request.school_id, request.network_id, comment),
            now=now,
        )
        uow.commit()
        return request


def get_request(uow: WorkflowUnitOfWork, principal: Principal, request_id: str) -> SchoolRequest:
    with uow:
        request = load(uow.workflow.requests, request_id, "request")
        _check_visible(Lookups(uow), principal, request)
        return request


def _check_visible(lookups: Lookups, principal: Principal, request: SchoolRequest) -> None:
    orgs = lookups.orgs([request.school_id, request.network_id])
    if not any(visible(principal, o) for o in orgs.values()):
        authorize(principal, Action.READ, list(orgs.values()))


def list_requests(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    *,
    network_id: str | None = None,
    school_id: str | None = None,
    states: Iterable[str] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[SchoolRequest], int]:
    """Requests of the caller's subtree: of its networks, or made by its schools."""
    with uow:
        authorize(principal, Action.READ)
        seen = visible_org_ids(uow, principal)
        wanted_states = list(states) if states is not None else None
        orgs = [network_id] if network_id else seen
        schools = [school_id] if school_id else None
        if seen is not None:
            if network_id and network_id not in seen:
                orgs, schools = None, [s for s in (schools or seen) if s in seen]
            elif not network_id and school_id is None:
                # a school's people see their school's requests, whichever network
                own = uow.workflow.requests.find(school_ids=seen, states=wanted_states)
                mine = uow.workflow.requests.find(org_ids=seen, states=wanted_states)
                merged = sorted({r.id: r for r in [*own, *mine]}.values(), key=lambda r: r.id)
                return merged[offset : offset + limit], len(merged)
        found = uow.workflow.requests.find(
            org_ids=orgs, school_ids=schools, states=wanted_states, offset=offset, limit=limit
        )
        total = uow.workflow.requests.count(org_ids=orgs, school_ids=schools, states=wanted_states)
        return list(found), total
