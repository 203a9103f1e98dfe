"""The combined request: the network administrator checks the submitted requests against
each other, assembles them into one and submits it to the RCC."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from booking.access import Action, Principal, authorize
from booking.errors import Conflict, InvalidInput
from booking.services.changes import new_id
from booking.services.lookups import Lookups
from booking.services.workflow.documents import load, visible_org_ids
from booking.services.workflow.trail import told
from booking.workflow.combined import CombinedRequest, CrossConflict, cross_check
from booking.workflow.events import CombinedRequestSubmitted, RequestIncluded
from booking.workflow.offers import Offer, WeeklyWindow, weekly_windows
from booking.workflow.requests import WAITING, SchoolRequest
from booking.workflow.store import WorkflowUnitOfWork


def windows_of(lookups: Lookups, offers: Iterable[Offer]) -> dict[str, list[WeeklyWindow]]:
    out = {}
    for offer in offers:
        host = lookups.org(offer.host_school_id)
        out[offer.id] = weekly_windows(offer, lookups.bells_of(host), host.zone)
    return out


def _checked(
    uow: WorkflowUnitOfWork, lookups: Lookups, network_id: str, request_ids: Sequence[str]
) -> tuple[list[SchoolRequest], list[CrossConflict]]:
    if not request_ids:
        raise InvalidInput("name the requests to combine", field="request_ids")
    found = uow.workflow.requests.get_many(request_ids)
    requests = []
    for id in dict.fromkeys(request_ids):
        request = found.get(id)
        if request is None or request.network_id != network_id:
            raise InvalidInput(
                f"{id} is not a request to network {network_id}", field="request_ids"
            )
        if request.state not in WAITING:
            raise InvalidInput(
                f"request {id} is {request.state}: only submitted requests are combined",
                field="request_ids",
                request_id=id,
            )
        requests.append(request)
    offers = uow.workflow.offers.get_many({i.offer_id for r in requests for i in r.items})
    return requests, cross_check(requests, offers, windows_of(lookups, offers.values()))


def check_requests(
    uow: WorkflowUnitOfWork, principal: Principal, network_id: str, request_ids: Sequence[str]
) -> list[CrossConflict]:
    """What the cross-check finds among these requests, before assembling them."""
    with uow:
        lookups = Lookups(uow)
        authorize(principal, Action.COMBINE, [lookups.org(network_id)])
        return _checked(uow, lookups, network_id, request_ids)[1]


def assemble(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    network_id: str,
    request_ids: Sequence[str],
    *,
    now: datetime,
) -> CombinedRequest:
    """Gather the submitted requests into one combined request (they become `included`);
    refused, with the cross-check's findings, while two of them clash."""
    with uow:
        lookups = Lookups(uow)
        authorize(principal, Action.COMBINE, [lookups.org(network_id)])
        requests, conflicts = _checked(uow, lookups, network_id, request_ids)
        if conflicts:
            raise Conflict(
                f"{len(conflicts)} conflict(s) between the requests: return one of them"
                " to its school first",
                conflicts=[c.message for c in conflicts],
                item_ids=sorted({i for c in conflicts for i in c.item_ids}),
            )
        combined = CombinedRequest(
            new_id(), network_id, [r.id for r in requests], principal.user_id
        )
        uow.workflow.combined.add(combined)
        for request in requests:
            request.include(combined.id)
            uow.workflow.requests.update(request)
            told(
                uow,
                principal,
                RequestIncluded(request.id, request.school_id, network_id, combined.id),
                now=now,
            )
        uow.commit()
        return combined


def submit_combined(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    combined_id: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> CombinedRequest:
    with uow:
        combined = load(uow.workflow.combined, combined_id, "combined request", expected_version)
        authorize(principal, Action.COMBINE, [Lookups(uow).org(combined.network_id)])
        if not combined.request_ids:
            raise InvalidInput("the combined request has no requests left", field="request_ids")
        combined.submit()
        uow.workflow.combined.update(combined)
        told(
            uow,
            principal,
            CombinedRequestSubmitted(combined.id, combined.network_id, tuple(combined.request_ids)),
            now=now,
        )
        uow.commit()
        return combined


def get_combined(
    uow: WorkflowUnitOfWork, principal: Principal, combined_id: str
) -> tuple[CombinedRequest, list[SchoolRequest]]:
    with uow:
        combined = load(uow.workflow.combined, combined_id, "combined request")
        authorize(principal, Action.READ, [Lookups(uow).org(combined.network_id)])
        found = uow.workflow.requests.get_many(combined.request_ids)
        return combined, [found[i] for i in combined.request_ids if i in found]


def list_combined(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    *,
    states: Iterable[str] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[CombinedRequest], int]:
    with uow:
        authorize(principal, Action.READ)
        orgs = visible_org_ids(uow, principal)
        wanted = list(states) if states is not None else None
        items = uow.workflow.combined.find(org_ids=orgs, states=wanted, offset=offset, limit=limit)
        return list(items), uow.workflow.combined.count(org_ids=orgs, states=wanted)
