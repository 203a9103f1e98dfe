"""Validation of a booking request itself, before any slot is resolved: its kind, times
and sizes, and its participants (schools in scope, terminals active at their schools)."""

from __future__ import annotations

from booking.access import Action, Principal, authorize, outside_scope
from booking.bookings import SessionKind
from booking.errors import InvalidInput, ResourceInactive
from booking.organisations import Organisation, OrgKind
from booking.services.lookups import Lookups
from booking.services.plans import BookingRequest
from booking.services.policy import Policy


# --- validation of the request itself ---------------------------------------------------------
def check_request(request: BookingRequest, policy: Policy) -> int:
    """Shape checks that need no lookup; returns the set-up minutes to use."""
    if not request.title.strip():
        raise InvalidInput("a booking needs a title", field="title")
    if not request.participants:
        raise InvalidInput(
            "a booking needs at least one participating school", field="participants"
        )
    setup = policy.default_setup_minutes if request.setup_minutes is None else request.setup_minutes
    if not 0 <= setup <= 240:
        raise InvalidInput("the set-up buffer is 0…240 minutes", field="setup_minutes")
    if request.expected_participants < 1:
        raise InvalidInput(
            "expected participants must be at least 1", field="expected_participants"
        )
    terminals = [p.terminal_id for p in request.participants if p.terminal_id]
    if len(terminals) != len(set(terminals)):
        raise InvalidInput("a terminal is listed twice", field="participants")
    classes = [(p.school_id, p.class_name) for p in request.participants if p.class_name]
    if len(classes) != len(set(classes)):
        raise InvalidInput("a class is listed twice", field="participants")
    if terminals and not request.kind.needs_equipment:
        raise InvalidInput(
            f"a {request.kind} session uses no VKS equipment: give no terminals",
            field="participants",
        )
    partial = (request.broadcast_offset_minutes, request.broadcast_minutes)
    if request.kind == SessionKind.PARTIAL_BROADCAST:
        if partial[0] is None or partial[1] is None:
            raise InvalidInput(
                "a partial broadcast needs broadcast_offset_minutes and broadcast_minutes",
                field="broadcast_minutes",
            )
        if partial[0] < 0 or partial[1] <= 0:
            raise InvalidInput("the broadcast sub-slot must be positive", field="broadcast_minutes")
    elif partial != (None, None):
        raise InvalidInput(
            "only a partial broadcast has a broadcast sub-slot", field="broadcast_minutes"
        )
    ways = [
        request.recurrence is not None,
        request.on_date is not None,
        request.start is not None or request.end is not None,
    ]
    if sum(ways) != 1:
        raise InvalidInput(
            "say when exactly one way: a recurrence, a date with a lesson number or clock"
            " times, or start/end instants",
            field="recurrence",
        )
    if request.on_date is not None and (request.lesson_number is None) == (
        request.start_time is None or request.end_time is None
    ):
        raise InvalidInput(
            "with a date give either a lesson number or both start and end times",
            field="lesson_number",
        )
    return setup


def check_participants(
    lookups: Lookups, principal: Principal, request: BookingRequest
) -> tuple[Organisation, Organisation]:
    """Resolve and authorise every organisation and terminal the booking touches;
    returns (owner, host school)."""
    owner_id = request.owner_org_id or principal.org_id
    org_ids = {owner_id, request.host_school_id, *(p.school_id for p in request.participants)}
    orgs = lookups.orgs(org_ids)
    host = orgs[request.host_school_id]
    if host.kind != OrgKind.SCHOOL:
        raise InvalidInput(f"host {host.id} is a {host.kind}, not a school", field="host_school_id")
    for participant in request.participants:
        org = orgs[participant.school_id]
        if org.kind not in (OrgKind.SCHOOL, OrgKind.REGION):
            raise InvalidInput(
                f"participant {org.id} is a {org.kind}; participants are schools (or the RCC)",
                field="participants",
            )
    terminals = lookups.terminals(p.terminal_id for p in request.participants if p.terminal_id)
    for participant in request.participants:
        if participant.terminal_id is None:
            continue
        terminal = terminals[participant.terminal_id]
        if not terminal.active:
            raise ResourceInactive(
                f"terminal {terminal.id} ({terminal.name}) is retired", terminal_id=terminal.id
            )
        if terminal.site_id != participant.school_id:
            raise InvalidInput(
                f"terminal {terminal.id} stands at {terminal.site_id}, not at"
                f" {participant.school_id}",
                field="participants",
            )
    invited = {o.id for o in outside_scope(principal, orgs.values(), host)}
    invited &= {p.school_id for p in request.participants} - {owner_id}
    authorize(principal, Action.BOOK, [o for o in orgs.values() if o.id not in invited])
    return orgs[owner_id], host
