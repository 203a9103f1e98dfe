"""Schools a lesson may be shared with, found by what a person types.

A partner school is often outside the booker's own network or municipality (the booking
invites it, `Booking.invite`), so the search runs over the whole region: a part of the
school's name or of its id, any case, «инсар» finds МБОУ «Инсарская СОШ №1». What a
booker may see of the region for this is what a booking's participants show anyway: the
schools' names and their terminals' names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from booking.access import Action, Principal, authorize
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Terminal

MOST = 20  # suggestions offered at once: enough to choose among, few enough to read
SHORTEST = 2  # characters typed before anything is suggested


def schools_named(
    uow: UnitOfWork, principal: Principal, typed: str, *, limit: int = MOST
) -> list[tuple[Organisation, str]]:
    """Schools whose name or id holds `typed` (names starting with it first, then by name),
    each with its municipality's name; none for fewer than two characters."""
    authorize(principal, Action.BOOK)
    wanted = " ".join(typed.split()).casefold()
    if len(wanted) < SHORTEST:
        return []
    with uow:
        orgs = list(uow.organisations.list(0, 10**9))
    by_id = {o.id: o for o in orgs}
    found = [
        o
        for o in orgs
        if o.kind is OrgKind.SCHOOL and (wanted in o.name.casefold() or wanted in o.id.casefold())
    ]
    found.sort(key=lambda o: (not _starts(o.name, wanted), o.name.casefold(), o.id))
    return [(o, _municipality(o, by_id)) for o in found[: max(0, limit)]]


def terminals_at(
    uow: UnitOfWork, principal: Principal, school_ids: Iterable[str]
) -> dict[str, list[Terminal]]:
    """The active terminals of these schools, by school, by name."""
    authorize(principal, Action.BOOK)
    with uow:
        terminals = uow.terminals.at_sites(school_ids)
    out: dict[str, list[Terminal]] = {}
    for terminal in sorted(terminals, key=lambda t: (t.name.casefold(), t.id)):
        if terminal.active:
            out.setdefault(terminal.site_id, []).append(terminal)
    return out


def _starts(name: str, wanted: str) -> bool:
    """`wanted` begins a word of the name («инсар» in МБОУ «Инсарская СОШ №1»)."""
    return re.search(rf"(?:^|[\s«\"(]){re.escape(wanted)}", name.casefold()) is not None


def _municipality(school: Organisation, by_id: dict[str, Organisation]) -> str:
    parent = by_id.get(school.parent_id or "")
    while parent is not None and parent.kind is not OrgKind.MUNICIPALITY:
        parent = by_id.get(parent.parent_id or "")
    return parent.name if parent is not None else ""
