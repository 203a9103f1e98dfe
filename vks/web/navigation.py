"""The navigation bar: which pages a role sees (asked of `booking/access.py`, never by
comparing roles). A page module adds its entry here."""

from __future__ import annotations

from dataclasses import dataclass

from booking.access import Action, Principal


@dataclass(frozen=True)
class Entry:
    path: str
    label: str  # a message id (translated in the template)
    action: Action  # shown to whoever may do it
    or_actions: tuple[Action, ...] = ()  # …or any of these


ENTRIES: list[Entry] = [
    Entry("/today", "Today", Action.READ),
    Entry("/grid", "Timetable grid", Action.READ),
    Entry("/bookings", "Bookings", Action.READ),
    Entry("/equipment", "Equipment", Action.READ),
    Entry(
        "/admin", "Administration", Action.MANAGE_REGION,
        (Action.MANAGE_CALENDAR, Action.MANAGE_INVENTORY),
    ),
    Entry(
        "/requests", "Requests", Action.REQUEST, (Action.COMBINE, Action.APPROVE, Action.ACCEPT)
    ),
    Entry("/inbox", "Inbox", Action.READ),
    Entry("/reports", "Reports", Action.READ_REPORTS),
]


ADMIN: list[Entry] = [
    Entry("/admin", "Users and import", Action.MANAGE_REGION),
    Entry("/admin/closures", "Closures and holidays", Action.MANAGE_CALENDAR),
    Entry("/admin/organisations", "Organisations", Action.MANAGE_INVENTORY),
]
"""The pages under Administration, each for whoever may do its work."""


def admin_entries_for(principal: Principal) -> list[Entry]:
    return [e for e in ADMIN if principal.can(e.action)]


def entries_for(principal: Principal) -> list[Entry]:
    return [e for e in ENTRIES if any(principal.can(a) for a in (e.action, *e.or_actions))]
