"""The RCC approves (all items or a subset) or rejects a combined request.

Approving is one transaction: the approved items of each offer become one booking through
the booking service (so every rule of a booking holds), each request item keeps a link to
its booking, and the requests and the combined request take their final state. An item is
all-or-nothing across its dates: a conflict on any date refuses the whole approval (nothing
is written) — unless the RCC accepted skipping exactly those dates for every item of that
lesson. Refused items carry their reason."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from booking.access import Action, Principal, authorize
from booking.errors import BookingConflict, InvalidInput
from booking.services.creating import create
from booking.services.lookups import Lookups
from booking.services.policy import Policy
from booking.services.workflow.documents import load
from booking.services.workflow.items import Joined, booking_request
from booking.services.workflow.trail import told
from booking.workflow.combined import CombinedRequest
from booking.workflow.events import CombinedRequestDecided, RequestDecided
from booking.workflow.requests import ItemDecision, SchoolRequest
from booking.workflow.store import WorkflowUnitOfWork


@dataclass
class Verdict:
    """The RCC's word on one item: approve it (optionally accepting that `skip_dates` are
    left out) or refuse it with a reason."""

    item_id: str
    approve: bool = True
    reason: str = ""
    skip_dates: tuple[date, ...] = ()


@dataclass
class Approval:
    combined: CombinedRequest
    requests: list[SchoolRequest]
    bookings: dict[str, str] = field(default_factory=dict)  # request item id → booking id


def approve_combined(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    combined_id: str,
    verdicts: Iterable[Verdict] = (),
    *,
    now: datetime,
    reason: str = "",
    expected_version: int | None = None,
    policy: Policy | None = None,
) -> Approval:
    """Approve every item not refused in `verdicts`; refuse the others with their reasons."""
    policy = policy or Policy()
    with uow:
        lookups = Lookups(uow)
        combined = load(uow.workflow.combined, combined_id, "combined request", expected_version)
        authorize(principal, Action.APPROVE, [lookups.org(combined.network_id)])
        requests = _requests(uow, combined)
        said = _verdicts(requests, verdicts)
        groups: dict[str, list[Joined]] = defaultdict(list)
        for request in requests:
            for item in request.items:
                verdict = said.get(item.id, Verdict(item.id))
                if verdict.approve:
                    groups[item.offer_id].append((request, item))
                else:
                    item.decision, item.reason = ItemDecision.REFUSED, verdict.reason
        offers = uow.workflow.offers.get_many(groups)
        links: dict[str, str] = {}
        for offer_id in sorted(groups):
            joined = groups[offer_id]
            accepted = _common_skips([said.get(i.id, Verdict(i.id)) for _, i in joined])
            wanted = booking_request(offers[offer_id], joined)
            try:
                result = create(
                    lookups,
                    principal,
                    wanted,
                    now=now,
                    policy=policy,
                    dry_run=False,
                    skip_conflicts=False,
                    hold=False,
                    booking_id=None,
                )
                skipped: list[date] = []
            except BookingConflict as refused:
                dates = sorted({c.local_date for c in refused.details.get("conflicts", [])})
                if not dates or not set(dates) <= accepted:
                    refused.details["item_ids"] = [i.id for _, i in joined]
                    refused.details["offer_id"] = offer_id
                    refused.message = (
                        f"«{offers[offer_id].label()}»: {refused.message}; refuse the"
                        " item(s) or accept skipping these dates"
                    )
                    refused.args = (refused.message,)
                    raise
                result = create(
                    lookups,
                    principal,
                    wanted,
                    now=now,
                    policy=policy,
                    dry_run=False,
                    skip_conflicts=True,
                    hold=False,
                    booking_id=None,
                )
                skipped = dates
            for _, item in joined:
                item.decision, item.booking_id = ItemDecision.APPROVED, result.booking.id
                item.skipped_dates = tuple(d.isoformat() for d in skipped)
                item.reason = (
                    "без дат / without dates " + ", ".join(item.skipped_dates) if skipped else ""
                )
                links[item.id] = result.booking.id
        uow.workflow.links.add(links)
        _close(uow, combined, requests, reason, principal, now)
        uow.commit()
        return Approval(combined, requests, links)


def reject_combined(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    combined_id: str,
    reason: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> Approval:
    if not reason.strip():
        raise InvalidInput("say why the combined request is rejected", field="reason")
    with uow:
        combined = load(uow.workflow.combined, combined_id, "combined request", expected_version)
        authorize(principal, Action.APPROVE, [Lookups(uow).org(combined.network_id)])
        requests = _requests(uow, combined)
        for request in requests:
            for item in request.items:
                item.decision, item.reason = ItemDecision.REFUSED, reason
        _close(uow, combined, requests, reason, principal, now)
        uow.commit()
        return Approval(combined, requests)


def _requests(uow: WorkflowUnitOfWork, combined: CombinedRequest) -> list[SchoolRequest]:
    found = uow.workflow.requests.get_many(combined.request_ids)
    return [found[i] for i in combined.request_ids if i in found]


def _verdicts(requests: Sequence[SchoolRequest], verdicts: Iterable[Verdict]) -> dict[str, Verdict]:
    known = {i.id for r in requests for i in r.items}
    said: dict[str, Verdict] = {}
    for verdict in verdicts:
        if verdict.item_id not in known:
            raise InvalidInput(
                f"{verdict.item_id} is not an item of this combined request", field="verdicts"
            )
        if not verdict.approve and not verdict.reason.strip():
            raise InvalidInput(
                f"say why item {verdict.item_id} is refused",
                field="verdicts",
                item_id=verdict.item_id,
            )
        said[verdict.item_id] = verdict
    return said


def _common_skips(verdicts: Sequence[Verdict]) -> set[date]:
    """The dates every item of one lesson accepted leaving out."""
    sets = [set(v.skip_dates) for v in verdicts]
    return set.intersection(*sets) if sets else set()


def _close(
    uow: WorkflowUnitOfWork,
    combined: CombinedRequest,
    requests: Sequence[SchoolRequest],
    reason: str,
    principal: Principal,
    now: datetime,
) -> None:
    states = []
    for request in requests:
        state = request.decide(reason)
        states.append(str(state))
        uow.workflow.requests.update(request)
        told(
            uow,
            principal,
            RequestDecided(
                request.id, request.school_id, request.network_id, str(state), request.reason
            ),
            now=now,
        )
    combined.close(states, reason)
    combined.decided_by = principal.user_id
    uow.workflow.combined.update(combined)
    told(
        uow,
        principal,
        CombinedRequestDecided(combined.id, combined.network_id, str(combined.state)),
        now=now,
    )
