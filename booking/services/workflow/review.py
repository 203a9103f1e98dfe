"""The RCC reviews a combined request: per item, whether the equipment is free on every
date (the host's and the school's terminals, the conference servers' rooms, participants
and SIP ports), the conflicts and the alternatives — the booking service's own dry run of
the lesson the item would become, so the review and the approval cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from booking.access import Action, Principal, authorize
from booking.conflicts import Alternative, ConflictItem
from booking.errors import DomainError
from booking.services.creating import create
from booking.services.lookups import Lookups
from booking.services.policy import Policy
from booking.services.workflow.documents import load
from booking.services.workflow.items import booking_request
from booking.workflow.store import WorkflowUnitOfWork


@dataclass
class ItemReview:
    request_id: str
    item_id: str
    school_id: str
    offer_id: str
    terminal_id: str | None
    dates: int  # the dates the lesson would be booked on
    conflicting_dates: list[date] = field(default_factory=list)
    conflicts: list[ConflictItem] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    problem: str = ""  # the item cannot be booked at all (and why)

    @property
    def free_every_date(self) -> bool:
        return not self.conflicts and not self.problem and self.dates > 0


def review_combined(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    combined_id: str,
    *,
    now: datetime,
    policy: Policy | None = None,
) -> list[ItemReview]:
    policy = policy or Policy()
    with uow:
        lookups = Lookups(uow)
        combined = load(uow.workflow.combined, combined_id, "combined request")
        authorize(principal, Action.APPROVE, [lookups.org(combined.network_id)])
        requests = uow.workflow.requests.get_many(combined.request_ids)
        offers = uow.workflow.offers.get_many(
            {i.offer_id for r in requests.values() for i in r.items}
        )
        out = []
        for request_id in combined.request_ids:
            request = requests[request_id]
            for item in request.items:
                offer = offers[item.offer_id]
                review = ItemReview(
                    request.id, item.id, request.school_id, offer.id, item.terminal_id, 0
                )
                try:
                    result = create(
                        lookups,
                        principal,
                        booking_request(offer, [(request, item)]),
                        now=now,
                        policy=policy,
                        dry_run=True,
                        skip_conflicts=False,
                        hold=False,
                        booking_id=None,
                    )
                except DomainError as refused:
                    review.problem = refused.message
                else:
                    review.dates = len(result.occurrences)
                    review.conflicts = result.conflicts
                    review.alternatives = result.alternatives
                    review.conflicting_dates = sorted({c.local_date for c in result.conflicts})
                    review.dates += len(review.conflicting_dates)
                out.append(review)
        return out
