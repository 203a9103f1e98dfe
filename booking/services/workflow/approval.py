"""The RCC approves (all items or a subset) or rejects a combined request.

Approving is one transaction: the approved items of each offer become one booking through
the booking service (so every rule of a booking holds), each request item keeps a link to
its booking, and the requests and the combined request take their final state. An item is
all-or-nothing across its dates: a conflict on any date refuses the whole approval (nothing
is written) — unless the RCC accepted skipping exactly those dates for every item of that
lesson. Refused items carry their reason."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from booking.access import Action, Principal, authorize
from booking.capacity import buckets, usage_of_all
from booking.errors import BookingConflict, InvalidInput
from booking.services.batch_rules import Expansions, Stored, find_clashes, over_capacity_of
from booking.services.changes import new_id
from booking.services.creating import create
from booking.services.lookups import Lookups
from booking.services.planning import Draft, draft_booking
from booking.services.plans import BookingRequest, reservations_of
from booking.services.policy import Policy
from booking.services.workflow.documents import load
from booking.services.workflow.items import Joined, booking_request
from booking.services.workflow.trail import told
from booking.workflow.combined import CombinedRequest
from booking.workflow.events import CombinedRequestDecided, RequestDecided
from booking.workflow.offers import Offer
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
        wanted = {
            offer_id: booking_request(offers[offer_id], groups[offer_id]) for offer_id in groups
        }
        booked = _book_the_clear(lookups, principal, wanted, now=now, policy=policy)
        links: dict[str, str] = {}
        for offer_id in sorted(groups):
            joined = groups[offer_id]
            skipped: list[date] = []
            if offer_id in booked:
                booking_id = booked[offer_id]
            else:  # a conflict (or a doubt) found in the batch: the booking service decides
                booking_id, skipped = _book_one(
                    lookups, principal, offers[offer_id], joined, wanted[offer_id],
                    [said.get(i.id, Verdict(i.id)) for _, i in joined], now=now, policy=policy,
                )  # fmt: skip
            for _, item in joined:
                item.decision, item.booking_id = ItemDecision.APPROVED, booking_id
                item.skipped_dates = tuple(d.isoformat() for d in skipped)
                item.reason = (
                    "без дат / without dates " + ", ".join(item.skipped_dates) if skipped else ""
                )
                links[item.id] = booking_id
        uow.workflow.links.add(links)
        _close(uow, combined, requests, reason, principal, now)
        uow.commit()
        return Approval(combined, requests, links)


def _book_the_clear(
    lookups: Lookups,
    principal: Principal,
    wanted: Mapping[str, BookingRequest],
    *,
    now: datetime,
    policy: Policy,
) -> dict[str, str]:
    """Every lesson (offer id → its booking request) that is free on all its dates, booked
    at once: each drafted through the booking service's own validation and authorisation,
    all checked together against what is stored and against each other (one read of the
    reservations, one of the class sessions, one of the capacity ledger), then written in
    one go. Returns offer id → booking id for those booked; a lesson with any conflict, or
    on a doubtful capacity bucket, is left to `_book_one` (which words the refusal and its
    alternatives, or skips the accepted dates) — after these are written, so it sees them.
    The exclusion constraint still guards the write against a racing approval."""
    order = sorted(wanted)
    expansions = Expansions()
    drafts: dict[int, Draft] = {}
    for index, offer_id in enumerate(order):
        draft = draft_booking(
            lookups, principal, wanted[offer_id], booking_id=new_id(), now=now, policy=policy,
            slots_for=expansions,
        )  # fmt: skip
        if draft.planned:
            drafts[index] = draft
    if not drafts:
        return {}
    clashing = set(find_clashes(drafts, Stored.read(lookups, drafts, precise=True)))
    clear = {index: d for index, d in drafts.items() if index not in clashing}
    usage = usage_of_all((d.booking, o) for d in clear.values() for o in d.planned)
    over = over_capacity_of(lookups, clear, usage)
    if over:  # the lessons on an over-full bucket go one by one (the service words why)
        clear = {
            index: d
            for index, d in clear.items()
            if not any(b in over for o in d.planned for b in buckets(*o.busy_range))
        }
        usage = usage_of_all((d.booking, o) for d in clear.values() for o in d.planned)
    if not clear:
        return {}
    uow = lookups.uow
    for draft in clear.values():
        draft.booking.book()
        draft.booking.invite(draft.booking.invited_school_ids)
    planned = [o for d in clear.values() for o in d.planned]
    uow.bookings.add_all([d.booking for d in clear.values()])
    uow.occurrences.add_all(planned, reservations_of(planned))
    if usage:
        uow.occurrences.change_server_usage(usage)
    return {order[index]: d.booking.id for index, d in clear.items()}


def _book_one(
    lookups: Lookups,
    principal: Principal,
    offer: Offer,
    joined: Sequence[Joined],
    wanted: BookingRequest,
    verdicts: Sequence[Verdict],
    *,
    now: datetime,
    policy: Policy,
) -> tuple[str, list[date]]:
    """One lesson through the booking service: refused with its conflicts and
    alternatives, unless the RCC accepted skipping exactly the conflicting dates."""
    accepted = _common_skips(verdicts)
    try:
        result = create(
            lookups, principal, wanted, now=now, policy=policy, dry_run=False,
            skip_conflicts=False, hold=False, booking_id=None,
        )  # fmt: skip
        return result.booking.id, []
    except BookingConflict as refused:
        dates = sorted({c.local_date for c in refused.details.get("conflicts", [])})
        if not dates or not set(dates) <= accepted:
            refused.details["item_ids"] = [i.id for _, i in joined]
            refused.details["offer_id"] = offer.id
            refused.message = (
                f"«{offer.label()}»: {refused.message}; refuse the"
                " item(s) or accept skipping these dates"
            )
            refused.args = (refused.message,)
            raise
    result = create(
        lookups, principal, wanted, now=now, policy=policy, dry_run=False,
        skip_conflicts=True, hold=False, booking_id=None,
    )  # fmt: skip
    return result.booking.id, dates


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
