"""The search "from need" and its invitation: the RCC (or the base school) looks across
every network's offers for lessons that fit a school's need in both schools' clocks and
bells; picking one asks the offering network's administrator to take the school in, and
accepting puts the school's request into that network's flow (timetable → combined request
→ approval)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from booking.access import Action, Principal, authorize
from booking.errors import InvalidInput
from booking.services.changes import new_id
from booking.services.lookups import Lookups
from booking.services.policy import Policy
from booking.services.workflow.documents import load, visible_org_ids
from booking.services.workflow.offer_dates import offer_slots
from booking.services.workflow.publishing import current_timetable, publish
from booking.services.workflow.school_requests import ItemInput, build_items
from booking.services.workflow.trail import told
from booking.workflow import needs
from booking.workflow.events import NeedInvitationAnswered, NeedInvitationSent, RequestSubmitted
from booking.workflow.needs import Need, NeedInvitation, NeedMatch
from booking.workflow.requests import RequestState, SchoolRequest
from booking.workflow.store import WorkflowUnitOfWork

TAKEN = [
    str(s)
    for s in (
        RequestState.SUBMITTED,
        RequestState.RESUBMITTED,
        RequestState.INCLUDED,
        RequestState.APPROVED,
        RequestState.PARTLY_APPROVED,
    )
]


def places_taken(uow: WorkflowUnitOfWork) -> Counter[str]:
    """How many schools each offer has: those whose live requests name it."""
    taken: Counter[str] = Counter()
    for request in uow.workflow.requests.find(states=TAKEN):
        for offer_id in {i.offer_id for i in request.items}:
            taken[offer_id] += 1
    return taken


def search_needs(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    school_id: str,
    need: Need,
    *,
    limit: int = 10,
    check_dates: bool = True,
    policy: Policy | None = None,
) -> list[NeedMatch]:
    """The best `limit` offers for the need, explained; the dates on which the school's or
    the host's terminals are busy are counted for those (one query each) and weigh in."""
    policy = policy or Policy()
    if not need.subject.strip():
        raise InvalidInput("a need names its subject", field="subject")
    with uow:
        lookups = Lookups(uow)
        school = lookups.org(school_id)
        authorize(principal, Action.SEARCH_NEEDS, [school])
        offers = [
            o
            for o in uow.workflow.offers.find(where={"grade": need.grade})
            if o.subject.casefold() == need.subject.casefold()
        ]
        hosts = lookups.orgs({o.host_school_id for o in offers})
        clocks = {h.id: needs.School(h.id, h.zone, lookups.bells_of(h)) for h in hosts.values()}
        taken = places_taken(uow)
        places = {o.id: o.places - taken[o.id] for o in offers}
        me = needs.School(school.id, school.zone, lookups.bells_of(school))
        ranked = needs.rank(need, me, offers, clocks, places)[: limit * 2]
        if check_dates and ranked:
            busy = _conflicting_dates(uow, lookups, school.id, ranked, policy)
            by_id = {o.id: o for o in offers}
            ranked = needs.rank(need, me, [by_id[m.offer_id] for m in ranked], clocks, places, busy)
        return ranked[:limit]


def _conflicting_dates(
    uow: WorkflowUnitOfWork,
    lookups: Lookups,
    school_id: str,
    ranked: list[NeedMatch],
    policy: Policy,
) -> dict[str, int]:
    """Per offer: the dates on which the host's terminal or every terminal of the school is
    busy — one reservation query for every candidate at once."""
    setup = timedelta(minutes=policy.default_setup_minutes)
    mine = [t.id for t in uow.terminals.at_sites([school_id]) if t.active]
    offers = uow.workflow.offers.get_many([m.offer_id for m in ranked])
    dated: dict[str, list[tuple[date, tuple[datetime, datetime]]]] = {}
    for offer in offers.values():
        dated[offer.id] = [
            (s.local_date, (s.start - setup, s.end)) for s in offer_slots(lookups, offer, policy)
        ]
    ranges = sorted({r for slots in dated.values() for _, r in slots})
    index = {r: i for i, r in enumerate(ranges)}
    hosts = [o.host_terminal_id for o in offers.values() if o.host_terminal_id]
    held = uow.occurrences.held_during([*mine, *hosts], ranges) if ranges else {}
    out = {}
    for offer in offers.values():
        busy = 0
        for _, r in dated[offer.id]:
            i = index[r]
            school_busy = bool(mine) and all(i in held.get(t, ()) for t in mine)
            host_busy = offer.host_terminal_id is not None and i in held.get(
                offer.host_terminal_id, ()
            )
            busy += school_busy or host_busy or not mine
        out[offer.id] = busy
    return out


def invite(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    offer_id: str,
    school_id: str,
    need: Need,
    *,
    class_name: str,
    pupils: int,
    now: datetime,
) -> NeedInvitation:
    with uow:
        lookups = Lookups(uow)
        school = lookups.org(school_id)
        authorize(principal, Action.INVITE, [school])
        offer = load(uow.workflow.offers, offer_id, "offer")
        if offer.places - places_taken(uow)[offer.id] <= 0:
            raise InvalidInput(f"«{offer.label()}» has no place left", field="offer_id")
        invitation = NeedInvitation(
            new_id(),
            offer.id,
            offer.network_id,
            school.id,
            need,
            principal.user_id,
            class_name=class_name,
            pupils=pupils,
        )
        uow.workflow.invitations.add(invitation)
        told(
            uow,
            principal,
            NeedInvitationSent(invitation.id, offer.network_id, school.id, offer.id),
            now=now,
        )
        uow.commit()
        return invitation


def answer_invitation(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    invitation_id: str,
    *,
    accept: bool,
    answer: str = "",
    now: datetime,
    policy: Policy | None = None,
) -> tuple[NeedInvitation, SchoolRequest | None]:
    """The offering network's administrator answers. Accepting keeps the offer in the
    network's timetable (republished when it was not) and files the school's request to
    that network, submitted: from there the ordinary flow applies."""
    policy = policy or Policy()
    with uow:
        lookups = Lookups(uow)
        invitation = load(uow.workflow.invitations, invitation_id, "invitation")
        network = lookups.org(invitation.network_id)
        authorize(principal, Action.ACCEPT, [network])
        invitation.answer_it(accept=accept, answer=answer)
        uow.workflow.invitations.update(invitation)
        request = None
        if accept:
            offer = load(uow.workflow.offers, invitation.offer_id, "offer")
            timetable = current_timetable(uow, network.id)
            if timetable is None or offer.id not in timetable.offers:
                timetable = publish(
                    uow,
                    None,
                    network.id,
                    [*(timetable.offers if timetable else {}), offer.id],
                    starts_on=timetable.starts_on if timetable else offer.starts_on,
                    ends_on=timetable.ends_on if timetable else offer.ends_on,
                    now=now,
                    by=principal.user_id,
                )
            school = lookups.org(invitation.school_id)
            items = build_items(
                uow,
                lookups,
                school,
                {offer.id: offer},
                [ItemInput(offer.id, invitation.class_name, invitation.pupils)],
                policy,
            )
            request = SchoolRequest(
                new_id(),
                school.id,
                network.id,
                timetable.id,
                invitation.invited_by,
                items=items,
                needs=[invitation.need],
                state=RequestState.SUBMITTED,
            )
            uow.workflow.requests.add(request)
            told(uow, principal, RequestSubmitted(request.id, school.id, network.id), now=now)
        told(
            uow,
            principal,
            NeedInvitationAnswered(
                invitation.id, network.id, invitation.school_id, invitation.offer_id, accept
            ),
            now=now,
        )
        uow.commit()
        return invitation, request


def list_invitations(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    *,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[NeedInvitation], int]:
    """Invitations to the caller's networks and of the caller's schools."""
    with uow:
        authorize(principal, Action.READ)
        seen = visible_org_ids(uow, principal)
        if seen is None:
            found = list(uow.workflow.invitations.find())
        else:
            both = [
                *uow.workflow.invitations.find(org_ids=seen),
                *uow.workflow.invitations.find(school_ids=seen),
            ]
            found = sorted({i.id: i for i in both}.values(), key=lambda i: i.id)
        return found[offset : offset + limit], len(found)
